"""Payments' side of the checkout saga (single bookings; Linked Booking Groups share the
checkout path here, their capture and void are in `groups`).

Each Stripe call happens in `prepare`, outside any transaction and without row locks, with a
deterministic idempotency key; `apply` then records the outcome and the resulting event in one
transaction with the inbox row. A crash between the two repeats the call, which Stripe (or the
simulator) answers from its idempotency cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from domainkit.rows import from_attrs
from eventkit.outbox import Outbox
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
)
from marketplace_contracts.events.payments import (
    PaymentVoidedV1,
)
from payments.adapters.stripe_disputes import StripeDisputes
from payments.adapters.stripe_gateway import (
    PaymentIntentResult,
    SetupIntentResult,
    StripeGateway,
    StripeGatewayError,
)
from payments.domain.checkout import CHECKOUT, Checkout, InvalidCheckout
from payments.domain.ids import idempotency_key, intent_key
from payments.domain.payment import VOIDABLE, Payment, PaymentStatus, PaymentTrigger
from payments.domain.refunds import CHECKOUT_FAILED, RefundOrder
from payments.service_layer import commands, lifecycle
from payments.service_layer.bank_debits import US_BANK_ACCOUNT, BankDebits
from payments.service_layer.captures import record_captured
from payments.service_layer.card_authorizations import Authorization, record_card_authorization
from payments.service_layer.charges import ExtraCharges
from payments.service_layer.deposits import Deposits, deposit_failure
from payments.service_layer.dispute_actions import DisputeActions
from payments.service_layer.groups import GroupPayments
from payments.service_layer.reauthorization import Reauthorizations, raise_if_renewed
from payments.service_layer.refund_effects import RefundOutcome
from payments.service_layer.refunds import DEFAULT_MAX_ATTEMPTS, Refunds
from payments.service_layer.reversals import Reversals
from payments.service_layer.saved_cards import SavedCards
from payments.service_layer.transfers import Transfers
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases


def _booking_checkout(event: CheckoutRequestedV1) -> Checkout:
    try:
        return commands.booking_checkout(event)
    except InvalidCheckout as exc:
        raise PermanentError(f"checkout of {event.booking_id} refused: {exc}") from exc


def _group_checkout(event: GroupCheckoutRequestedV1) -> Checkout:
    try:
        return commands.group_checkout(event)
    except InvalidCheckout as exc:
        raise PermanentError(f"group checkout {event.group_id} refused: {exc}") from exc


class PaymentHandlers(StripeUseCases[StripeGateway]):
    def __init__(
        self,
        db: Callable[[], asyncpg.Pool],
        outbox: Outbox,
        stripe: StripeGateway,
        *,
        refund_max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        refund_retry_backoff: float = 0.2,
    ) -> None:
        super().__init__(db, outbox, stripe)
        self.saved = SavedCards(db, outbox, stripe)
        self.bank_debits = BankDebits(db, outbox, stripe, self.saved)
        self.groups = GroupPayments(db, outbox, stripe, self.saved)
        self.charges = ExtraCharges(db, outbox, stripe)
        self.deposits = Deposits(db, stripe)
        self.transfers = Transfers(db, outbox, stripe)
        self.reversals = Reversals(db, outbox, stripe)
        self.reauthorizations = Reauthorizations(db, outbox, stripe)
        self.dispute_actions = DisputeActions(db, outbox, StripeDisputes(stripe))
        self.refunds = Refunds(
            db,
            outbox,
            stripe,
            max_attempts=refund_max_attempts,
            retry_backoff=refund_retry_backoff,
        )

    # -- checkout requested: authorize with manual capture (or save the card) --------------
    async def authorize(self, env: Envelope, event: CheckoutRequestedV1) -> Authorization | None:
        return await self.start_checkout(_booking_checkout(event))

    async def record_authorization(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: CheckoutRequestedV1,
        auth: Authorization | None,
    ) -> None:
        await self.record_checkout(uow, env, _booking_checkout(event), auth)

    # -- group checkout requested: one payment for every leg --------------------------------
    async def authorize_group(
        self, env: Envelope, event: GroupCheckoutRequestedV1
    ) -> Authorization | None:
        return await self.start_checkout(_group_checkout(event))

    async def record_group_authorization(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: GroupCheckoutRequestedV1,
        auth: Authorization | None,
    ) -> None:
        await self.record_checkout(uow, env, _group_checkout(event), auth)

    # -- what both checkouts share ---------------------------------------------------------
    async def start_checkout(self, checkout: Checkout) -> Authorization | None:
        """The Stripe side of a checkout (outside any transaction): find or create the guest's
        customer, then authorize or save the card. None if the payment is recorded already."""
        payments = self.payments
        recorded, stored = await payments.checkout_state(checkout.payment_id, checkout.guest_id)
        if recorded:
            return None  # recorded already; record_checkout() will skip too
        customer = stored
        try:
            customer = stored or await self._new_customer(checkout.guest_id)
            try:
                deposit, result = await self._secure_then_start(checkout, customer)
            except StripeGatewayError as exc:
                if not (stored and exc.code == "resource_missing" and exc.param == "customer"):
                    raise
                # Stripe no longer knows the saved customer (deleted in the dashboard, or a
                # simulator reset): forget it and pay with a fresh one instead of failing
                # every checkout of this guest from now on.
                await payments.forget_customer(checkout.guest_id, stored)
                customer = await self._new_customer(checkout.guest_id, replacing=stored)
                deposit, result = await self._secure_then_start(checkout, customer)
        except StripeGatewayError as exc:
            if exc.retryable:
                raise  # the consumer retries with backoff, then dead-letters
            return Authorization(customer, None, exc, new_customer=customer != stored)
        return Authorization(customer, result, deposit=deposit, new_customer=customer != stored)

    async def _new_customer(self, guest_id: str, replacing: str | None = None) -> str:
        subject = guest_id if replacing is None else f"{guest_id}:replaces:{replacing}"
        return await self.stripe.create_customer(
            guest_id=guest_id, idempotency_key=idempotency_key("customer", subject)
        )

    async def _secure_then_start(
        self, checkout: Checkout, customer: str
    ) -> tuple[SetupIntentResult | None, PaymentIntentResult | SetupIntentResult]:
        """A security deposit's SetupIntent first (see `deposits`), then the authorization. A
        deposit the card could not be saved for raises its refusal (not retryable): the
        checkout fails like a decline and nothing is held."""
        deposit = await self.deposits.secure(checkout, customer)
        if deposit is not None and (refusal := deposit_failure(deposit)) is not None:
            raise refusal
        return deposit, await self._start(checkout, customer)

    async def _start(
        self, checkout: Checkout, customer: str
    ) -> PaymentIntentResult | SetupIntentResult:
        if checkout.payment_method_type == US_BANK_ACCOUNT:  # ACH Direct Debit
            return await self.bank_debits.debit(checkout, customer)
        if checkout.save_for_later:
            return await self.saved.save(checkout, customer)
        return await self.stripe.authorize(
            amount=checkout.amount,
            currency=checkout.currency,
            payment_method=checkout.payment_method,
            customer=customer,
            # A separate charge: the host's share is a transfer finance releases later.
            application_fee_amount=0,
            destination_account=None,
            transfer_group=checkout.transfer_group,
            metadata=checkout.stripe_metadata,
            # Saved to the guest's customer with the authorization: amendments and overtime
            # charge it off-session later (see `charges`).
            setup_future_usage="off_session",
            # An Instant Book's card is charged at once: its booking confirms on the capture.
            capture=checkout.capture_at_checkout,
            idempotency_key=idempotency_key(
                "charge" if checkout.capture_at_checkout else "authorize", checkout.payment_id
            ),
        )

    async def record_checkout(
        self,
        uow: UnitOfWork,
        env: Envelope,
        checkout: Checkout,
        auth: Authorization | None,
    ) -> None:
        """Record the checkout's payment and its event, once (a redelivery inserts nothing)."""
        if auth is None:
            return
        if auth.customer_id and auth.new_customer:  # a stored one is stored already
            await uow.payments.save_customer(checkout.guest_id, auth.customer_id)
        if checkout.payment_method_type == US_BANK_ACCOUNT:
            await self.bank_debits.record_debit(uow, env, checkout, auth)
            return
        if checkout.save_for_later:
            await self.saved.record_saved(uow, env, checkout, auth)
            # A deposit reuses the card this SetupIntent saved (no second one).
            await self.deposits.record(uow, checkout, auth.customer_id, auth.setup_intent)
            return
        await record_card_authorization(uow, self.deposits, env, checkout, auth)

    # -- booking confirmed: capture -------------------------------------------------------
    async def capture(self, env: Envelope, event: BookingConfirmedV1) -> PaymentIntentResult | None:
        payment = await self.payments.get_payment(event.payment_id)
        if payment is None:
            raise PermanentError(f"payment {event.payment_id} does not exist")
        if payment["group_id"] is not None:
            # A leg of a Linked Booking Group, confirmed because its group's payment was
            # captured (group_capture_requested): nothing is left to take.
            return None
        if (
            payment["status"] == PaymentStatus.SAVED
        ):  # a far-ahead Request-to-Book: charge the saved card
            return await self.saved.charge_off_session(payment)
        if payment["status"] != PaymentStatus.AUTHORIZED:
            return None
        try:
            return await self.stripe.capture(
                payment["payment_intent_id"],
                idempotency_key=intent_key("capture", event.payment_id, payment["renewals"]),
            )
        except StripeGatewayError as exc:
            if exc.retryable:
                raise
            await raise_if_renewed(self.payments, payment)
            raise PermanentError(f"capture of {event.payment_id} refused: {exc}") from exc

    async def record_capture(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: BookingConfirmedV1,
        result: PaymentIntentResult | None,
    ) -> None:
        if result is None:
            return
        payment = await uow.payments.get_payment(event.payment_id)
        assert payment is not None
        if payment["status"] == PaymentStatus.SAVED:
            await self.saved.record_charge(uow, env, event.payment_id, PaymentStatus.SAVED, result)
            return
        await record_captured(
            uow,
            event.payment_id,
            PaymentStatus.AUTHORIZED,
            result,
            env.correlation_id,
            env.event_id,
            payment=payment,
        )

    # -- booking failed: void a hanging authorization, refund a charge made at checkout ----
    async def void(self, env: Envelope, event: BookingFailedV1) -> Released | None:
        if event.payment_id is None:
            return None
        payment = await self.payments.get_payment(event.payment_id)
        if payment is None or payment["group_id"] is not None:
            return None  # a group's payment is voided by group_failed only
        if payment["status"] == PaymentStatus.CAPTURED:
            order = checkout_refund(event, payment)
            if order is None:
                return None
            return await self.refunds.attempt(order, env.correlation_id, env.event_id)
        if payment["status"] not in VOIDABLE:
            return None
        intent_id = payment["payment_intent_id"]
        try:
            return await self.stripe.cancel(
                intent_id,
                idempotency_key=intent_key("cancel", event.payment_id, payment["renewals"]),
            )
        except StripeGatewayError as exc:
            if exc.retryable:
                raise
            if exc.code == UNEXPECTED_STATE and await self._charged_meanwhile(intent_id):
                # The guest finished a charge at checkout's 3-D Secure step as the booking
                # ended: the intent's webhook records the capture, and the booking, ended, has
                # it refunded (booking_not_pending).
                return None
            raise PermanentError(f"void of {event.payment_id} refused: {exc}") from exc

    async def _charged_meanwhile(self, intent_id: str) -> bool:
        return (await self.stripe.retrieve(intent_id)).status == "succeeded"

    async def record_void(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: BookingFailedV1,
        result: Released | None,
    ) -> None:
        if result is None or event.payment_id is None:
            return
        if isinstance(result, RefundOutcome):
            await self.refunds.record(uow, result, env.correlation_id, env.event_id)
            return
        # A single booking's payment (a group's is voided by group_failed): no group.
        voided = {PaymentVoidedV1.TYPE: lambda: from_attrs(PaymentVoidedV1, event, group_id=None)}
        cause = lifecycle.Cause.of(env)
        for held in VOIDABLE:  # authorized, else still waiting for the guest's authentication
            payment = Payment(event.payment_id, held)
            if await lifecycle.apply(
                uow, payment, PaymentTrigger.VOID, voided, cause, stripe_status=result.status
            ):
                return


