"""Request-to-Book far ahead: save the card now, charge it off-session on confirmation.

A card authorization lapses after about 7 days, so booking asks for `save_for_later` when the
stay starts later than that. The SetupIntent runs now; `booking_confirmed` triggers an
off-session charge. If that fails (a decline, or the bank wants the guest present), the
payment becomes `charge_failed`, booking asks the guest to pay, and each
`booking.payment_retry_requested` runs one on-session attempt with its own idempotency keys.
A Linked Booking Group saves its card the same way and is charged when the group is captured
(see `groups`); it has no payment-due flow: its failed charge fails the group.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from eventkit.outbox import Outbox
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import PaymentRetryRequestedV1
from marketplace_contracts.events.payments import PaymentFailedV1, PaymentMethodSavedV1
from payments.adapters.stripe_gateway import (
    PaymentIntentResult,
    SetupIntentResult,
    StripeGateway,
    StripeGatewayError,
)
from payments.domain.checkout import Checkout, is_destination_charge, stripe_metadata
from payments.domain.ids import idempotency_key
from payments.domain.payment import Payment, PaymentStatus, PaymentTrigger
from payments.service_layer import lifecycle
from payments.service_layer.captures import record_captured
from payments.service_layer.card_authorizations import (
    Authorization,
    attempt_columns,
    card_fact,
    checkout_failed,
    record_attempt,
)
from payments.service_layer.guards import existing_payment, refusal_is_final
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases


class SavedCards(StripeUseCases[StripeGateway]):
    async def save(self, checkout: Checkout, customer: str) -> SetupIntentResult:
        return await self.stripe.save_payment_method(
            customer=customer,
            payment_method=checkout.payment_method,
            metadata=checkout.stripe_metadata,
            idempotency_key=idempotency_key("setup", checkout.payment_id),
        )

    async def record_saved(
        self, uow: UnitOfWork, env: Envelope, checkout: Checkout, auth: Authorization
    ) -> None:
        result = auth.setup_intent
        ok = result is not None and result.status == "succeeded" and bool(result.payment_method)
        row = {
            **attempt_columns(env, checkout, auth, ok=ok, status_is_code=True),
            "status": PaymentStatus.SAVED if ok else PaymentStatus.FAILED,
            "setup_intent_id": result.id if result else None,
            "saved_payment_method": result.payment_method if ok and result else None,
            "card_brand": result.card_brand if result else None,
            "card_last4": result.card_last4 if result else None,
        }
        meta = await record_attempt(uow, env, checkout, row)
        if meta is None:
            return
        if ok and result is not None:
            saved = card_fact(PaymentMethodSavedV1, checkout, result, setup_intent_id=result.id)
            await uow.emit(saved, **meta)
        else:
            await uow.emit(checkout_failed(checkout, row, "setup_failed"), **meta)

    async def charge(self, payment: asyncpg.Record) -> PaymentIntentResult:
        """Charge a payment's saved card off-session, in full (a charge of its transfer group;
        a destination charge for a single booking's payment recorded as one). Raises
        StripeGatewayError."""
        destination = payment["host_account_id"] if is_destination_charge(payment) else None
        return await self.stripe.charge_off_session(
            amount=payment["amount"],
            currency=payment["currency"],
            customer=payment["customer_id"],
            payment_method=payment["saved_payment_method"],
            application_fee_amount=payment["platform_fee"] if destination is not None else 0,
            destination_account=destination,
            transfer_group=payment["transfer_group"],
            metadata=stripe_metadata(
                payment["payment_id"], payment["booking_id"], payment["group_id"]
            ),
            capture=True,
            idempotency_key=idempotency_key("charge", payment["payment_id"]),
        )

    async def charge_off_session(self, payment: asyncpg.Record) -> PaymentIntentResult:
        return await refusal_is_final(self.charge(payment))

    async def retry(
        self, env: Envelope, event: PaymentRetryRequestedV1
    ) -> PaymentIntentResult | None:
        payment = await existing_payment(self.payments, event.payment_id)
        if payment["status"] != PaymentStatus.CHARGE_FAILED:
            return None  # paid meanwhile, or not a failed charge
        return await self.pay_on_session(
            payment, event.payment_id, event.payment_method, event.attempt
        )

    async def pay_on_session(
        self, payment: asyncpg.Record, payment_id: str, payment_method: str, attempt: int
    ) -> PaymentIntentResult:
        """One attempt of the guest, present, to pay `payment`'s amount by card as
        `payment_id` (charged like `payment`: of its transfer group, or a destination charge
        for a payment recorded as one): authorize, then capture, with the attempt's own
        idempotency keys. A refusal by Stripe is a PermanentError."""
        key = f"{payment_id}:{attempt}"
        destination = is_destination_charge(payment)
        result = await refusal_is_final(
            self.stripe.authorize(
                amount=payment["amount"],
                currency=payment["currency"],
                payment_method=payment_method,
                customer=payment["customer_id"],
                application_fee_amount=payment["platform_fee"] if destination else 0,
                destination_account=payment["host_account_id"] if destination else None,
                transfer_group=payment["transfer_group"],
                metadata={"booking_id": payment["booking_id"], "payment_id": payment_id},
                idempotency_key=idempotency_key("retry-authorize", key),
            )
        )
        if result.declined or result.status != "requires_capture":
            return result
        return await refusal_is_final(
            self.stripe.capture(result.id, idempotency_key=idempotency_key("retry-capture", key))
        )

    async def record_charge(
        self,
        uow: UnitOfWork,
        env: Envelope,
        payment_id: str,
        from_status: str,
        result: PaymentIntentResult | None,
        *,
        error: StripeGatewayError | None = None,
        failure: PaymentTrigger = PaymentTrigger.CHARGE_DECLINED,
    ) -> None:
        """Captured → payment_captured; a decline or a refusal (`error`) → `failure` (the guest
        may retry, or not) + payment_failed."""
        if result is None and error is None:
            return
        if result is not None and result.status == "succeeded":
            await record_captured(
                uow, payment_id, from_status, result, env.correlation_id, env.event_id
            )
            return
        if result is not None:
            failed = {
                "stripe_status": result.status,
                "payment_intent_id": result.id or None,
                "failure_code": result.failure_code,
                "decline_code": result.decline_code,
                "failure_message": result.failure_message,
            }
        else:
            assert error is not None
            failed = {
                "failure_code": error.code,
                "decline_code": None,
                "failure_message": error.message,
            }
        charged = Payment(payment_id, PaymentStatus(from_status))
        done = await lifecycle.change(uow, charged, failure, **failed)
        if done is None:
            return  # no longer in from_status: recorded by an earlier delivery
        payment = await uow.payments.get_payment(payment_id)
        assert payment is not None
        declined = PaymentFailedV1(
            payment_id=payment_id,
            booking_id=payment["booking_id"],
            code=failed["failure_code"] or (result.status if result else "charge_failed"),
            decline_code=failed["decline_code"],
            message=failed["failure_message"] or "",
            group_id=payment["group_id"],
            purpose=payment["payment_purpose"],
            subject_id=payment["subject_id"],
        )
        builders = {PaymentFailedV1.TYPE: lambda: declined}
        await lifecycle.announce(uow, payment_id, done, builders, lifecycle.Cause.of(env))

    async def record_retry(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: PaymentRetryRequestedV1,
        result: PaymentIntentResult | None,
    ) -> None:
        await self.record_charge(uow, env, event.payment_id, PaymentStatus.CHARGE_FAILED, result)


class SavedCardUseCases(StripeUseCases[StripeGateway]):
    """Use cases that may pay with the card a checkout saved (`SavedCards`, shared)."""

    def __init__(
        self,
        db: Callable[[], asyncpg.Pool],
        outbox: Outbox,
        stripe: StripeGateway,
        saved: SavedCards,
    ) -> None:
        super().__init__(db, outbox, stripe)
        self.saved = saved
