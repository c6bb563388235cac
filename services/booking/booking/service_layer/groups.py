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

Locks: the group row first, then its legs in booking-id order (`repository.get_booking` with
`for_update` keeps the same order for a single leg), so concurrent commands serialize on the
group instead of deadlocking.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking import metrics
from booking.adapters import repository
from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.groups import GroupStatus, GroupTrigger, group_transition
from booking.domain.holds import HoldRule
from booking.domain.model import BookingStatus, PaymentStatus, Trigger, transition_for
from booking.service_layer import disputes
from booking.service_layer.checkout import (
    AUTHORIZATION_HORIZON,
    COMPLETION,
    REQUEST_EXPIRY,
    booking_view,
    hold_slot,
    new_leg,
    request_signatures,
)
from booking.service_layer.reauthorization import (
    ExpiringAuthorizationPolicy,
    failure_detail,
    request_renewal,
)
from eventkit import scheduler
from eventkit.outbox import Outbox
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    DocumentsSignedV1,
    GroupAwaitingHostsV1,
    GroupCaptureRequestedV1,
    GroupCheckoutRequestedV1,
    GroupConfirmedV1,
    GroupFailedV1,
    GroupLeg,
    HostResponseRequestedV1,
    LegReadyV1,
)
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

GROUP_HOLD_EXPIRY = "group_hold_expiry"
MAX_LEGS = 10
# Leg statuses a failing group releases (everything that still holds a slot before commit).
_OPEN_LEGS = (
    BookingStatus.AWAITING_SIGNATURES,
    BookingStatus.PENDING_PAYMENT,
    BookingStatus.AWAITING_HOST,
    BookingStatus.AWAITING_GROUP,
)


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


async def place_group(
    conn: asyncpg.Connection,
    outbox: Outbox,
    cmd: PlaceGroup,
    hold_ttl: timedelta = timedelta(minutes=15),
    response_window: timedelta | None = None,
    authorization_horizon: timedelta = AUTHORIZATION_HORIZON,
) -> dict[str, Any]:
    """Hold every leg or none: runs in a savepoint, so a refused leg undoes the others."""
    if not 2 <= len(cmd.legs) <= MAX_LEGS:
        raise BookingError(ErrorCode.VALIDATION_FAILED, f"a booking group has 2 to {MAX_LEGS} legs")
    group_id = uuid.uuid4()
    correlation_id = cmd.correlation_id or uuid.uuid4()
    async with conn.transaction():
        legs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for number, leg in enumerate(cmd.legs, start=1):
            try:
                legs.append(
                    await new_leg(
                        conn,
                        guest_id=cmd.guest_id,
                        listing_id=leg.listing_id,
                        starts_at=leg.starts_at,
                        ends_at=leg.ends_at,
                        payment_method=cmd.payment_method,
                        correlation_id=correlation_id,
                        response_window=response_window,
                        authorization_horizon=authorization_horizon,
                        group_id=group_id,
                        guests=leg.guests,
                        extras=leg.extras,
                        client=(cmd.client_ip, cmd.user_agent),
                    )
                )
            except BookingError as exc:
                raise BookingError(exc.code, f"leg {number}: {exc.message}") from None
        currencies = sorted({booking["currency"] for booking, _ in legs})
        if len(currencies) > 1:
            raise BookingError(
                ErrorCode.MIXED_CURRENCIES,
                f"one payment cannot cover legs in {', '.join(currencies)}",
            )
        total = sum(booking["amount"] for booking, _ in legs)
        limits.check_charge(total, currencies[0], "the group's total")
        signing = any(documents for _, documents in legs)
        hold_until = datetime.now(UTC) + hold_ttl
        await repository.insert_group(
            conn,
            {
                "group_id": group_id,
                "guest_id": cmd.guest_id,
                "status": (
                    GroupStatus.AWAITING_SIGNATURES if signing else GroupStatus.PENDING_PAYMENT
                ).value,
                "amount": total,
                "platform_fee": sum(booking["platform_fee"] for booking, _ in legs),
                "currency": currencies[0],
                "payment_method": cmd.payment_method,
                "save_for_later": any(booking["save_for_later"] for booking, _ in legs),
                "hold_until": hold_until,
                "correlation_id": correlation_id,
                "client_ip": cmd.client_ip,
                "user_agent": cmd.user_agent,
            },
        )
        for number, (booking, _) in enumerate(legs, start=1):
            try:
                await hold_slot(conn, booking)
            except BookingError as exc:
                raise BookingError(exc.code, f"leg {number}: {exc.message}") from None
        await scheduler.schedule(conn, "booking", GROUP_HOLD_EXPIRY, str(group_id), hold_until)
        for booking, documents in legs:
            if documents:
                await request_signatures(conn, outbox, booking, documents, hold_until)
        if not signing:
            group = await repository.get_group(conn, group_id)
            assert group is not None
            await outbox.add(
                conn,
                _checkout_request(group, await repository.group_legs(conn, group_id)),
                key=str(group_id),
                correlation_id=correlation_id,
            )
    return await group_view(conn, group_id)