# booking_failed's reason when a payment reached a booking that had ended meanwhile.
NOT_PENDING = "booking_not_pending"
# Stripe's refusal of a cancel of an intent that is past cancelling (captured, or cancelled).
UNEXPECTED_STATE = "payment_intent_unexpected_state"
# What a failed booking's payment gets back: its authorization voided (the intent as Stripe
# answered), or its charge at checkout refunded.
Released = PaymentIntentResult | RefundOutcome


def checkout_refund(event: BookingFailedV1, payment: Mapping[str, Any]) -> RefundOrder | None:
    """The full refund of a checkout charged at once (`capture_at_checkout`) whose booking had
    ended before the charge reached it (`booking_not_pending`); None for any other captured
    payment (a booking fails only before its confirmation: a capture it asked for cannot be
    undone by a failure)."""
    if event.reason != NOT_PENDING or payment["charge_request_id"] is not None:
        return None
    if payment["payment_purpose"] not in (None, CHECKOUT):
        return None
    amount, fee = payment["captured_amount"], payment["platform_fee"]
    return RefundOrder(
        refund_id=f"rf_checkout_failed_{payment['payment_id']}",
        payment_id=payment["payment_id"],
        booking_id=payment["booking_id"],
        group_id=None,
        amount=amount,
        currency=payment["currency"],
        platform_fee=fee,
        host_amount=amount - fee,
        tax=payment["tax"],
        host_account_id=payment["host_account_id"],
        cause=CHECKOUT_FAILED,
    )
