"""Linked Booking Groups: one checkout of several legs, one payment, all legs or none.

The saga is choreographed like a single booking's, keyed by the group id:

1. `place_group` holds every leg in one transaction (a conflict refuses the whole checkout,
   nothing held). Legs with documents wait in `awaiting_signatures`; once every leg is signed,
   booking.group_checkout_requested asks payments for the total.
2. payments authorizes (or saves the card). Instant legs become `awaiting_group`; Request-to-Book
   legs ask their hosts (`awaiting_host`), and each acceptance makes that leg `awaiting_group`.
3. When every leg is `awaiting_group`, booking.group_capture_requested: the capture is the commit
   point. payment_captured confirms every leg in one transaction (booking.group_confirmed and
   one booking.booking_confirmed per leg).
4. Until then any failure (a declined payment, a host's decline or silence, a declined or
   expired document, the hold running out) fails the group: every leg is released in one
   transaction (booking.booking_failed each) and booking.group_failed makes payments void the
   authorization.

This module holds the checkout and the legs' outcomes; payments' facts are in
`service/payments.py`, the hold's timer in `timers.py`, the read model in `views.py`, the
events' builders in `messages.py` and the SQL in `repository.py` (all in `features/groups/`).

Locks: the group row first, then its legs in booking-id order (`repository.get_booking` with
`for_update` keeps the same order for a single leg), so concurrent commands serialize on the
group instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.config import BookingSettings
from booking.domain.errors import BookingError
from booking.domain.model import BOOKING_FAILED, LEG_READY, BookingStatus, Trigger

# Another feature: through its service.
from booking.features.checkout.service import hold_slot, new_leg, request_signatures
from booking.features.groups import messages
from booking.features.groups import repository as groups_repository
from booking.features.groups.domain import (
    GROUP_HOLD_EXPIRY,
    Group,
    GroupStep,
    GroupTrigger,
    releases,
)
from booking.features.groups.views import group_view
from booking.service_layer import booking_messages, lifecycle
from booking.service_layer.publishing import Builders, Cause, publish
from booking.service_layer.timer_kinds import REQUEST_EXPIRY
from eventkit import scheduler
from eventkit.outbox import Outbox
from eventkit.rows import expect_changed
from marketplace_contracts import EventModel

__all__ = [
    "CheckoutTimes",
    "Failure",
    "Groups",
    "LegRequest",
    "PlaceGroup",
    "place_group",
]


@dataclass(frozen=True)
class LegRequest:
    listing_id: str
    starts_at: datetime
    ends_at: datetime
    guests: int = 1
    extras: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PlaceGroup:
    guest_id: str
    legs: tuple[LegRequest, ...]
    payment_method: str
    correlation_id: uuid.UUID | None = None
    # Where the guest checked out from (dispute evidence, on booking.group_checkout_requested).
    client_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class CheckoutTimes:
    """The settings a checkout's timing reads (BOOKING_HOLD_TTL_SECONDS, ...)."""

    hold_ttl: timedelta
    response_window: timedelta | None
    authorization_horizon: timedelta

    @classmethod
    def of(cls, settings: BookingSettings) -> CheckoutTimes:
        window = settings.request_window_seconds
        return cls(
            hold_ttl=timedelta(seconds=settings.hold_ttl_seconds),
            response_window=timedelta(seconds=window) if window else None,
            authorization_horizon=timedelta(days=settings.authorization_horizon_days),
        )

    @classmethod
    def defaults(cls) -> CheckoutTimes:
        """The settings' own defaults (their one home), the environment not read."""
        return cls.of(BookingSettings.model_construct())


