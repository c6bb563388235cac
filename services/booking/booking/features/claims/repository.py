"""SQL of damage claims and the deposit's release (asyncpg), on one connection (a unit of
work's); `claimed_booking` and `claim_of` map rows to the domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from booking.features.claims.domain import OPEN_STATUSES, Claim, ClaimStatus
from booking.features.claims.domain.rules import ClaimedBooking, Evidence
from booking.service_layer.rows import columns


def claimed_booking(row: Mapping[str, Any]) -> ClaimedBooking:
    """The booking row (repository.get_booking) as its claims see it."""
    return ClaimedBooking(
        **columns(row, "booking_id host_id guest_id status currency ends_at payment_id"),
        deposit=row["deposit_amount"],
        deposit_released=row["deposit_released_at"] is not None,
    )


# The claims columns a `Claim` holds as they are (its status is converted).
_CLAIM_COLUMNS = (
    "claim_id booking_id host_id guest_id amount currency respond_by decided_amount "
    "charge_request_id charge_attempts version"
)


def claim_of(row: Mapping[str, Any]) -> Claim:
    return Claim(
        **columns(row, _CLAIM_COLUMNS),
        status=ClaimStatus(row["status"]),
    )


class ClaimsRepository:
    """The claims and their evidence, and the deposit columns of `booking.bookings`, read and
    written inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def _row(self, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(sql, *args)
        return row

    async def booking_of_claim(self, claim_id: uuid.UUID) -> uuid.UUID | None:
        booking_id: uuid.UUID | None = await self.conn.fetchval(
            "SELECT booking_id FROM booking.claims WHERE claim_id = $1", claim_id
        )
        return booking_id

    async def lock_claim(self, claim_id: uuid.UUID) -> asyncpg.Record | None:
        """Lock order: the claim's booking (repository.get_booking) first, then the claim."""
        return await self._row(
            "SELECT * FROM booking.claims WHERE claim_id = $1 FOR UPDATE", claim_id
        )

    async def get_claim(self, claim_id: uuid.UUID) -> asyncpg.Record | None:
        return await self._row("SELECT * FROM booking.claims WHERE claim_id = $1", claim_id)

    async def committed(self, booking_id: uuid.UUID, but: uuid.UUID | None = None) -> int:
        """What claims of the booking charged or are charging (`but`: leave this claim out)."""
        value = await self.conn.fetchval(
            "SELECT coalesce(sum(decided_amount), 0) FROM booking.claims WHERE booking_id = $1 "
            "AND status IN ('charging', 'charged') AND claim_id IS DISTINCT FROM $2",
            booking_id,
            but,
        )
        return int(value)

    async def has_open_claim(self, booking_id: uuid.UUID) -> bool:
        found = await self.conn.fetchval(
            "SELECT 1 FROM booking.claims WHERE booking_id = $1 AND status = ANY($2::text[])",
            booking_id,
            [s.value for s in OPEN_STATUSES],
        )
        return bool(found)

    async def insert_claim(self, claim: Claim, description: str, correlation_id: uuid.UUID) -> bool:
        """False when the booking has an open claim already (the unique index: a concurrent
        filing)."""
        try:
            # A savepoint: a concurrent filing must not poison the transaction.
            async with self.conn.transaction():
                await self.conn.execute(
                    "INSERT INTO booking.claims (claim_id, booking_id, host_id, guest_id, amount, "
                    "currency, description, status, respond_by, correlation_id) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    claim.claim_id,
                    claim.booking_id,
                    claim.host_id,
                    claim.guest_id,
                    claim.amount,
                    claim.currency,
                    description,
                    claim.status.value,
                    claim.respond_by,
                    correlation_id,
                )
        except asyncpg.UniqueViolationError:
            return False
        return True

    async def insert_evidence(self, claim_id: uuid.UUID, evidence: Iterable[Evidence]) -> None:
        """The files in order, numbered from 1."""
        await self.conn.executemany(
            "INSERT INTO booking.claim_evidence (claim_id, n, filename, content_type, size, "
            "sha256, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (claim_id, n, e.filename, e.content_type, len(e.data), e.sha256, e.data)
                for n, e in enumerate(evidence, start=1)
            ],
        )

    async def save_claim(self, claim: Claim, **changes: Any) -> bool:
        """Write what the aggregate holds (status, decided amount, charge request) and `changes`,
        as a compare-and-set on the version it was read at: False when the claim moved meanwhile.
        On success the aggregate carries the new version."""
        values: dict[str, Any] = {
            "status": claim.status.value,
            "decided_amount": claim.decided_amount,
            "charge_request_id": claim.charge_request_id,
            "charge_attempts": claim.charge_attempts,
            **changes,
        }
        columns = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=3))
        status = await self.conn.execute(
            f"UPDATE booking.claims SET {columns}, version = version + 1, updated_at = now() "
            "WHERE claim_id = $1 AND version = $2",
            claim.claim_id,
            claim.version,
            *values.values(),
        )
        changed = status == "UPDATE 1"
        if changed:
            claim.version += 1
        return changed

    async def outcomes_of(self, booking_id: uuid.UUID) -> list[tuple[str, int | None]]:
        """Each claim of the booking: its status and decided amount."""
        rows = await self.conn.fetch(
            "SELECT status, decided_amount FROM booking.claims WHERE booking_id = $1", booking_id
        )
        return [(r["status"], r["decided_amount"]) for r in rows]

    async def release_deposit(self, booking_id: uuid.UUID, reason: str, charged: int) -> bool:
        """Exactly once per booking: False when the deposit was released already."""
        status = await self.conn.execute(
            "UPDATE booking.bookings SET deposit_released_at = now(), deposit_release_reason = $2, "
            "deposit_charged = $3 WHERE booking_id = $1 AND deposit_released_at IS NULL",
            booking_id,
            reason,
            charged,
        )
        return bool(status == "UPDATE 1")

    async def evidence_of(self, claim_id: uuid.UUID) -> list[asyncpg.Record]:
        """The evidence files' metadata (not their bytes), in order."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            "SELECT n, filename, content_type, size, sha256 FROM booking.claim_evidence "
            "WHERE claim_id = $1 ORDER BY n",
            claim_id,
        )
        return rows

    async def claim_ids_of(self, booking_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.conn.fetch(
            "SELECT claim_id FROM booking.claims WHERE booking_id = $1 ORDER BY created_at",
            booking_id,
        )
        return [r["claim_id"] for r in rows]

    async def evidence_file(self, claim_id: uuid.UUID, n: int) -> asyncpg.Record | None:
        return await self._row(
            "SELECT filename, content_type, data FROM booking.claim_evidence "
            "WHERE claim_id = $1 AND n = $2",
            claim_id,
            n,
        )

    async def booking_parties(self, booking_id: uuid.UUID) -> asyncpg.Record | None:
        """The booking's guest and host (who may read its claims)."""
        return await self._row(
            "SELECT guest_id, host_id FROM booking.bookings WHERE booking_id = $1", booking_id
        )
