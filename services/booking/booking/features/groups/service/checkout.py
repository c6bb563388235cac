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

This module holds the checkout; the legs' outcomes and the shared steps are in
`service/legs.py`, payments' facts and the hold's end in `service/payments.py`, the hold's timer
in `timers.py`, the read model in `views.py`, the events' builders in `messages.py` and the SQL
in `repository.py` (all in `features/groups/`), reached through booking's unit of work.

Locks: the group row first, then its legs in booking-id order (`repository.get_booking` with
`for_update` keeps the same order for a single leg), so concurrent commands serialize on the
group instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.config import BookingSettings
from booking.domain.errors import BookingError

# Another feature: through its service.
from booking.features.checkout.service import (
    PlaceBooking,
    hold_slot,
    new_leg,
    request_signatures,
)
from booking.features.groups import messages
from booking.features.groups.domain import GROUP_HOLD_EXPIRY, Group
from booking.features.groups.views import group_view
from booking.service_layer.unit_of_work import UnitOfWork
from domainkit.ids import new_uuid

__all__ = ["CheckoutTimes", "LegRequest", "PlaceGroup", "place_group"]


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

    def booking(self, leg: LegRequest, correlation_id: uuid.UUID) -> PlaceBooking:
        """One leg as the checkout of one booking (the group's guest, card and saga)."""
        return PlaceBooking(
            self.guest_id,
            leg.listing_id,
            leg.starts_at,
            leg.ends_at,
            self.payment_method,
            correlation_id=correlation_id,
            guests=leg.guests,
            extras=leg.extras,
            client_ip=self.client_ip,
            user_agent=self.user_agent,
        )


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
    uow: UnitOfWork, cmd: PlaceGroup, times: CheckoutTimes | None = None
) -> dict[str, Any]:
    """Hold every leg or none: runs in a savepoint, so a refused leg undoes the others. The
    legs are priced and held by the checkout's service, on the same unit of work."""
    Group.check_size(len(cmd.legs))
    times = times or CheckoutTimes.defaults()
    group_id = new_uuid()
    correlation_id = cmd.correlation_id or new_uuid()
    async with uow.savepoint():
        legs = await _new_legs(uow, cmd, group_id, correlation_id, times)
        totals = Group.totals([booking for booking, _ in legs])
        signing = any(documents for _, documents in legs)
        hold_until = datetime.now(UTC) + times.hold_ttl
        status = Group.initial_status(signing)
        await uow.groups.insert(
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
                await hold_slot(uow, booking)
        await uow.timers.schedule(GROUP_HOLD_EXPIRY, str(group_id), hold_until)
        for booking, documents in legs:
            if documents:
                await request_signatures(uow, booking, documents, hold_until)
        if not signing:
            await _request_payment(uow, group_id)
    return await group_view(uow.groups, group_id)


@contextmanager
def _leg_number(number: int) -> Iterator[None]:
    """Name the leg in a refusal: `leg 2: listing ... is already booked`."""
    try:
        yield
    except BookingError as exc:
        raise BookingError(exc.code, f"leg {number}: {exc.message}") from None


async def _new_legs(
    uow: UnitOfWork,
    cmd: PlaceGroup,
    group_id: uuid.UUID,
    correlation_id: uuid.UUID,
    times: CheckoutTimes,
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each leg priced and checked (not held yet), with the documents it needs signed."""
    legs = []
    for number, leg in enumerate(cmd.legs, start=1):
        with _leg_number(number):
            new = await new_leg(
                uow,
                cmd.booking(leg, correlation_id),
                response_window=times.response_window,
                authorization_horizon=times.authorization_horizon,
                group_id=group_id,
            )
        legs.append(new)
    return legs


async def _request_payment(uow: UnitOfWork, group_id: uuid.UUID) -> None:
    """A group without documents asks payments for the total at once (its initial event)."""
    group = await uow.groups.get(group_id)
    assert group is not None
    legs = await uow.groups.legs(group_id)
    await uow.emit(
        messages.checkout_requested(group, legs),
        key=str(group_id),
        correlation_id=group["correlation_id"],
    )