def _checkout_request(
    group: asyncpg.Record, legs: list[asyncpg.Record]
) -> GroupCheckoutRequestedV1:
    """What a group asks payments for: one payment for the total, with every leg's share."""
    return GroupCheckoutRequestedV1(
        group_id=str(group["group_id"]),
        guest_id=group["guest_id"],
        amount=group["amount"],
        currency=group["currency"],
        platform_fee=group["platform_fee"],
        payment_method=group["payment_method"],
        save_for_later=group["save_for_later"],
        client_ip=group["client_ip"],
        user_agent=group["user_agent"],
        legs=[
            GroupLeg(
                booking_id=str(leg["booking_id"]),
                listing_id=leg["listing_id"],
                host_id=leg["host_id"],
                host_account_id=leg["host_account_id"],
                starts_at=leg["starts_at"],
                ends_at=leg["ends_at"],
                amount=leg["amount"],
                platform_fee=leg["platform_fee"],
                tax=leg["tax"],
            )
            for leg in legs
        ],
    )


def _statuses(legs: list[asyncpg.Record]) -> tuple[BookingStatus, ...]:
    return tuple(BookingStatus(leg["status"]) for leg in legs)


class Groups:
    """The group's side of the saga: payment facts, timers, and its legs' outcomes."""

    def __init__(
        self,
        outbox: Outbox,
        expiring_authorization_policy: ExpiringAuthorizationPolicy = "reauthorize",
        hold_rule: HoldRule = HoldRule(),
    ) -> None:
        self.outbox = outbox
        self.expiring_authorization_policy = expiring_authorization_policy
        self.hold_rule = hold_rule

    async def _lock(
        self, conn: asyncpg.Connection, group_id: str
    ) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
        group = await repository.get_group(conn, uuid.UUID(group_id), for_update=True)
        if group is None:
            raise PermanentError(f"booking group {group_id} does not exist")
        return group, await repository.group_legs(conn, group["group_id"], for_update=True)

    async def _move_group(
        self,
        conn: asyncpg.Connection,
        group: asyncpg.Record,
        trigger: GroupTrigger,
        legs: list[asyncpg.Record],
        event: Any | None,
        causation_id: uuid.UUID | None = None,
        **changes: Any,
    ) -> GroupStatus:
        """Apply the group's transition for `trigger` given its legs (read after their own
        transitions) and emit `event` if the transition emits one."""
        step = group_transition(GroupStatus(group["status"]), trigger, _statuses(legs))
        await repository.update_group(
            conn, group["group_id"], group["version"], status=step.target.value, **changes
        )
        if step.emits is not None:
            assert event is not None and event.TYPE == step.emits, (step, event)
            await self.outbox.add(
                conn,
                event,
                key=str(group["group_id"]),
                correlation_id=group["correlation_id"],
                causation_id=causation_id,
            )
        return step.target

    # -- docs-before-pay across legs ---------------------------------------------------------
    async def leg_signed(
        self, conn: asyncpg.Connection, leg: asyncpg.Record, envelope_id: str | None
    ) -> None:
        """A leg's documents are all signed (`leg` locked, in awaiting_signatures): the leg
        waits in pending_payment; the last leg to sign asks payments for the total."""
        group = await repository.get_group(conn, leg["group_id"], for_update=True)
        assert group is not None
        step = transition_for(leg, Trigger.DOCUMENTS_SIGNED)
        await repository.update_booking(
            conn, leg["booking_id"], leg["version"], status=step.target.value
        )
        await self.outbox.add(
            conn,
            DocumentsSignedV1(
                booking_id=str(leg["booking_id"]),
                group_id=str(leg["group_id"]),
                envelope_id=envelope_id,
            ),
            key=str(leg["booking_id"]),
            correlation_id=leg["correlation_id"],
        )
        legs = await repository.group_legs(conn, group["group_id"])
        await self._move_group(
            conn, group, GroupTrigger.LEG_SIGNED, legs, _checkout_request(group, legs)
        )

    # -- payments' facts ---------------------------------------------------------------------
    async def on_payment_secured(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        event: PaymentAuthorizedV1 | PaymentMethodSavedV1,
    ) -> None:
        """The total is authorized (or the card saved): instant legs are ready, Request-to-Book
        legs ask their hosts; with every leg ready, capture."""
        assert event.group_id is not None
        group, legs = await self._lock(conn, event.group_id)
        if group["status"] == GroupStatus.FAILED:
            # The group failed while payments worked: make sure the authorization is voided.
            await self.outbox.add(
                conn,
                GroupFailedV1(
                    group_id=event.group_id,
                    payment_id=event.payment_id,
                    reason="group_not_pending",
                    detail=f"group is {group['status']}",
                    booking_ids=[str(leg["booking_id"]) for leg in legs],
                ),
                key=event.group_id,
                correlation_id=env.correlation_id,
                causation_id=env.event_id,
            )
            return
        if group["status"] != GroupStatus.PENDING_PAYMENT:
            return  # a redelivered fact: applied already
        saved = isinstance(event, PaymentMethodSavedV1)
        trigger = Trigger.PAYMENT_METHOD_SAVED if saved else Trigger.PAYMENT_AUTHORIZED
        payment_status = (PaymentStatus.SAVED if saved else PaymentStatus.AUTHORIZED).value
        meta = {"correlation_id": env.correlation_id, "causation_id": env.event_id}
        for leg in legs:
            step = transition_for(leg, trigger)
            booking_id = str(leg["booking_id"])
            asking = step.target is BookingStatus.AWAITING_HOST
            # The host is asked only now (after every leg was signed and paid for): the
            # listing's response window, fixed at checkout, runs from here.
            respond_by = (
                datetime.now(UTC) + (leg["respond_by"] - leg["created_at"]) if asking else None
            )
            await repository.update_booking(
                conn,
                leg["booking_id"],
                leg["version"],
                status=step.target.value,
                payment_status=payment_status,
                payment_id=event.payment_id,
                **({"respond_by": respond_by} if asking else {}),
            )
            if asking:
                assert respond_by is not None
                await scheduler.schedule(conn, "booking", REQUEST_EXPIRY, booking_id, respond_by)
                leg_event: Any = HostResponseRequestedV1(
                    booking_id=booking_id,
                    payment_id=event.payment_id,
                    host_id=leg["host_id"],
                    listing_id=leg["listing_id"],
                    respond_by=respond_by,
                )
            else:
                leg_event = LegReadyV1(
                    booking_id=booking_id, group_id=event.group_id, cause=trigger.value
                )
            await self.outbox.add(conn, leg_event, key=booking_id, **meta)
        legs = await repository.group_legs(conn, group["group_id"])
        waiting = [
            str(leg["booking_id"]) for leg in legs if leg["status"] == BookingStatus.AWAITING_HOST
        ]
        await scheduler.cancel(conn, "booking", GROUP_HOLD_EXPIRY, event.group_id)
        next_event: Any = (
            GroupAwaitingHostsV1(
                group_id=event.group_id, payment_id=event.payment_id, booking_ids=waiting
            )
            if waiting
            else self._capture_request(group, event.payment_id)
        )
        await self._move_group(
            conn,
            group,
            GroupTrigger.PAYMENT_AUTHORIZED,
            legs,
            next_event,
            env.event_id,
            payment_status=payment_status,
            payment_id=event.payment_id,
        )

    @staticmethod
    def _capture_request(group: asyncpg.Record, payment_id: str) -> GroupCaptureRequestedV1:
        return GroupCaptureRequestedV1(
            group_id=str(group["group_id"]),
            payment_id=payment_id,
            amount=group["amount"],
            currency=group["currency"],
        )

    async def leg_accepted(self, conn: asyncpg.Connection, leg: asyncpg.Record) -> None:
        """A host accepted a Request-to-Book leg (`leg` locked, in awaiting_host)."""
        group = await repository.get_group(conn, leg["group_id"], for_update=True)
        assert group is not None
        step = transition_for(leg, Trigger.HOST_ACCEPTED)
        booking_id = str(leg["booking_id"])
        await repository.update_booking(
            conn, leg["booking_id"], leg["version"], status=step.target.value
        )
        await scheduler.cancel(conn, "booking", REQUEST_EXPIRY, booking_id)
        await self.outbox.add(
            conn,
            LegReadyV1(
                booking_id=booking_id,
                group_id=str(leg["group_id"]),
                cause=Trigger.HOST_ACCEPTED.value,
            ),
            key=booking_id,
            correlation_id=leg["correlation_id"],
        )
        legs = await repository.group_legs(conn, group["group_id"])
        await self._move_group(
            conn,
            group,
            GroupTrigger.LEG_READY,
            legs,
            self._capture_request(group, group["payment_id"]),
        )

    async def on_payment_captured(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV1 | PaymentCapturedV2
    ) -> None:
        """The commit point: every leg is confirmed, in this one transaction."""
        group_id = getattr(event, "group_id", None)
        assert group_id is not None
        group, legs = await self._lock(conn, group_id)
        if group["status"] != GroupStatus.CAPTURING:
            return  # a redelivered fact: applied already
        meta = {"correlation_id": env.correlation_id, "causation_id": env.event_id}
        metrics.captured("group", group["created_at"], group["updated_at"])
        for leg in legs:
            step = transition_for(leg, Trigger.GROUP_CONFIRMED)
            booking_id = str(leg["booking_id"])
            await repository.update_booking(
                conn,
                leg["booking_id"],
                leg["version"],
                status=step.target.value,
                payment_status=PaymentStatus.CAPTURED.value,
            )
            await scheduler.schedule(conn, "booking", COMPLETION, booking_id, leg["ends_at"])
            await self.outbox.add(
                conn,
                BookingConfirmedV1(
                    booking_id=booking_id,
                    payment_id=event.payment_id,
                    amount=leg["amount"],
                    currency=leg["currency"],
                ),
                key=booking_id,
                **meta,
            )
        legs = await repository.group_legs(conn, group["group_id"])
        await self._move_group(
            conn,
            group,
            GroupTrigger.PAYMENT_CAPTURED,
            legs,
            GroupConfirmedV1(
                group_id=group_id,
                payment_id=event.payment_id,
                booking_ids=[str(leg["booking_id"]) for leg in legs],
                amount=group["amount"],
                currency=group["currency"],
            ),
            env.event_id,
            payment_status=PaymentStatus.CAPTURED.value,
        )

    async def on_payment_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentFailedV1
    ) -> None:
        assert event.group_id is not None
        group, legs = await self._lock(conn, event.group_id)
        if group["status"] not in (GroupStatus.PENDING_PAYMENT, GroupStatus.CAPTURING):
            return
        reason = "payment_declined" if event.code == "card_declined" else event.code
        await self.fail(
            conn,
            group,
            legs,
            GroupTrigger.PAYMENT_FAILED,
            reason,
            event.message or event.decline_code or event.code,
            causation_id=env.event_id,
            payment_status=PaymentStatus.FAILED.value,
            payment_id=event.payment_id,
        )

    async def on_payment_voided(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentVoidedV1
    ) -> None:
        assert event.group_id is not None
        group, legs = await self._lock(conn, event.group_id)
        await repository.update_group(
            conn, group["group_id"], group["version"], payment_status=PaymentStatus.VOIDED.value
        )
        for leg in legs:
            await repository.update_booking(
                conn, leg["booking_id"], leg["version"], payment_status=PaymentStatus.VOIDED.value
            )

    # -- failures ----------------------------------------------------------------------------
    async def expire_hold(
        self, conn: asyncpg.Connection, group_id: str, _payload: dict[str, object]
    ) -> datetime | None:
        """Durable timer: documents unsigned or payment not secured when the hold ran out
        (a payment request still in flight at payments is waited for: domain/holds.py)."""
        group = await repository.get_group(conn, uuid.UUID(group_id), for_update=True)
        if group is None or group["status"] not in (
            GroupStatus.AWAITING_SIGNATURES,
            GroupStatus.PENDING_PAYMENT,
        ):
            return None
        if (later := self.hold_rule.look_again_at(group)) is not None:
            return later
        legs = await repository.group_legs(conn, group["group_id"], for_update=True)
        await self.fail(
            conn,
            group,
            legs,
            GroupTrigger.HOLD_EXPIRED,
            "hold_expired",
            "the group was not signed and paid for before the checkout hold ran out",
        )
        return None

    async def on_authorization_expiring(
        self, conn: asyncpg.Connection, env: Envelope, event: AuthorizationExpiringV1
    ) -> None:
        """Hosts still deciding: renew the authorization (policy `reauthorize`) or release the
        group (and void); capturing: ask again."""
        assert event.group_id is not None
        group, legs = await self._lock(conn, event.group_id)
        if group["status"] == GroupStatus.CAPTURING:
            await self.outbox.add(
                conn,
                self._capture_request(group, event.payment_id),
                key=event.group_id,
                correlation_id=group["correlation_id"],
                causation_id=env.event_id,
            )
            return
        if group["status"] != GroupStatus.AWAITING_HOSTS:
            return
        if self.expiring_authorization_policy == "reauthorize" and await request_renewal(
            conn, self.outbox, env, event, group["correlation_id"]
        ):
            return
        await self.fail(
            conn,
            group,
            legs,
            GroupTrigger.AUTHORIZATION_EXPIRING,
            "authorization_expiring",
            "the hosts did not all answer before the card authorization would lapse",
            causation_id=env.event_id,
        )

    async def on_reauthorization_failed(
        self, conn: asyncpg.Connection, env: Envelope, event: ReauthorizationFailedV1
    ) -> None:
        assert event.group_id is not None
        group, legs = await self._lock(conn, event.group_id)
        if group["status"] != GroupStatus.AWAITING_HOSTS:
            return
        await self.fail(
            conn,
            group,
            legs,
            GroupTrigger.AUTHORIZATION_EXPIRING,
            "reauthorization_failed",
            failure_detail(event),
            causation_id=env.event_id,
        )

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
        group = await repository.get_group(conn, leg["group_id"], for_update=True)
        assert group is not None
        if group["status"] not in (
            GroupStatus.AWAITING_SIGNATURES,
            GroupStatus.PENDING_PAYMENT,
            GroupStatus.AWAITING_HOSTS,
        ):
            return
        legs = await repository.group_legs(conn, group["group_id"], for_update=True)
        await self.fail(
            conn,
            group,
            legs,
            GroupTrigger.LEG_FAILED,
            reason,
            detail,
            failed_booking_id=leg["booking_id"],
            causation_id=causation_id,
        )

    async def fail(
        self,
        conn: asyncpg.Connection,
        group: asyncpg.Record,
        legs: list[asyncpg.Record],
        trigger: GroupTrigger,
        reason: str,
        detail: str,
        failed_booking_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
        **changes: Any,
    ) -> None:
        """Compensate: release every open leg and tell payments to void, in one transaction."""
        group_id = str(group["group_id"])
        for leg in legs:
            if leg["status"] not in _OPEN_LEGS:
                continue  # the leg that failed the group, ended by its own transition
            step = transition_for(leg, Trigger.GROUP_FAILED)
            booking_id = str(leg["booking_id"])
            await repository.update_booking(
                conn,
                leg["booking_id"],
                leg["version"],
                status=step.target.value,
                failure_reason="group_failed",
                failure_detail=f"{reason}: {detail}",
            )
            await scheduler.cancel(conn, "booking", REQUEST_EXPIRY, booking_id)
            await self.outbox.add(
                conn,
                # The group's authorization is voided once, on booking.group_failed.
                BookingFailedV1(
                    booking_id=booking_id, payment_id=None, reason="group_failed", detail=reason
                ),
                key=booking_id,
                correlation_id=group["correlation_id"],
                causation_id=causation_id,
            )
        await scheduler.cancel(conn, "booking", GROUP_HOLD_EXPIRY, group_id)
        legs = await repository.group_legs(conn, group["group_id"])
        payment_id = changes.get("payment_id", group["payment_id"])
        await self._move_group(
            conn,
            group,
            trigger,
            legs,
            GroupFailedV1(
                group_id=group_id,
                payment_id=payment_id,
                reason=reason,
                detail=detail,
                failed_booking_id=str(failed_booking_id) if failed_booking_id else None,
                booking_ids=[str(leg["booking_id"]) for leg in legs],
            ),
            causation_id,
            failure_reason=reason,
            failure_detail=detail,
            failed_booking_id=failed_booking_id,
            **changes,
        )


