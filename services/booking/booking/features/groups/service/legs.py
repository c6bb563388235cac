"""Linked Booking Groups: the legs' own outcomes (signed, accepted, ended) as the group sees
them, and the steps every group use case shares: move a leg, write the group's step, fail.

Each takes booking's unit of work (the group and its legs through `uow.groups`, the timers and
the outbox on it) inside the caller's transaction; the caller has locked the leg it passes
(`repository.get_booking(for_update=True)`: the group's row first, then the leg).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from booking.domain.model import BOOKING_FAILED, LEG_READY, Booking, BookingStatus, Trigger
from booking.features.groups import messages
from booking.features.groups.domain import (
    GROUP_HOLD_EXPIRY,
    Group,
    GroupStep,
    GroupTrigger,
    releases,
)
from booking.service_layer import booking_messages, lifecycle
from booking.service_layer.publishing import Builders, Cause, publish
from booking.service_layer.timer_kinds import REQUEST_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.rows import expect_changed
from marketplace_contracts import EventModel

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Failure:
    """Why a group fails: the trigger, the group's `failure_reason` and `failure_detail`."""

    trigger: GroupTrigger
    reason: str
    detail: str
    failed_booking_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None


def statuses(legs: Sequence[Row]) -> tuple[BookingStatus, ...]:
    return tuple(BookingStatus(leg["status"]) for leg in legs)


async def commit(
    uow: UnitOfWork,
    group: Row,
    step: GroupStep,
    builders: Builders,
    causation_id: uuid.UUID | None = None,
    **changes: Any,
) -> None:
    """Write the group's step (compare-and-set on the version read under its lock) and
    publish exactly the events its transition declares."""
    group_id = group["group_id"]
    changed = await uow.groups.update(
        group_id, group["version"], status=step.status.value, **changes
    )
    expect_changed(changed, f"booking group {group_id}")
    cause = Cause(group["correlation_id"], causation_id)
    await publish(uow, step.emits, builders, key=str(group_id), cause=cause)


async def move_leg(
    uow: UnitOfWork, leg: Row, trigger: Trigger, builders: Builders, cause: Cause, **changes: Any
) -> None:
    """Apply the leg's own transition (as `lifecycle.apply` does a booking's) and publish the
    event it declares."""
    done = Booking.of(leg).apply(trigger)
    await uow.groups.change_leg(
        leg["booking_id"], leg["version"], status=done.status.value, **changes
    )
    await lifecycle.announce(uow, leg, done, builders, cause)


# -- docs-before-pay across legs -------------------------------------------------------------
async def leg_signed(uow: UnitOfWork, leg: Row, envelope_id: str | None) -> None:
    """A leg's documents are all signed (`leg` locked, in awaiting_signatures): the leg
    waits in pending_payment; the last leg to sign asks payments for the total."""
    group = await uow.groups.get(leg["group_id"], for_update=True)
    assert group is not None
    signed = {"booking.documents_signed": lambda: messages.documents_signed(leg, envelope_id)}
    await move_leg(uow, leg, Trigger.DOCUMENTS_SIGNED, signed, Cause(leg["correlation_id"]))
    legs = await uow.groups.legs(group["group_id"])
    step = Group.of(group).leg_signed(statuses(legs))
    requested = {
        "booking.group_checkout_requested": lambda: messages.checkout_requested(group, legs)
    }
    await commit(uow, group, step, requested)


# -- a host's answer -------------------------------------------------------------------------
async def leg_accepted(uow: UnitOfWork, leg: Row) -> None:
    """A host accepted a Request-to-Book leg (`leg` locked, in awaiting_host)."""
    group = await uow.groups.get(leg["group_id"], for_update=True)
    assert group is not None
    ready = {LEG_READY: lambda: messages.leg_ready(leg, Trigger.HOST_ACCEPTED.value)}
    await move_leg(uow, leg, Trigger.HOST_ACCEPTED, ready, Cause(leg["correlation_id"]))
    await uow.timers.cancel(REQUEST_EXPIRY, str(leg["booking_id"]))
    legs = await uow.groups.legs(group["group_id"])
    step = Group.of(group).leg_ready(statuses(legs))
    capture = {
        "booking.group_capture_requested": lambda: messages.capture_requested(
            group, group["payment_id"]
        )
    }
    await commit(uow, group, step, capture)


# -- failures --------------------------------------------------------------------------------
async def leg_failed(
    uow: UnitOfWork,
    leg: Row,
    reason: str,
    detail: str,
    causation_id: uuid.UUID | None = None,
) -> None:
    """A leg ended on its own (host declined or silent, documents declined or expired):
    the group fails with it. The leg's own transition has been applied already."""
    group = await uow.groups.get(leg["group_id"], for_update=True)
    assert group is not None
    if not Group.of(group).expects(GroupTrigger.LEG_FAILED):
        return
    legs = await uow.groups.legs(group["group_id"], for_update=True)
    failure = Failure(GroupTrigger.LEG_FAILED, reason, detail, leg["booking_id"], causation_id)
    await fail(uow, group, legs, failure)


async def fail(
    uow: UnitOfWork, group: Row, legs: Sequence[Row], failure: Failure, **changes: Any
) -> None:
    """Compensate: release every open leg and tell payments to void, in one transaction."""
    cause = Cause(group["correlation_id"], failure.causation_id)
    why = {
        "failure_reason": "group_failed",
        "failure_detail": f"{failure.reason}: {failure.detail}",
    }
    for leg in legs:
        if not releases(BookingStatus(leg["status"])):
            continue  # the leg that failed the group, ended by its own transition
        released = {BOOKING_FAILED: _released(leg, failure.reason)}
        await move_leg(uow, leg, Trigger.GROUP_FAILED, released, cause, **why)
        await uow.timers.cancel(REQUEST_EXPIRY, str(leg["booking_id"]))
    await uow.timers.cancel(GROUP_HOLD_EXPIRY, str(group["group_id"]))
    legs = await uow.groups.legs(group["group_id"])
    payment_id = changes.get("payment_id", group["payment_id"])
    step = Group.of(group).fail(failure.trigger, statuses(legs))
    failed = {
        "booking.group_failed": lambda: messages.failed(
            group, payment_id, legs, failure.reason, failure.detail, failure.failed_booking_id
        )
    }
    await commit(
        uow,
        group,
        step,
        failed,
        failure.causation_id,
        failure_reason=failure.reason,
        failure_detail=failure.detail,
        failed_booking_id=failure.failed_booking_id,
        **changes,
    )


def _released(leg: Row, reason: str) -> Callable[[], EventModel]:
    # The group's authorization is voided once, on booking.group_failed: no payment here.
    return lambda: booking_messages.failed(leg, None, "group_failed", reason)
