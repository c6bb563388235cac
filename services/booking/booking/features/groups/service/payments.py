"""Linked Booking Groups: payments' facts about the group's one payment, and the end of the
group's checkout hold (its timer, `timers.py`).

Each handler takes booking's unit of work (the consumer's transaction, or the timer's), locks
the group and then its legs (`_lock`), and ignores a fact the group's status no longer expects
(a redelivery, or a fact that lost a race with the group's failure): `Group.expects`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from booking import metrics
from booking.domain.holds import HoldRule
from booking.domain.model import (
    BOOKING_CONFIRMED,
    HOST_ASKED,
    LEG_READY,
    Booking,
    BookingStatus,
    PaymentStatus,
    Trigger,
)
from booking.features.groups import messages
from booking.features.groups.domain import (
    GROUP_HOLD_EXPIRY,
    ExpiringAuthorization,
    Group,
    GroupTrigger,
    host_deadline,
    payment_failure_reason,
)
from booking.features.groups.service.legs import Failure, Row, commit, fail, move_leg, statuses
from booking.service_layer import booking_messages
from booking.service_layer.publishing import Cause
from booking.service_layer.reauthorization import (
    ExpiringAuthorizationPolicy,
    failure_detail,
    request_renewal,
)
from booking.service_layer.timer_kinds import COMPLETION, REQUEST_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.routing import PermanentError
from eventkit.rows import expect_changed
from marketplace_contracts import Envelope, EventModel
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentMethodSavedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
)


class GroupPayments:
    """The group's side of the saga: payments' facts and the hold's end, with the policies
    they follow (what an expiring authorization does, the rule of the group's hold)."""

    def __init__(
        self, expiring_authorization_policy: ExpiringAuthorizationPolicy, hold_rule: HoldRule
    ) -> None:
        self.expiring_authorization_policy = expiring_authorization_policy
        self.hold_rule = hold_rule

    @staticmethod
    async def _lock(uow: UnitOfWork, group_id: str) -> tuple[Row, list[Row]]:
        group = await uow.groups.get(uuid.UUID(group_id), for_update=True)
        if group is None:
            raise PermanentError(f"booking group {group_id} does not exist")
        legs = await uow.groups.legs(group["group_id"], for_update=True)
        return group, legs

    # -- the hold running out ----------------------------------------------------------------
    async def expire_hold(self, uow: UnitOfWork, group_id: uuid.UUID) -> datetime | None:
        """The `group_hold_expiry` timer: documents unsigned or payment not secured when the
        hold ran out (a payment request still in flight at payments is waited for:
        domain/holds.py, and the timer fires again at the time returned)."""
        group = await uow.groups.get(group_id, for_update=True)
        if group is None or not Group.of(group).expects(GroupTrigger.HOLD_EXPIRED):
            return None
        if (later := self.hold_rule.look_again_at(group)) is not None:
            return later
        legs = await uow.groups.legs(group["group_id"], for_update=True)
        failure = Failure(
            GroupTrigger.HOLD_EXPIRED,
            "hold_expired",
            "the group was not signed and paid for before the checkout hold ran out",
        )
        await fail(uow, group, legs, failure)
        return None

    # -- the money secured -------------------------------------------------------------------
    async def on_payment_secured(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: PaymentAuthorizedV1 | PaymentMethodSavedV1,
    ) -> None:
        """The total is authorized (or the card saved): instant legs are ready, Request-to-Book
        legs ask their hosts; with every leg ready, capture."""
        assert event.group_id is not None
        group, legs = await self._lock(uow, event.group_id)
        if Group.of(group).needs_void_of_late_payment():
            # The group failed while payments worked: make sure the authorization is voided.
            late = messages.failed(
                group, event.payment_id, legs, "group_not_pending", f"group is {group['status']}"
            )
            await uow.emit(
                late,
                key=event.group_id,
                correlation_id=env.correlation_id,
                causation_id=env.event_id,
            )
            return
        if not Group.of(group).expects(GroupTrigger.PAYMENT_AUTHORIZED):
            return  # a redelivered fact: applied already
        saved = isinstance(event, PaymentMethodSavedV1)
        trigger = Trigger.PAYMENT_METHOD_SAVED if saved else Trigger.PAYMENT_AUTHORIZED
        payment_status = (PaymentStatus.SAVED if saved else PaymentStatus.AUTHORIZED).value
        for leg in legs:
            await self._secure_leg(uow, env, leg, trigger, payment_status, event.payment_id)
        legs = await uow.groups.legs(group["group_id"])
        await uow.timers.cancel(GROUP_HOLD_EXPIRY, event.group_id)
        step = Group.of(group).payment_secured(statuses(legs))
        next_events = {
            "booking.group_awaiting_hosts": lambda: messages.awaiting_hosts(
                group, event.payment_id, legs
            ),
            "booking.group_capture_requested": lambda: messages.capture_requested(
                group, event.payment_id
            ),
        }
        await commit(
            uow,
            group,
            step,
            next_events,
            env.event_id,
            payment_status=payment_status,
            payment_id=event.payment_id,
        )

    async def _secure_leg(
        self,
        uow: UnitOfWork,
        env: Envelope,
        leg: Row,
        trigger: Trigger,
        payment_status: str,
        payment_id: str,
    ) -> None:
        """An instant leg is ready; a Request-to-Book leg asks its host, from now."""
        cause = Cause.of(env)
        paid = {"payment_status": payment_status, "payment_id": payment_id}
        if Booking.of(leg).next(trigger).status is not BookingStatus.AWAITING_HOST:
            ready = {LEG_READY: lambda: messages.leg_ready(leg, trigger.value)}
            await move_leg(uow, leg, trigger, ready, cause, **paid)
            return
        respond_by = host_deadline(datetime.now(UTC), leg["respond_by"], leg["created_at"])
        asked = {HOST_ASKED: lambda: booking_messages.host_asked(leg, payment_id, respond_by)}
        await move_leg(uow, leg, trigger, asked, cause, **paid, respond_by=respond_by)
        booking_id = str(leg["booking_id"])
        await uow.timers.schedule(REQUEST_EXPIRY, booking_id, respond_by)

    # -- the commit point --------------------------------------------------------------------
    async def on_payment_captured(
        self, uow: UnitOfWork, env: Envelope, event: PaymentCapturedV1 | PaymentCapturedV2
    ) -> None:
        """The commit point: every leg is confirmed, in this one transaction."""
        group_id = getattr(event, "group_id", None)
        assert group_id is not None
        group, legs = await self._lock(uow, group_id)
        if not Group.of(group).expects(GroupTrigger.PAYMENT_CAPTURED):
            return  # a redelivered fact: applied already
        metrics.captured("group", group["created_at"], group["updated_at"])
        captured = PaymentStatus.CAPTURED.value
        for leg in legs:
            confirmed = {BOOKING_CONFIRMED: _confirmed(leg, event.payment_id)}
            await move_leg(
                uow,
                leg,
                Trigger.GROUP_CONFIRMED,
                confirmed,
                Cause.of(env),
                payment_status=captured,
            )
            booking_id = str(leg["booking_id"])
            await uow.timers.schedule(COMPLETION, booking_id, leg["ends_at"])
        legs = await uow.groups.legs(group["group_id"])
        step = Group.of(group).captured(statuses(legs))
        done = {
            "booking.group_confirmed": lambda: messages.confirmed(group, event.payment_id, legs)
        }
        await commit(uow, group, step, done, env.event_id, payment_status=captured)

    async def on_payment_failed(
        self, uow: UnitOfWork, env: Envelope, event: PaymentFailedV1
    ) -> None:
        assert event.group_id is not None
        failure = Failure(
            GroupTrigger.PAYMENT_FAILED,
            payment_failure_reason(event.code),
            event.message or event.decline_code or event.code,
            causation_id=env.event_id,
        )
        failed = PaymentStatus.FAILED.value
        changes = {"payment_status": failed, "payment_id": event.payment_id}
        await self._fail_if_expected(uow, event.group_id, failure, **changes)

    async def on_payment_voided(
        self, uow: UnitOfWork, env: Envelope, event: PaymentVoidedV1
    ) -> None:
        assert event.group_id is not None
        group, legs = await self._lock(uow, event.group_id)
        voided = PaymentStatus.VOIDED.value
        changed = await uow.groups.update(
            group["group_id"], group["version"], payment_status=voided
        )
        expect_changed(changed, f"booking group {event.group_id}")
        for leg in legs:
            await uow.groups.change_leg(leg["booking_id"], leg["version"], payment_status=voided)

    # -- the hold and the authorization running out -------------------------------------------
    async def on_authorization_expiring(
        self, uow: UnitOfWork, env: Envelope, event: AuthorizationExpiringV1
    ) -> None:
        """Hosts still deciding: renew the authorization (policy `reauthorize`) or release the
        group (and void); capturing: ask again."""
        assert event.group_id is not None
        group, legs = await self._lock(uow, event.group_id)
        action = Group.of(group).on_expiring_authorization()
        if action is ExpiringAuthorization.ASK_CAPTURE_AGAIN:
            again = messages.capture_requested(group, event.payment_id)
            await uow.emit(
                again,
                key=event.group_id,
                correlation_id=group["correlation_id"],
                causation_id=env.event_id,
            )
            return
        if action is ExpiringAuthorization.IGNORE:
            return
        if self.expiring_authorization_policy == "reauthorize" and await request_renewal(
            uow, env, event, group["correlation_id"]
        ):
            return
        failure = Failure(
            GroupTrigger.AUTHORIZATION_EXPIRING,
            "authorization_expiring",
            "the hosts did not all answer before the card authorization would lapse",
            causation_id=env.event_id,
        )
        await fail(uow, group, legs, failure)

    async def on_reauthorization_failed(
        self, uow: UnitOfWork, env: Envelope, event: ReauthorizationFailedV1
    ) -> None:
        assert event.group_id is not None
        failure = Failure(
            GroupTrigger.AUTHORIZATION_EXPIRING,
            "reauthorization_failed",
            failure_detail(event),
            causation_id=env.event_id,
        )
        await self._fail_if_expected(uow, event.group_id, failure)

    async def _fail_if_expected(
        self, uow: UnitOfWork, group_id: str, failure: Failure, **changes: Any
    ) -> None:
        """Lock the group and its legs; fail it, unless its status no longer expects the
        failure's trigger (a redelivered fact, or one that lost a race)."""
        group, legs = await self._lock(uow, group_id)
        if Group.of(group).expects(failure.trigger):
            await fail(uow, group, legs, failure, **changes)


def _confirmed(leg: Row, payment_id: str) -> Callable[[], EventModel]:
    return lambda: booking_messages.confirmed(leg, payment_id)
