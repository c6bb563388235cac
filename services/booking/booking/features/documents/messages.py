"""booking.signatures_completed: every document a booking required is signed, with each
signature's audit trail as the e-sign provider keeps it (adapters/esign: hash, signer, time,
IP address, User-Agent), the record a dispute's evidence cites.

Emitted once, in the transaction that moves the booking (or group leg) out of
`awaiting_signatures`: a redelivered outcome finds it moved and emits nothing. The trail is read
from the provider before that transaction (a provider call holds no lock); a provider that
cannot give it for good (not retryable) still lets the fact say which documents were signed,
by whom and when, without hashes.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from booking.adapters.esign.base import ESignError, ESignProvider, SignatureAudit
from booking.service_layer.unit_of_work import UnitOfWork
from marketplace_contracts.events.booking import SignaturesCompletedV1, SignedDocument

log = logging.getLogger("booking.signatures")


async def read_trail(provider: ESignProvider, envelope_id: str) -> list[SignatureAudit]:
    """The provider's audit trail; [] when it cannot give one for good. A retryable error is
    raised: the outcome is redelivered (Dropbox Sign retries a 5xx callback, the built-in
    provider's reconcile redelivers a failed one)."""
    try:
        return await provider.audit_trail(envelope_id)
    except ESignError as exc:
        if exc.retryable:
            raise
        log.warning("no audit trail for envelope %s: %r", envelope_id, exc)
        return []


async def completed(
    uow: UnitOfWork,
    row: asyncpg.Record,
    *,
    envelope_id: str,
    provider: str,
    trail: list[SignatureAudit],
    signed_at: datetime,
) -> None:
    """Emit booking.signatures_completed for `row` (locked, leaving awaiting_signatures)."""
    listing = await uow.bookings.get_listing(row["listing_id"])
    titles = {
        d["document_id"]: d["title"] for d in (listing["required_documents"] if listing else [])
    }
    documents = [
        SignedDocument(
            document_id=audit.document_id,
            title=audit.title or titles.get(audit.document_id, ""),
            sha256=audit.sha256,
            signer_id=audit.signer_id,
            signed_at=audit.signed_at,
            ip_address=audit.ip_address,
            user_agent=audit.user_agent,
        )
        for audit in trail
    ] or [
        SignedDocument(
            document_id=document_id, title=title, signer_id=row["guest_id"], signed_at=signed_at
        )
        for document_id, title in titles.items()
    ]
    if not documents:
        log.warning("booking %s signed an envelope with no documents known", row["booking_id"])
        return
    booking_id = str(row["booking_id"])
    await uow.emit(
        SignaturesCompletedV1(
            booking_id=booking_id,
            group_id=str(row["group_id"]) if row["group_id"] else None,
            guest_id=row["guest_id"],
            envelope_id=envelope_id,
            provider=provider,
            documents=documents,
        ),
        key=booking_id,
        correlation_id=row["correlation_id"],
    )
