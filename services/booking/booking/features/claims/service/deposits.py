"""The security deposit's release: once per booking (`booking.deposit_released`).

- `no_claim`: the durable `deposit_release` timer, scheduled when the booking completes, fires
  at the end of the claim window and no claim was filed;
- `claim_settled`: once every claim has ended and the window has passed, whichever comes last,
  with what claims charged;
- `booking_cancelled`, `booking_ended`: the booking was cancelled, or ended without a stay.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from booking.config import claim_windows
from booking.features.claims import repository as claims_repository
from booking.features.claims.domain import DEPOSIT_RELEASE, Release, settled_release
from booking.features.claims.domain.rules import ClaimWindows
from booking.features.claims.messages import deposit_released, meta
from eventkit import scheduler
from eventkit.outbox import Outbox


async def release_if_settled(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    *,
    windows: ClaimWindows | None = None,
    window_over: bool = False,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Release the booking's deposit if the claim window is over (`window_over`, else judged
    now by `windows`) and no claim is open."""
    booking = claims_repository.claimed_booking(row)
    if not window_over:
        window_over = booking.window_over(datetime.now(UTC), windows or claim_windows())
    if not booking.may_release(window_over=window_over):
        return
    release = settled_release(await claims_repository.outcomes_of(conn, booking.booking_id))
    if release is not None:
        await _release(conn, outbox, row, release, causation_id)


async def on_booking_completed(
    conn: asyncpg.Connection, row: asyncpg.Record, windows: ClaimWindows | None = None
) -> None:
    """A booking with a deposit ended: the deposit is released at the claim window's end."""
    if row["deposit_amount"] and row["deposit_released_at"] is None:
        window = (windows or claim_windows()).claim
        await scheduler.schedule(
            conn, "booking", DEPOSIT_RELEASE, str(row["booking_id"]), row["ends_at"] + window
        )


async def on_booking_ended(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    reason: str,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Cancelled, or ended without a stay: nothing can be claimed; release a secured deposit."""
    if row["deposit_amount"] and row["payment_id"]:
        await _release(conn, outbox, row, Release(reason, 0), causation_id)


async def _release(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    release: Release,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Exactly once per booking: only the first release changes the row and emits."""
    booking_id = row["booking_id"]
    if not await claims_repository.release_deposit(
        conn, booking_id, release.reason, release.charged
    ):
        return  # released already (a later end, or a redelivered fact)
    await scheduler.cancel(conn, "booking", DEPOSIT_RELEASE, str(booking_id))
    await outbox.add(conn, deposit_released(row, release), **meta(row, causation_id))
