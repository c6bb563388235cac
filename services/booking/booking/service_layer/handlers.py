"""Booking's side of the checkout saga: react to payment facts and catalogue updates.

Each handler takes a unit of work on the consumer's transaction (the routing table builds one
per consumed event, `entrypoints/consumers.on_uow`), so its effects commit with the inbox row.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Generic, TypeGuard, TypeVar

import asyncpg

from booking import metrics
from booking.config import claim_windows as default_claim_windows
from booking.domain.holds import HoldRule
from booking.domain.model import (
    BOOKING_FAILED,
    Booking,
    BookingStatus,
    PaymentStatus,
    Trigger,
    capture_out_of_order,
    void_out_of_order,
)
from booking.features.amendments import service as amendments
from booking.features.bank_debits.domain import CARD
from booking.features.bank_debits.service import BankDebitHandlers
from booking.features.checkout.service import checkout_charged, payment_secured
from booking.features.claims import service as claims
from booking.features.claims.domain.rules import ClaimWindows
from booking.features.groups.service import GroupPayments
from booking.features.receipts import service as receipts
from booking.service_layer import booking_messages as messages
from booking.service_layer import (
    booking_timers,
    lifecycle,
    payment_due,
    payment_facts,
)
from booking.service_layer.endings import end_booking
from booking.service_layer.payment_facts import PaymentAbout
from booking.service_layer.publishing import Cause
from booking.service_layer.reauthorization import (
    ExpiringAuthorizationPolicy,
    failure_detail,
    record_renewal,
    request_renewal,
)
from booking.service_layer.timer_kinds import HOLD_EXPIRY, REQUEST_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.catalog import ListingUpsertedV1
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    HostAccountUpdatedV1,
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentMethodSavedV1,
    PaymentReauthorizedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
)

Fact = TypeVar("Fact", PaymentFailedV1, PaymentCapturedV1 | PaymentCapturedV2)
SubjectAnswer = Callable[[UnitOfWork, Envelope, Fact, uuid.UUID], Awaitable[None]]
ClaimAnswer = Callable[[UnitOfWork, Envelope, Fact, uuid.UUID], Awaitable[None]]
GroupAnswer = Callable[[UnitOfWork, Envelope, Fact], Awaitable[None]]


@dataclass(frozen=True)
class ChargeAnswers(Generic[Fact]):
    """Payments' answer to a charge a feature asked for (a damage claim's, an amendment's extra
    charge, a group's checkout) goes to that feature; one set for failed, one for captured."""

    claim: ClaimAnswer[Fact]
    extra_charge: SubjectAnswer[Fact]
    group: GroupAnswer[Fact]

    async def answer(
        self, uow: UnitOfWork, env: Envelope, event: Fact, about: payment_facts.PaymentAbout
    ) -> bool:
        """True when the payment was a feature's and it took the answer."""
        if about.purpose == payment_facts.GROUP_CHECKOUT:
            await self.group(uow, env, event)
            return True
        if about.purpose not in (payment_facts.DEPOSIT_CLAIM, payment_facts.EXTRA_CHARGE):
            return False
        assert about.subject_id is not None
        if about.purpose == payment_facts.DEPOSIT_CLAIM:
            await self.claim(uow, env, event, about.subject_id)
        else:
            await self.extra_charge(uow, env, event, about.subject_id)
        return True


def charged_at_checkout(
    event: PaymentCapturedV1 | PaymentCapturedV2, about: PaymentAbout
) -> TypeGuard[PaymentCapturedV2]:
    """A single booking's checkout paid by card, captured: charged at checkout (an Instant
    Book), or captured at its confirmation."""
    return (
        isinstance(event, PaymentCapturedV2)
        and about.purpose == payment_facts.CHECKOUT
        and event.group_id is None
        and event.charge_request_id is None
        and event.payment_method_type == CARD
    )


def _charge_reaches(row: asyncpg.Record, event: PaymentCapturedV2) -> bool:
    """Whether a checkout's card capture is a charge at checkout reaching its booking: pending
    (Instant Book, of the booking's amount: it confirms) or ended while it was (the charge is
    given back). A capture at confirmation finds the booking confirmed."""
    if row["status"] == BookingStatus.PENDING_PAYMENT:
        return (
            Booking.of(row).allows(Trigger.PAYMENT_CAPTURED)
            and event.amount == row["amount"]
            and event.currency == row["currency"]
        )
    return row["status"] in CHECKOUT_ENDED


# Where a checkout still waiting for its payment ends (its hold ran out, or its payment failed).
CHECKOUT_ENDED = (BookingStatus.EXPIRED, BookingStatus.FAILED)


# The transition each way of securing the guest's money makes, and the payment status it sets.
SECURED_BY: dict[type, tuple[Trigger, PaymentStatus]] = {
    PaymentAuthorizedV1: (Trigger.PAYMENT_AUTHORIZED, PaymentStatus.AUTHORIZED),
    PaymentMethodSavedV1: (Trigger.PAYMENT_METHOD_SAVED, PaymentStatus.SAVED),
}


