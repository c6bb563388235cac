"""Read models of damage claims: a claim with its evidence metadata, a booking's claims, an
evidence file."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.features.claims.repository import ClaimsRepository
from booking.service_layer.rows import columns, texts


def not_found(claim_id: uuid.UUID) -> BookingError:
    return BookingError(ErrorCode.CLAIM_NOT_FOUND, f"claim {claim_id} not found")


async def view(conn: asyncpg.Connection, claim_id: uuid.UUID) -> dict[str, Any]:
    return await document(ClaimsRepository(conn), claim_id)


async def document(claims: ClaimsRepository, claim_id: uuid.UUID) -> dict[str, Any]:
    """The claim as `view` shows it, read through a unit of work's repository."""
    claim = await claims.get_claim(claim_id)
    if claim is None:
        raise not_found(claim_id)
    evidence = await claims.evidence_of(claim_id)
    return {
        **texts(claim, "claim_id booking_id respond_by created_at updated_at"),
        **columns(
            claim,
            "host_id guest_id status amount currency description contest_reason decided_amount "
            "decided_by decision_note charge_request_id charge_payment_id failure_reason",
        ),
        "evidence": [
            {
                **columns(e, "n filename content_type size sha256"),
                "url": f"/v1/claims/{claim_id}/evidence/{e['n']}",
            }
            for e in evidence
        ],
    }


async def claims_of(conn: asyncpg.Connection, booking_id: uuid.UUID) -> list[dict[str, Any]]:
    claims = ClaimsRepository(conn)
    return [await document(claims, i) for i in await claims.claim_ids_of(booking_id)]


async def booking_parties(conn: asyncpg.Connection, booking_id: uuid.UUID) -> asyncpg.Record | None:
    """The booking's guest and host (who, with staff, may read its claims); None: no booking."""
    return await ClaimsRepository(conn).booking_parties(booking_id)


async def evidence_file(
    conn: asyncpg.Connection, claim_id: uuid.UUID, n: int
) -> asyncpg.Record | None:
    return await ClaimsRepository(conn).evidence_file(claim_id, n)
