"""Documents' durable timers, both registered by `booking.bootstrap`: they create an envelope at
the e-sign provider, outside the request that needs it (a provider call holds no request open).
Their kinds belong to the features that schedule them, as their own vocabulary:

- `create_signing_envelope` (checkout's `CREATE_ENVELOPE`), keyed by the booking: the envelope
  for the listing's required documents, scheduled with a docs-before-pay checkout;
- `create_amendment_envelope` (amendments' `CREATE_AMENDMENT_ENVELOPE`), keyed by the
  amendment: the listing's documents and the amendment's new terms.

Each is idempotent on its envelope key, so a job run twice creates one envelope. The jobs open
booking's unit of work on the timer's connection and bootstrap's outbox (`send_envelope`,
`send_amendment_envelope` run on it).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from booking.adapters.esign.base import DocumentSpec, ESignProvider, Signer
from booking.domain.model import BookingStatus

# Other features: through their service.
from booking.features.amendments import service as amendments
from booking.features.amendments.service import CREATE_AMENDMENT_ENVELOPE
from booking.features.checkout.service import CREATE_ENVELOPE
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

__all__ = [
    "CREATE_AMENDMENT_ENVELOPE",
    "CREATE_ENVELOPE",
    "create_amendment_envelope",
    "create_envelope",
    "envelope_key",
    "send_amendment_envelope",
    "send_envelope",
]


def envelope_key(booking_id: str) -> str:
    return f"booking:esign:{booking_id}"


def _required(listing: asyncpg.Record) -> list[DocumentSpec]:
    """The listing's required documents, as the provider takes them."""
    return [
        DocumentSpec(d["document_id"], d["title"], d["text"].encode())
        for d in listing["required_documents"]
    ]


def _guest(guest_id: str) -> Signer:
    return Signer(guest_id, guest_id, f"{guest_id}@guests.invalid")


async def send_envelope(
    uow: UnitOfWork, provider: ESignProvider, booking_id: str, payload: dict[str, object]
) -> None:
    """The envelope of a booking awaiting signatures that has none yet (else nothing)."""
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None or row["status"] != BookingStatus.AWAITING_SIGNATURES or row["envelope_id"]:
        return
    listing = await uow.bookings.get_listing(row["listing_id"])
    assert listing is not None
    envelope = await provider.create_envelope(
        envelope_key=envelope_key(booking_id),
        signer=_guest(row["guest_id"]),
        documents=_required(listing),
        metadata={"booking_id": booking_id},
        expires_at=datetime.fromisoformat(str(payload["sign_by"])),
    )
    await uow.documents.set_envelope(
        row["booking_id"], row["version"], envelope.envelope_id, envelope.signing_url
    )


async def send_amendment_envelope(
    uow: UnitOfWork, provider: ESignProvider, amendment_id: str, payload: dict[str, object]
) -> None:
    """The envelope for an amendment's new terms (the listing's documents, and the amendment
    itself), idempotent on its key."""
    am = await amendments.awaiting_envelope(uow, amendment_id)
    if am is None:
        return
    listing = await uow.bookings.get_listing(am["listing_id"])
    assert listing is not None
    terms = (
        f"The booking {am['booking_id']} changes to {am['starts_at'].isoformat()} - "
        f"{am['ends_at'].isoformat()}, {am['guests']} guest(s), extras "
        f"{am['extras']}; the total changes by {am['delta']} "
        f"{am['currency']} (minor units)."
    )
    amendment = DocumentSpec(f"amendment-{amendment_id}", "Amendment", terms.encode())
    envelope = await provider.create_envelope(
        envelope_key=f"booking:esign:amendment:{amendment_id}",
        signer=_guest(am["guest_id"]),
        documents=[*_required(listing), amendment],
        metadata={"booking_id": str(am["booking_id"]), "amendment_id": amendment_id},
        expires_at=datetime.fromisoformat(str(payload["sign_by"])),
    )
    await amendments.envelope_sent(
        uow, am["amendment_id"], envelope.envelope_id, envelope.signing_url
    )


Sender = Callable[[UnitOfWork, ESignProvider, str, dict[str, object]], Awaitable[None]]
Job = Callable[[ESignProvider, Outbox, asyncpg.Connection, str, dict[str, object]], Awaitable[None]]


def _job(send: Sender) -> Job:
    """The durable job of `send`: booking's unit of work on the timer's connection."""

    async def job(
        provider: ESignProvider,
        outbox: Outbox,
        conn: asyncpg.Connection,
        subject_id: str,
        payload: dict[str, object],
    ) -> None:
        await send(UnitOfWork(conn, outbox), provider, subject_id, payload)

    return job


# The jobs bootstrap registers (with the provider and its outbox), by the timers' kinds.
create_envelope = _job(send_envelope)  # keyed by the booking
create_amendment_envelope = _job(send_amendment_envelope)  # keyed by the amendment