class BookingHandlers:
    def __init__(
        self,
        outbox: Outbox,
        payment_window: timedelta = timedelta(hours=48),
        expiring_authorization_policy: ExpiringAuthorizationPolicy = "reauthorize",
        hold_rule: HoldRule = HoldRule(),
        claim_windows: ClaimWindows | None = None,
        returned_debit_pay_window: timedelta | None = None,  # None: the setting's default
    ) -> None:
        self.outbox = outbox
        self.claim_windows = claim_windows or default_claim_windows()
        self.payment_window = payment_window
        self.expiring_authorization_policy = expiring_authorization_policy
        self.hold_rule = hold_rule
        self.bank_debits = BankDebitHandlers(returned_debit_pay_window)
        self.groups = GroupPayments(expiring_authorization_policy, hold_rule)

    # Built on each fact, not once: the features' handlers stay replaceable (tests patch them).
    @property
    def charge_failed(self) -> ChargeAnswers[PaymentFailedV1]:
        claim = partial(claims.on_charge_failed, windows=self.claim_windows)
        return ChargeAnswers(claim, amendments.on_charge_failed, self.groups.on_payment_failed)

    @property
    def charge_captured(self) -> ChargeAnswers[PaymentCapturedV1 | PaymentCapturedV2]:
        claim = partial(claims.on_charge_captured, windows=self.claim_windows)
        return ChargeAnswers(claim, amendments.on_charge_captured, self.groups.on_payment_captured)

    async def _load(self, uow: UnitOfWork, booking_id: str) -> asyncpg.Record:
        row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
        if row is None:
            raise PermanentError(f"booking {booking_id} does not exist")
        return row

    async def on_listing_upserted(
        self, uow: UnitOfWork, env: Envelope, event: ListingUpsertedV1
    ) -> None:
        await uow.bookings.upsert_listing(event.model_dump(), env.occurred_at)

    async def on_host_account_updated(
        self, uow: UnitOfWork, env: Envelope, event: HostAccountUpdatedV1
    ) -> None:
        """Keep whether each host can take charges (only a newer report replaces one)."""
        await uow.bookings.save_host_account(
            event.host_account_id,
            event.charges_enabled,
            event.payouts_enabled,
            event.updated_at,
        )

    async def on_payment_secured(
        self, uow: UnitOfWork, env: Envelope, event: PaymentAuthorizedV1 | PaymentMethodSavedV1
    ) -> None:
        """The guest's money is secured (held, or card saved): confirm or ask the host."""
        if event.group_id is not None:
            await receipts.remember_card(uow, event)
            await self.groups.on_payment_secured(uow, env, event)
            return
        trigger, payment_status = SECURED_BY[type(event)]
        row = await self._load(uow, event.booking_id)
        if row["status"] != BookingStatus.PENDING_PAYMENT:  # no transition to carry the card
            await receipts.remember_card(uow, event)
        await payment_secured(uow, env, row, event, trigger, payment_status)

    # Payments' two ways of securing the money differ only in the transition they make.
    on_payment_authorized = on_payment_secured
    on_payment_method_saved = on_payment_secured

    async def on_payment_failed(
        self, uow: UnitOfWork, env: Envelope, event: PaymentFailedV1
    ) -> None:
        about = payment_facts.payment_about(event)
        if await self.charge_failed.answer(uow, env, event, about):
            return
        row = await self._load(uow, event.booking_id)
        if row["payment_status"] == PaymentStatus.CAPTURED:
            raise PermanentError(
                f"out_of_order: a failure of payment {event.payment_id} for booking "
                f"{event.booking_id}, whose payment is captured: a captured payment cannot fail"
            )
        if row["status"] in (BookingStatus.CONFIRMED, BookingStatus.PAYMENT_DUE):
            # An off-session charge (or the guest's retry) failed after confirmation.
            await payment_due.charge_failed(uow, env, row, event, self.payment_window)
            return
        if row["status"] != BookingStatus.PENDING_PAYMENT:
            return
        # Leaving the holding statuses releases the slot (the exclusion constraint's WHERE).
        detail = event.decline_code or event.code
        failed = {BOOKING_FAILED: lambda: messages.failed(row, None, "payment_declined", detail)}
        await lifecycle.apply(
            uow,
            row,
            Trigger.PAYMENT_FAILED,
            failed,
            Cause.of(env),
            payment_status=PaymentStatus.FAILED.value,
            payment_id=event.payment_id,
            failure_reason="payment_declined" if event.code == "card_declined" else event.code,
            failure_detail=event.message or event.decline_code or "",
        )
        metrics.stage_done("payment_failed", row["mode"], row["created_at"])
        await uow.timers.cancel(HOLD_EXPIRY, event.booking_id)

    async def on_payment_captured(
        self, uow: UnitOfWork, env: Envelope, event: PaymentCapturedV1 | PaymentCapturedV2
    ) -> None:
        about = payment_facts.payment_about(event)
        row = None
        if charged_at_checkout(event, about):
            row = await self._load(uow, event.booking_id)
            if _charge_reaches(row, event):
                await self._charged_at_checkout(uow, env, row, event, about)
                return
        await receipts.issue_for_capture(uow, env, event, about.purpose)
        if await self.charge_captured.answer(uow, env, event, about):
            return
        if row is None:
            row = await self._load(uow, event.booking_id)
        if capture_out_of_order(row["status"]):
            raise PermanentError(
                f"out_of_order: a capture of payment {event.payment_id} for booking "
                f"{event.booking_id}, which is {row['status']}: payments captures a booking "
                "only once it is confirmed"
            )
        if await self.bank_debits.on_payment_captured(uow, env, event, row):  # ACH bookings
            return
        if row["status"] == BookingStatus.PAYMENT_DUE:
            await payment_due.payment_received(uow, env, row, event)
            return
        await uow.bookings.change_booking(
            row["booking_id"], row["version"], payment_status=PaymentStatus.CAPTURED.value
        )
        metrics.captured(row["mode"], row["created_at"], row["updated_at"])

    async def _charged_at_checkout(
        self,
        uow: UnitOfWork,
        env: Envelope,
        row: asyncpg.Record,
        event: PaymentCapturedV2,
        about: PaymentAbout,
    ) -> None:
        """An Instant Book's charge at checkout: the booking confirmed with its card (or, ended,
        the card kept for the receipts of the charge and of its refund), then its receipt."""
        if row["status"] != BookingStatus.PENDING_PAYMENT:  # no transition to carry the card
            await receipts.remember_card(uow, event)
        await checkout_charged(uow, env, row, event)
        await receipts.issue_for_capture(uow, env, event, about.purpose, booking=row)

    async def on_payment_voided(
        self, uow: UnitOfWork, env: Envelope, event: PaymentVoidedV1
    ) -> None:
        if event.group_id is not None:
            await self.groups.on_payment_voided(uow, env, event)
            return
        row = await self._load(uow, event.booking_id)
        if void_out_of_order(row["status"]):
            raise PermanentError(
                f"out_of_order: a void of payment {event.payment_id} for booking "
                f"{event.booking_id}, which is {row['status']}: payments voids a booking's "
                "authorization only once the booking failed"
            )
        await uow.bookings.change_booking(
            row["booking_id"], row["version"], payment_status=PaymentStatus.VOIDED.value
        )

    async def on_authorization_expiring(
        self, uow: UnitOfWork, env: Envelope, event: AuthorizationExpiringV1
    ) -> None:
        """No authorization lapses silently: a confirmed booking's capture is asked for again;
        a request its host has not answered is renewed off-session (policy `reauthorize`) or
        released (booking_failed voids the hold); see `reauthorization`."""
        if event.group_id is not None:
            await self.groups.on_authorization_expiring(uow, env, event)
            return
        row = await self._load(uow, event.booking_id)
        if row["status"] == BookingStatus.CONFIRMED and row["payment_status"] == "authorized":
            # Not a transition: payments is asked again to capture before the hold lapses.
            await uow.emit(
                messages.confirmed(row, event.payment_id),
                key=event.booking_id,
                correlation_id=row["correlation_id"],
                causation_id=env.event_id,
            )
            return
        if row["status"] != BookingStatus.AWAITING_HOST:
            return
        if self.expiring_authorization_policy == "reauthorize" and await request_renewal(
            uow, env, event, row["correlation_id"]
        ):
            return
        await end_booking(
            uow,
            row,
            Trigger.AUTHORIZATION_EXPIRING,
            "authorization_expiring",
            "the host did not answer before the card authorization would lapse",
            causation_id=env.event_id,
        )
        await uow.timers.cancel(REQUEST_EXPIRY, event.booking_id)

    async def on_payment_reauthorized(
        self, uow: UnitOfWork, env: Envelope, event: PaymentReauthorizedV1
    ) -> None:
        await record_renewal(uow, event)

    async def on_reauthorization_failed(
        self, uow: UnitOfWork, env: Envelope, event: ReauthorizationFailedV1
    ) -> None:
        """The authorization could not be renewed: release the request it held (or the group);
        booking_failed (group_failed) has payments void the old authorization."""
        if event.group_id is not None:
            await self.groups.on_reauthorization_failed(uow, env, event)
            return
        row = await self._load(uow, event.booking_id)
        if row["status"] != BookingStatus.AWAITING_HOST:
            return  # answered, cancelled or released meanwhile
        await end_booking(
            uow,
            row,
            Trigger.AUTHORIZATION_EXPIRING,
            "reauthorization_failed",
            failure_detail(event),
            causation_id=env.event_id,
        )
        await uow.timers.cancel(REQUEST_EXPIRY, event.booking_id)

    # -- durable timers (booking_timers.py) --------------------------------------------------
    async def expire_hold(
        self, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
    ) -> datetime | None:
        return await booking_timers.expire_hold(conn, self.outbox, self.hold_rule, booking_id)

    async def expire_request(
        self, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
    ) -> None:
        await booking_timers.expire_request(conn, self.outbox, booking_id)

    async def complete(
        self, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
    ) -> None:
        await booking_timers.complete(conn, self.outbox, booking_id, self.claim_windows)