async def group_view(conn: asyncpg.Connection, group_id: uuid.UUID) -> dict[str, Any]:
    group = await repository.get_group(conn, group_id)
    assert group is not None
    legs = await repository.group_legs(conn, group_id)
    return {
        "group_id": str(group["group_id"]),
        "status": group["status"],
        "payment_status": group["payment_status"],
        "guest_id": group["guest_id"],
        "amount": group["amount"],
        "platform_fee": group["platform_fee"],
        "currency": group["currency"],
        "payment_id": group["payment_id"],
        "hold_until": group["hold_until"].isoformat(),
        "failure_reason": group["failure_reason"],
        "failure_detail": group["failure_detail"],
        "failed_booking_id": str(group["failed_booking_id"])
        if group["failed_booking_id"]
        else None,
        "version": group["version"],
        "authorization_renewed_at": group["authorization_renewed_at"].isoformat()
        if group["authorization_renewed_at"]
        else None,
        "next_action": json.loads(group["next_action"])
        if group["next_action"] and group["status"] == "pending_payment"
        else None,
        "created_at": group["created_at"].isoformat(),
        "updated_at": group["updated_at"].isoformat(),
        "legs": [booking_view(leg) for leg in legs],
    }


async def visible_group(
    conn: asyncpg.Connection, group_id: uuid.UUID, guest_id: str | None, *, staff: bool = False
) -> dict[str, Any]:
    """The group for its guest (`guest_id`) or staff (None); 404 for anyone else. Each leg
    shows the dispute on the group's payment (details for `staff` only)."""
    group = await repository.get_group(conn, group_id)
    if group is None or (guest_id is not None and group["guest_id"] != guest_id):
        raise BookingError(ErrorCode.GROUP_NOT_FOUND, f"booking group {group_id} not found")
    view = await group_view(conn, group_id)
    dispute = await disputes.dispute_of_group(conn, group, staff=staff)
    view["legs"] = [{**leg, "dispute": dispute} for leg in view["legs"]]
    return view
