"""What the documents feature needs of an amendment whose new terms must be signed: the
amendment to send an envelope for, the envelope once sent, and the amendment an envelope's
outcome belongs to (its outcome is then `on_signed` or `on_signatures_declined`)."""

from __future__ import annotations

import uuid

import asyncpg

from booking.features.amendments import repository as amendments_repo


async def awaiting_envelope(conn: asyncpg.Connection, amendment_id: str) -> asyncpg.Record | None:
    """The amendment (locked), with its booking's guest and listing, while its terms await an
    envelope that was not sent yet; None once sent, decided, or unknown."""
    am = await amendments_repo.lock_awaiting_envelope(conn, amendment_id)
    if am is None or am["status"] != "awaiting_signatures" or am["envelope_id"]:
        return None
    return am


async def envelope_sent(
    conn: asyncpg.Connection, amendment_id: uuid.UUID, envelope_id: str, signing_url: str | None
) -> None:
    await amendments_repo.set_envelope(conn, amendment_id, envelope_id, signing_url)


async def signed_through(conn: asyncpg.Connection, envelope_id: str) -> uuid.UUID | None:
    """The amendment whose terms `envelope_id` has signed (None: not an amendment's)."""
    return await amendments_repo.by_envelope(conn, envelope_id)
