"""Linked Booking Groups after their checkout: capture at the commit point, or release.

A group's payment is taken by the checkout path every checkout shares (`handlers`). Then:
- `booking.group_capture_requested`: every leg is ready. An authorization is captured, a saved
  card is charged off-session; success records the capture (payment_captured v2, one split per
  leg); a decline or a refusal by Stripe fails the payment (`failed`, payment_failed with the
  group id), and booking releases every leg. There is no payment-due retry for a group.
- `booking.group_failed`: an authorization is voided (payment_voided with the group id); a saved
  card took and holds no money, so the payment just ends `cancelled`; a captured payment cannot
  be voided and is dead-lettered, since a group captures only at its commit point.
Per-leg `booking_confirmed` / `booking_failed` events never move a group's money (see
`handlers`). Stripe calls run in `prepare`, recording in `apply`, as everywhere in payments.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from domainkit.rows import from_attrs
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import GroupCaptureRequestedV1, GroupFailedV1
from marketplace_contracts.events.payments import PaymentVoidedV1
from payments.adapters.stripe_gateway import PaymentIntentResult, StripeGatewayError
from payments.domain.ids import checkout_payment_id, intent_key
from payments.domain.payment import VOIDABLE, Payment, PaymentStatus, PaymentTrigger
from payments.service_layer import lifecycle
from payments.service_layer.guards import cancel_authorization, refusal_is_final
from payments.service_layer.reauthorization import raise_if_renewed
from payments.service_layer.saved_cards import SavedCardUseCases
from payments.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class GroupCharge:
    """The outcome of capturing (or charging) a group's payment that was `from_status`."""

    from_status: str
    result: PaymentIntentResult | None = None
    error: StripeGatewayError | None = None


@dataclass(frozen=True)
class GroupRelease:
    """A group's payment to release: an authorization voided at Stripe (`result`), or a saved
    card that will not be charged (`from_status` saved, no Stripe call)."""

    payment_id: str
    from_status: str
    result: PaymentIntentResult | None = None


class GroupPayments(SavedCardUseCases):
    async def _payment(self, payment_id: str, group_id: str) -> asyncpg.Record | None:
        payment = await self.payments.get_payment(payment_id)
        if payment is not None and payment["group_id"] != group_id:
            raise PermanentError(f"payment {payment_id} is not group {group_id}'s payment")
        return payment

    # -- group capture requested: the commit point ------------------------------------------
    async def capture(self, env: Envelope, event: GroupCaptureRequestedV1) -> GroupCharge | None:
        payment = await self._payment(event.payment_id, event.group_id)
        if payment is None:
            raise PermanentError(f"payment {event.payment_id} does not exist")
        if (payment["amount"], payment["currency"]) != (event.amount, event.currency):
            raise PermanentError(
                f"group {event.group_id}: capture of {event.amount} {event.currency} requested, "
                f"the payment is {payment['amount']} {payment['currency']}"
            )
        status = payment["status"]
        if status in (PaymentStatus.CAPTURED, PaymentStatus.FAILED):
            return None  # decided by an earlier delivery
        if status not in (PaymentStatus.AUTHORIZED, PaymentStatus.SAVED):
            raise PermanentError(f"group {event.group_id}: capture requested, payment is {status}")
        try:
            if status == PaymentStatus.SAVED:
                result = await self.saved.charge(payment)
            else:
                result = await self.stripe.capture(
                    payment["payment_intent_id"],
                    idempotency_key=intent_key("capture", event.payment_id, payment["renewals"]),
                )
        except StripeGatewayError as exc:
            if exc.retryable:
                raise  # retried with the same idempotency key
            await raise_if_renewed(self.payments, payment)
            return GroupCharge(status, error=exc)
        return GroupCharge(status, result=result)

    async def record_capture(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: GroupCaptureRequestedV1,
        charge: GroupCharge | None,
    ) -> None:
        if charge is None:
            return
        await self.saved.record_charge(
            uow,
            env,
            event.payment_id,
            charge.from_status,
            charge.result,
            error=charge.error,
            failure=PaymentTrigger.CHARGE_REFUSED,
        )

    # -- group failed: release the payment --------------------------------------------------
    async def void(self, env: Envelope, event: GroupFailedV1) -> GroupRelease | None:
        payment_id = event.payment_id or checkout_payment_id(event.group_id)
        payment = await self._payment(payment_id, event.group_id)
        if payment is None:
            return None  # the group failed before payments took anything
        status = payment["status"]
        if status == PaymentStatus.CAPTURED:
            raise PermanentError(
                f"group {event.group_id} failed ({event.reason}) after its payment {payment_id} "
                "was captured: refund it by hand"
            )
        if status == PaymentStatus.SAVED:
            return GroupRelease(payment_id, status)
        if status not in VOIDABLE:
            return None  # failed, voided or cancelled: nothing is held
        return GroupRelease(payment_id, status, await self._cancel(payment))

    async def _cancel(self, payment: asyncpg.Record) -> PaymentIntentResult:
        intent, payment_id = payment["payment_intent_id"], payment["payment_id"]
        cancel = cancel_authorization(self.stripe, intent, payment_id, payment["renewals"])
        return await refusal_is_final(cancel, f"void of {payment_id}")

    async def record_void(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: GroupFailedV1,
        release: GroupRelease | None,
    ) -> None:
        if release is None:
            return
        payment = Payment(release.payment_id, PaymentStatus(release.from_status))
        if payment.status == PaymentStatus.SAVED:
            # No money was taken or held: the card stays saved to the guest's customer, this
            # payment will just never charge it (a cancellation emits nothing).
            await lifecycle.apply(uow, payment, PaymentTrigger.CANCEL, {}, lifecycle.Cause.of(env))
            return
        assert release.result is not None
        voided = {
            PaymentVoidedV1.TYPE: lambda: from_attrs(
                PaymentVoidedV1, event, payment_id=release.payment_id, booking_id=event.group_id
            )
        }
        await lifecycle.apply(
            uow,
            payment,
            PaymentTrigger.VOID,
            voided,
            lifecycle.Cause.of(env),
            stripe_status=release.result.status,
        )