async def place_group(
    conn: asyncpg.Connection,
    outbox: Outbox,
    cmd: PlaceGroup,
    times: CheckoutTimes | None = None,
) -> dict[str, Any]:
    """Hold every leg or none: runs in a savepoint, so a refused leg undoes the others."""
    Group.check_size(len(cmd.legs))
    times = times or CheckoutTimes.defaults()
    group_id = uuid.uuid4()
    correlation_id = cmd.correlation_id or uuid.uuid4()
    async with conn.transaction():
        legs = await _new_legs(conn, cmd, group_id, correlation_id, times)
        totals = Group.totals([booking for booking, _ in legs])
        signing = any(documents for _, documents in legs)
        hold_until = datetime.now(UTC) + times.hold_ttl
        status = Group.initial_status(signing)
        await groups_repository.insert_group(
            conn,
            {
                "group_id": group_id,
                "guest_id": cmd.guest_id,
                "status": status.value,
                "amount": totals.amount,
                "platform_fee": totals.platform_fee,
                "currency": totals.currency,
                "payment_method": cmd.payment_method,
                "save_for_later": totals.save_for_later,
                "hold_until": hold_until,
                "correlation_id": correlation_id,
                "client_ip": cmd.client_ip,
                "user_agent": cmd.user_agent,
            },
        )
        for number, (booking, _) in enumerate(legs, start=1):
            with _leg_number(number):
                await hold_slot(conn, booking)
        await scheduler.schedule(conn, "booking", GROUP_HOLD_EXPIRY, str(group_id), hold_until)
        for booking, documents in legs:
            if documents:
                await request_signatures(conn, outbox, booking, documents, hold_until)
        if not signing:
            await _request_payment(conn, outbox, group_id)
    return await group_view(conn, group_id)


@contextmanager
def _leg_number(number: int) -> Iterator[None]:
    """Name the leg in a refusal: `leg 2: listing ... is already booked`."""
    try:
        yield
    except BookingError as exc:
        raise BookingError(exc.code, f"leg {number}: {exc.message}") from None


