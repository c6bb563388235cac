"""Extra charges: `booking.charge_requested` (an accepted amendment that costs more, or
overtime) → an off-session charge of the card saved at checkout → `payments.payment_captured`
v2 or `payments.payment_failed`, both carrying the `charge_request_id`.

As everywhere in payments, the Stripe call runs in `prepare`, outside any transaction, with the
deterministic key `payments:charge-request:<charge_request_id>`; `apply` records the charge's
own payment row and its event in the transaction that claims the inbox row. The row is unique
per request (`UNIQUE(booking_id, purpose)`), so a redelivery, or booking asking again, neither
charges (Stripe replays the first answer) nor emits twice.

A transient Stripe failure is raised for the consumer to retry with backoff (then dead-letter).
A decline, the bank wanting the guest present (`authentication_required`), a refusal by Stripe,
or a request payments cannot charge (`domain.charges`) answers payment_failed at once, so that
booking puts the booking back as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from domainkit.rows import from_attrs
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import ChargeRequestedV1
from marketplace_contracts.events.payments import PaymentFailedV1
from payments.adapters.stripe_gateway import PaymentIntentResult, StripeGateway, StripeGatewayError
from payments.domain.charges import ChargeRefused, ExtraCharge, charge_purpose, plan_charge
from payments.domain.ids import charge_payment_id, idempotency_key
from payments.domain.payment import PaymentStatus
from payments.service_layer import commands
from payments.service_layer.captures import payment_captured
from payments.service_layer.deposits import charge_source
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases

log = logging.getLogger("payments.charges")


@dataclass(frozen=True)
class ChargeOutcome:
    """How a charge request ended, for `apply` to write down with its event. `charge` is None
    when the request was refused before anything could be charged (`guest_id`: the guest of
    the payment it named, if there is one)."""

    charge: ExtraCharge | None
    result: PaymentIntentResult | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str = ""
    guest_id: str = ""

    @property
    def succeeded(self) -> bool:
        return self.result is not None and self.result.status == "succeeded"


class ExtraCharges(StripeUseCases[StripeGateway]):
    # -- the consumer's route -----------------------------------------------------------------
    async def prepare(self, env: Envelope, event: ChargeRequestedV1) -> ChargeOutcome | None:
        """Charge once (outside any transaction). None if the request was answered already."""
        answered = await self.payments.get_payment(charge_payment_id(event.charge_request_id))
        if answered is not None:
            return None  # recorded, and its event emitted, by an earlier delivery
        request = commands.charge_request(event)
        source = await charge_source(
            self.db(),
            request,
            await self.payments.get_payment(event.payment_id),
        )
        try:
            charge = plan_charge(request, source)
        except ChargeRefused as exc:
            guest = source["guest_id"] if source is not None else ""
            return ChargeOutcome(None, code=exc.code, message=exc.message, guest_id=guest)
        try:
            result = await self.stripe.charge_off_session(
                amount=charge.amount,
                currency=charge.currency,
                customer=charge.customer_id,
                payment_method=charge.payment_method,
                application_fee_amount=0,
                destination_account=None,
                transfer_group=charge.transfer_group,
                metadata=charge.stripe_metadata,
                capture=True,
                idempotency_key=idempotency_key("charge-request", charge.charge_request_id),
            )
        except StripeGatewayError as exc:
            if exc.retryable:
                raise  # the consumer retries with the same key
            return ChargeOutcome(charge, code=exc.code, message=exc.message)
        if result.status == "succeeded":
            return ChargeOutcome(charge, result)
        return ChargeOutcome(
            charge,
            result,
            code=result.failure_code or f"charge_{result.status}",
            decline_code=result.decline_code,
            message=result.failure_message or "",
        )

    async def apply(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: ChargeRequestedV1,
        outcome: ChargeOutcome | None,
    ) -> None:
        if outcome is None:
            return
        key = charge_payment_id(event.charge_request_id)
        charge = outcome.charge
        row = _payment_row(charge, outcome, env) if charge else _refused_row(event, outcome, env)
        if row is not None and not await uow.payments.insert_payment(row):
            return  # answered by an earlier delivery
        if outcome.succeeded:
            assert charge is not None and outcome.result is not None
            if outcome.result.amount_received != charge.amount:
                raise PermanentError(
                    f"charge request {charge.charge_request_id}: Stripe took "
                    f"{outcome.result.amount_received} of {charge.amount}"
                )
            payment = await uow.payments.get_payment(charge.payment_id)
            assert payment is not None
            captured = payment_captured(payment, outcome.result, (charge.split,))
            await uow.reply(captured, key=key, cause=env)
            return
        log.warning(
            "charge request %s of booking %s failed: %s %s",
            event.charge_request_id,
            event.booking_id,
            outcome.code,
            outcome.message,
        )
        await uow.reply(
            PaymentFailedV1(
                payment_id=key,
                booking_id=event.booking_id,
                code=outcome.code or "charge_failed",
                decline_code=outcome.decline_code,
                message=outcome.message,
                charge_request_id=event.charge_request_id,
                purpose=charge_purpose(commands.charge_request(event)),
                subject_id=event.subject_id,
            ),
            key=key,
            cause=env,
        )


def _payment_row(charge: ExtraCharge, outcome: ChargeOutcome, env: Envelope) -> dict[str, Any]:
    """The charge's own payment: captured, or failed with why."""
    result = outcome.result
    ok = outcome.succeeded
    return {
        **_charge_columns(charge, env),
        "customer_id": charge.customer_id,
        "saved_payment_method": charge.payment_method,
        "status": PaymentStatus.CAPTURED if ok else PaymentStatus.FAILED,
        "captured_amount": result.amount_received if ok and result else 0,
        "payment_intent_id": (result.id or None) if result else None,
        "charge_id": result.charge_id if result else None,
        "stripe_status": result.stripe_status if result else None,
        "card_brand": result.card_brand if result else None,
        "card_last4": result.card_last4 if result else None,
        "failure_code": None if ok else outcome.code,
        "decline_code": None if ok else outcome.decline_code,
        "failure_message": None if ok else outcome.message,
    }


