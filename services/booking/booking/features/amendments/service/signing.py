"""What the documents feature needs of an amendment whose new terms must be signed: the
amendment to send an envelope for, the envelope once sent, and the amendment an envelope's
outcome belongs to, and that outcome (`on_signed`, `on_signatures_declined`), all on the
documents feature's unit of work (the use cases are `use_cases.signed` and
`use_cases.signatures_declined`)."""

from __future__ import annotations

import uuid

import asyncpg

from booking.features.amendments.service.use_cases import signatures_declined, signed
from booking.service_layer.unit_of_work import UnitOfWork


async def awaiting_envelope(uow: UnitOfWork, amendment_id: str) -> asyncpg.Record | None:
    """The amendment (locked), with its booking's guest and listing, while its terms await an
    envelope that was not sent yet; None once sent, decided, or unknown."""
    am = await uow.amendments.lock_awaiting_envelope(amendment_id)
    if am is None or am["status"] != "awaiting_signatures" or am["envelope_id"]:
        return None
    return am


async def envelope_sent(
    uow: UnitOfWork, amendment_id: uuid.UUID, envelope_id: str, signing_url: str | None
) -> None:
    await uow.amendments.set_envelope(amendment_id, envelope_id, signing_url)


async def signed_through(uow: UnitOfWork, envelope_id: str) -> uuid.UUID | None:
    """The amendment whose terms `envelope_id` has signed (None: not an amendment's)."""
    return await uow.amendments.by_envelope(envelope_id)


async def on_signed(uow: UnitOfWork, amendment_id: uuid.UUID) -> None:
    """The guest signed the new terms: go on as an accepted amendment."""
    await signed(uow, amendment_id)


async def on_signatures_declined(uow: UnitOfWork, amendment_id: uuid.UUID, detail: str) -> None:
    """Declined or expired: the amendment fails and the booking stays as it was."""
    await signatures_declined(uow, amendment_id, detail)
