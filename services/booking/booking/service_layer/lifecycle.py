"""One state change of a booking, the same way everywhere: the `Booking` aggregate applies the
trigger (409 `illegal_transition` when the table has no row for it), the checked
compare-and-set writes the new status, and exactly the events the change declares are
published (`publishing.publish`, one builder per event type).

The caller has locked the row (`FOR UPDATE`) in its transaction: a compare-and-set that changes
nothing is a bug and fails loudly (`repository.change_booking`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain.model import Booking, Change, Trigger
from booking.service_layer.publishing import Builders, Cause, publish
from eventkit.outbox import Outbox


async def change(
    conn: asyncpg.Connection, row: Mapping[str, Any], trigger: Trigger, **columns: Any
) -> Change:
    """Apply `trigger` to the locked `row` and write it (`columns`: more to set); publishes
    nothing (for a use case whose other events come first)."""
    done = Booking.of(row).apply(trigger)
    await repository.change_booking(
        conn, row["booking_id"], row["version"], status=done.status.value, **columns
    )
    return done


async def announce(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: Mapping[str, Any],
    done: Change,
    builders: Builders,
    cause: Cause,
) -> None:
    """Publish the events `done` declares, keyed by the booking."""
    key = str(row["booking_id"])
    await publish(conn, outbox, done.emits, builders, key=key, cause=cause)


async def apply(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: Mapping[str, Any],
    trigger: Trigger,
    builders: Builders,
    cause: Cause,
    **columns: Any,
) -> Change:
    """`change`, then `announce`: the state change and its events in this transaction."""
    done = await change(conn, row, trigger, **columns)
    await announce(conn, outbox, row, done, builders, cause)
    return done