async def _new_legs(
    conn: asyncpg.Connection,
    cmd: PlaceGroup,
    group_id: uuid.UUID,
    correlation_id: uuid.UUID,
    times: CheckoutTimes,
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each leg priced and checked (not held yet), with the documents it needs signed."""
    legs = []
    for number, leg in enumerate(cmd.legs, start=1):
        with _leg_number(number):
            legs.append(
                await new_leg(
                    conn,
                    guest_id=cmd.guest_id,
                    listing_id=leg.listing_id,
                    starts_at=leg.starts_at,
                    ends_at=leg.ends_at,
                    payment_method=cmd.payment_method,
                    correlation_id=correlation_id,
                    response_window=times.response_window,
                    authorization_horizon=times.authorization_horizon,
                    group_id=group_id,
                    guests=leg.guests,
                    extras=leg.extras,
                    client=(cmd.client_ip, cmd.user_agent),
                )
            )
    return legs


async def _request_payment(conn: asyncpg.Connection, outbox: Outbox, group_id: uuid.UUID) -> None:
    """A group without documents asks payments for the total at once (its initial event)."""
    group = await groups_repository.get_group(conn, group_id)
    assert group is not None
    legs = await groups_repository.group_legs(conn, group_id)
    await outbox.add(
        conn,
        messages.checkout_requested(group, legs),
        key=str(group_id),
        correlation_id=group["correlation_id"],
    )


@dataclass(frozen=True)
class Failure:
    """Why a group fails: the trigger, the group's `failure_reason` and `failure_detail`."""

    trigger: GroupTrigger
    reason: str
    detail: str
    failed_booking_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None


def statuses(legs: list[asyncpg.Record]) -> tuple[BookingStatus, ...]:
    return tuple(BookingStatus(leg["status"]) for leg in legs)


class Groups:
    """The group's side of its legs' outcomes (signed, accepted, ended), and the steps every
    group use case shares: lock, move a leg, move the group, fail."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def _commit(
        self,
        conn: asyncpg.Connection,
        group: asyncpg.Record,
        step: GroupStep,
        builders: Builders,
        causation_id: uuid.UUID | None = None,
        **changes: Any,
    ) -> None:
        """Write the group's step (compare-and-set on the version read under its lock) and
        publish exactly the events its transition declares."""
        changed = await groups_repository.update_group(
            conn, group["group_id"], group["version"], status=step.status.value, **changes
        )
        expect_changed(changed, f"booking group {group['group_id']}")
        await publish(
            conn,
            self.outbox,
            step.emits,
            builders,
            key=str(group["group_id"]),
            cause=Cause(group["correlation_id"], causation_id),
        )

    async def _move_leg(
        self,
        conn: asyncpg.Connection,
        leg: asyncpg.Record,
        trigger: Trigger,
        builders: Builders,
        cause: Cause,
        **changes: Any,
    ) -> BookingStatus:
        """Apply the leg's own transition and publish the event it declares."""
        done = await lifecycle.apply(conn, self.outbox, leg, trigger, builders, cause, **changes)
        return done.status

    # -- docs-before-pay across legs ---------------------------------------------------------
    async def leg_signed(
        self, conn: asyncpg.Connection, leg: asyncpg.Record, envelope_id: str | None
    ) -> None:
        """A leg's documents are all signed (`leg` locked, in awaiting_signatures): the leg
        waits in pending_payment; the last leg to sign asks payments for the total."""
        group = await groups_repository.get_group(conn, leg["group_id"], for_update=True)
        assert group is not None
        signed = {"booking.documents_signed": lambda: messages.documents_signed(leg, envelope_id)}
        cause = Cause(leg["correlation_id"])
        await self._move_leg(conn, leg, Trigger.DOCUMENTS_SIGNED, signed, cause)
        legs = await groups_repository.group_legs(conn, group["group_id"])
        step = Group.of(group).leg_signed(statuses(legs))
        requested = {
            "booking.group_checkout_requested": lambda: messages.checkout_requested(group, legs)
        }
        await self._commit(conn, group, step, requested)

    # -- a host's answer ---------------------------------------------------------------------
    async def leg_accepted(self, conn: asyncpg.Connection, leg: asyncpg.Record) -> None:
        """A host accepted a Request-to-Book leg (`leg` locked, in awaiting_host)."""
        group = await groups_repository.get_group(conn, leg["group_id"], for_update=True)
        assert group is not None
        ready = {LEG_READY: lambda: messages.leg_ready(leg, Trigger.HOST_ACCEPTED.value)}
        cause = Cause(leg["correlation_id"])
        await self._move_leg(conn, leg, Trigger.HOST_ACCEPTED, ready, cause)
        await scheduler.cancel(conn, "booking", REQUEST_EXPIRY, str(leg["booking_id"]))
        legs = await groups_repository.group_legs(conn, group["group_id"])
        step = Group.of(group).leg_ready(statuses(legs))
        capture = {
            "booking.group_capture_requested": lambda: messages.capture_requested(
                group, group["payment_id"]
            )
        }
        await self._commit(conn, group, step, capture)

    # -- failures ----------------------------------------------------------------------------
    async def leg_failed(
        self,
        conn: asyncpg.Connection,
        leg: asyncpg.Record,
        reason: str,
        detail: str,
        causation_id: uuid.UUID | None = None,
    ) -> None:
        """A leg ended on its own (host declined or silent, documents declined or expired):
        the group fails with it. The leg's own transition has been applied already."""
        group = await groups_repository.get_group(conn, leg["group_id"], for_update=True)
        assert group is not None
        if not Group.of(group).expects(GroupTrigger.LEG_FAILED):
            return
        legs = await groups_repository.group_legs(conn, group["group_id"], for_update=True)
        failure = Failure(GroupTrigger.LEG_FAILED, reason, detail, leg["booking_id"], causation_id)
        await self.fail(conn, group, legs, failure)

    async def fail(
        self,
        conn: asyncpg.Connection,
        group: asyncpg.Record,
        legs: list[asyncpg.Record],
        failure: Failure,
        **changes: Any,
    ) -> None:
        """Compensate: release every open leg and tell payments to void, in one transaction."""
        cause = Cause(group["correlation_id"], failure.causation_id)
        for leg in legs:
            if not releases(BookingStatus(leg["status"])):
                continue  # the leg that failed the group, ended by its own transition
            released = {BOOKING_FAILED: _released(leg, failure.reason)}
            await self._move_leg(
                conn,
                leg,
                Trigger.GROUP_FAILED,
                released,
                cause,
                failure_reason="group_failed",
                failure_detail=f"{failure.reason}: {failure.detail}",
            )
            await scheduler.cancel(conn, "booking", REQUEST_EXPIRY, str(leg["booking_id"]))
        await scheduler.cancel(conn, "booking", GROUP_HOLD_EXPIRY, str(group["group_id"]))
        legs = await groups_repository.group_legs(conn, group["group_id"])
        payment_id = changes.get("payment_id", group["payment_id"])
        step = Group.of(group).fail(failure.trigger, statuses(legs))
        failed = {
            "booking.group_failed": lambda: messages.failed(
                group, payment_id, legs, failure.reason, failure.detail, failure.failed_booking_id
            )
        }
        await self._commit(
            conn,
            group,
            step,
            failed,
            failure.causation_id,
            failure_reason=failure.reason,
            failure_detail=failure.detail,
            failed_booking_id=failure.failed_booking_id,
            **changes,
        )


def _released(leg: asyncpg.Record, reason: str) -> Callable[[], EventModel]:
    # The group's authorization is voided once, on booking.group_failed: no payment here.
    return lambda: booking_messages.failed(leg, None, "group_failed", reason)
