"""The security deposit's release: once per booking (`booking.deposit_released`).

- `no_claim`: the durable `deposit_release` timer, scheduled when the booking completes, fires
  at the end of the claim window and no claim was filed;
- `claim_settled`: once every claim has ended and the window has passed, whichever comes last,
  with what claims charged;
- `booking_cancelled`, `booking_ended`: the booking was cancelled, or ended without a stay.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from booking.config import claim_windows
from booking.features.claims.domain import DEPOSIT_RELEASE, Release, settled_release
from booking.features.claims.domain.rules import ClaimWindows
from booking.features.claims.messages import deposit_released, meta
from booking.features.claims.repository import claimed_booking
from booking.service_layer.unit_of_work import UnitOfWork


async def release_if_settled(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    *,
    windows: ClaimWindows | None = None,
    window_over: bool = False,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Release the booking's deposit if the claim window is over (`window_over`, else judged
    now by `windows`) and no claim is open."""
    booking = claimed_booking(row)
    if not window_over:
        window_over = booking.window_over(datetime.now(UTC), windows or claim_windows())
    if not booking.may_release(window_over=window_over):
        return
    release = settled_release(await uow.claims.outcomes_of(booking.booking_id))
    if release is not None:
        await _release(uow, row, release, causation_id)


async def on_window_over(uow: UnitOfWork, booking_id: uuid.UUID) -> None:
    """The `deposit_release` timer at the end of the claim window: release the deposit unless
    a claim is still open (its end releases it then)."""
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    if row is not None:
        await release_if_settled(uow, row, window_over=True)


async def on_booking_completed(
    uow: UnitOfWork, row: Mapping[str, Any], windows: ClaimWindows | None = None
) -> None:
    """A booking with a deposit ended: the deposit is released at the claim window's end."""
    if row["deposit_amount"] and row["deposit_released_at"] is None:
        window = (windows or claim_windows()).claim
        await uow.timers.schedule(DEPOSIT_RELEASE, str(row["booking_id"]), row["ends_at"] + window)


async def on_booking_ended(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    reason: str,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Cancelled, or ended without a stay: nothing can be claimed; release a secured deposit."""
    if row["deposit_amount"] and row["payment_id"]:
        await _release(uow, row, Release(reason, 0), causation_id)


async def _release(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    release: Release,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Exactly once per booking: only the first release changes the row and emits."""
    booking_id = row["booking_id"]
    if not await uow.claims.release_deposit(booking_id, release.reason, release.charged):
        return  # released already (a later end, or a redelivered fact)
    await uow.timers.cancel(DEPOSIT_RELEASE, str(booking_id))
    await uow.emit(deposit_released(row, release), **meta(row, causation_id))
