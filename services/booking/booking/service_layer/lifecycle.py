"""One state change of a booking, the same way everywhere: the `Booking` aggregate applies the
trigger (409 `illegal_transition` when the table has no row for it), the checked
compare-and-set writes the new status, and exactly the events the change declares are
published (`publishing.publish`, one builder per event type).

The caller has locked the row (`FOR UPDATE`) in its transaction: a compare-and-set that changes
nothing is a bug and fails loudly (`BookingsRepository.change_booking`). Each step takes the
unit of work and writes through its bookings repository and outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from booking.domain.model import Booking, Change, Trigger
from booking.service_layer.publishing import Builders, Cause, publish

if TYPE_CHECKING:
    from booking.service_layer.unit_of_work import UnitOfWork


async def change(
    uow: UnitOfWork, row: Mapping[str, Any], trigger: Trigger, **columns: Any
) -> Change:
    """Apply `trigger` to the locked `row` and write it (`columns`: more to set); publishes
    nothing (for a use case whose other events come first)."""
    done = Booking.of(row).apply(trigger)
    await uow.bookings.change_booking(
        row["booking_id"], row["version"], status=done.status.value, **columns
    )
    return done


async def announce(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    done: Change,
    builders: Builders,
    cause: Cause,
) -> None:
    """Publish the events `done` declares, keyed by the booking."""
    key = str(row["booking_id"])
    await publish(uow, done.emits, builders, key=key, cause=cause)


async def apply(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    trigger: Trigger,
    builders: Builders,
    cause: Cause,
    **columns: Any,
) -> Change:
    """`change`, then `announce`: the state change and its events in this transaction."""
    done = await change(uow, row, trigger, **columns)
    await announce(uow, row, done, builders, cause)
    return done