def _refused_row(
    event: ChargeRequestedV1, outcome: ChargeOutcome, env: Envelope
) -> dict[str, Any] | None:
    """A refused request's payment, failed without a Stripe call (no card: an empty
    `payment_method`); None when its amounts cannot be a payment at all (the inbox alone then
    keeps its answer to one)."""
    if not 0 <= event.tax <= event.platform_fee <= event.amount or event.amount <= 0:
        return None
    # The charge as asked, with nothing a checkout payment lent it (its guest, if there is one).
    asked = from_attrs(
        ExtraCharge,
        commands.charge_request(event),
        source_payment_id=event.payment_id,
        guest_id=outcome.guest_id,
        customer_id="",
        payment_method="",
    )
    return {
        **_charge_columns(asked, env),
        "status": PaymentStatus.FAILED,
        "failure_code": outcome.code,
        "failure_message": outcome.message,
    }


def _charge_columns(charge: ExtraCharge, env: Envelope) -> dict[str, Any]:
    """The columns of a charge request's own payment that say what was asked for."""
    return {
        "payment_id": charge.payment_id,
        "booking_id": charge.booking_id,
        "purpose": charge.purpose,
        "payment_purpose": charge.payment_purpose,
        "subject_id": charge.subject_id,
        "charge_request_id": charge.charge_request_id,
        "guest_id": charge.guest_id,
        "amount": charge.amount,
        "platform_fee": charge.platform_fee,
        "tax": charge.tax,
        "currency": charge.currency,
        "host_account_id": charge.host_account_id,
        "group_id": charge.group_id,
        "transfer_group": charge.transfer_group,
        "payment_method": charge.payment_method,
        "correlation_id": env.correlation_id,
    }
