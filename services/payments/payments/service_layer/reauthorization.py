"""Renewing an authorization that nears its limit (`booking.reauthorization_requested`).

A card authorization lapses after about 7 days. When a booking (or a Linked Booking Group) is
still waiting for its host(s) by then and booking's policy is `reauthorize`, payments places a
new authorization for the same amount off-session on the card the checkout saved
(`setup_future_usage=off_session`), with a key derived from the authorization it replaces:

1. prepare: the new off-session authorization (manual capture), outside any transaction;
2. apply: in one transaction, compare-and-set the payment from the old PaymentIntent to the new
   one (`renewals` + 1, `authorized_at` now, so the sweeper reports it again in 6 days), record
   the old one in `payments.replaced_authorizations`, emit `payments.payment_reauthorized`;
3. the sweeper cancels replaced authorizations on Stripe after a grace period, so a capture
   that read the old intent just before the swap finishes first (and one that comes later
   is retried on the new intent; see `handlers.capture`).

If the card declines (or the bank wants the guest present, or no card was saved), nothing
changes and `payments.reauthorization_failed` tells booking to release what the old
authorization holds; booking's `booking_failed` / `group_failed` then voids it as usual. If the
payment was captured or voided meanwhile, the new authorization is not needed: it is recorded
as replaced at once, so the sweeper cancels it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from domainkit.rows import from_attrs
from eventkit.publishing import Cause
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import ReauthorizationRequestedV1
from marketplace_contracts.events.payments import (
    PaymentReauthorizedV1,
    ReauthorizationFailedV1,
)
from payments.adapters.repository import PaymentsRepository
from payments.adapters.stripe_gateway import (
    PaymentIntentResult,
    StripeGateway,
    StripeGatewayError,
)
from payments.domain.checkout import is_destination_charge, stripe_metadata
from payments.domain.ids import idempotency_key
from payments.domain.payment import (
    REAUTHORIZED_EVENT,
    Payment,
    PaymentStatus,
    PaymentTrigger,
)
from payments.service_layer import lifecycle
from payments.service_layer.guards import existing_payment
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases

log = logging.getLogger("payments.reauthorization")

# How long a replaced authorization stays uncancelled: a capture that read it just before the
# swap has this long to reach Stripe.
DEFAULT_CANCEL_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Renewal:
    payment_id: str
    result: PaymentIntentResult | None = None
    failure_code: str | None = None
    failure_message: str = ""


class Reauthorizations(StripeUseCases[StripeGateway]):
    async def prepare(self, env: Envelope, event: ReauthorizationRequestedV1) -> Renewal | None:
        payment = await existing_payment(self.payments, event.payment_id)
        if (
            payment["status"] != PaymentStatus.AUTHORIZED
            or payment["payment_intent_id"] != event.expiring_payment_intent_id
        ):
            return None  # renewed, captured or voided by an earlier delivery or meanwhile
        if not (payment["customer_id"] and payment["saved_payment_method"]):
            return Renewal(
                event.payment_id,
                failure_code="no_saved_payment_method",
                failure_message="the checkout saved no card to authorize again off-session",
            )
        destination = payment["host_account_id"] if is_destination_charge(payment) else None
        try:
            result = await self.stripe.charge_off_session(
                amount=payment["amount"],
                currency=payment["currency"],
                customer=payment["customer_id"],
                payment_method=payment["saved_payment_method"],
                application_fee_amount=payment["platform_fee"] if destination else 0,
                destination_account=destination,
                transfer_group=payment["transfer_group"],
                metadata=stripe_metadata(
                    payment["payment_id"], payment["booking_id"], payment["group_id"]
                ),
                capture=False,
                idempotency_key=idempotency_key(
                    "reauthorize", f"{event.payment_id}:{event.expiring_payment_intent_id}"
                ),
            )
        except StripeGatewayError as exc:
            if exc.retryable:
                raise  # the consumer retries with the same key
            return Renewal(event.payment_id, failure_code=exc.code, failure_message=exc.message)
        return Renewal(event.payment_id, result=result)

    async def apply(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: ReauthorizationRequestedV1,
        renewal: Renewal | None,
    ) -> None:
        if renewal is None:
            return
        result = renewal.result
        if result is None or result.declined or result.status != "requires_capture":
            await self._failed(uow, env, event, renewal)
            return
        # Compare-and-set; None (renewed, captured or voided meanwhile) is handled below.
        row = await uow.payments.swap_authorization(
            event.payment_id,
            event.expiring_payment_intent_id,
            result.id,
            result.status,
        )
        # The old authorization, or (renewed, captured or voided meanwhile) the new one, is
        # not needed any more: the sweeper cancels it after the grace period.
        replaced = event.expiring_payment_intent_id if row is not None else result.id
        inserted = await uow.payments.add_replaced_authorization(
            replaced,
            event.payment_id,
            result.id if row is not None else event.expiring_payment_intent_id,
        )
        if row is None or not inserted:
            return
        log.info(
            "payment %s: authorization %s renewed as %s",
            event.payment_id,
            event.expiring_payment_intent_id,
            result.id,
        )
        # Still authorized (the swap's compare-and-set), with what the table declares for it.
        renewed = Payment(event.payment_id, PaymentStatus.AUTHORIZED).apply(PaymentTrigger.RENEW)
        builders = {
            REAUTHORIZED_EVENT: lambda: from_attrs(
                PaymentReauthorizedV1,
                event,
                payment_intent_id=result.id,
                previous_payment_intent_id=event.expiring_payment_intent_id,
                amount=row["amount"],
                currency=row["currency"],
                authorized_at=row["authorized_at"],
            )
        }
        await lifecycle.announce(uow, event.payment_id, renewed, builders, Cause.of(env))

    async def _failed(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: ReauthorizationRequestedV1,
        renewal: Renewal,
    ) -> None:
        """Stripe refused or declined the new authorization: reauthorization_failed."""
        result = renewal.result
        code = renewal.failure_code or (result.failure_code if result else None)
        await uow.reply(
            from_attrs(
                ReauthorizationFailedV1,
                event,
                code=code or (result.status if result else "reauthorization_failed"),
                decline_code=result.decline_code if result else None,
                message=renewal.failure_message
                or (result.failure_message if result and result.failure_message else ""),
            ),
            key=event.payment_id,
            cause=env,
        )


async def raise_if_renewed(payments: PaymentsRepository, payment: asyncpg.Record) -> None:
    """Stripe refused an operation on the payment's authorization: if a renewal replaced that
    authorization meanwhile (`payments`: read on the pool), raise a retryable error so the
    consumer tries again on the new one instead of giving up."""
    current = await payments.get_payment(payment["payment_id"])
    if current is not None and current["payment_intent_id"] != payment["payment_intent_id"]:
        raise AuthorizationRenewed(
            f"payment {payment['payment_id']}: authorization {payment['payment_intent_id']} "
            f"was renewed as {current['payment_intent_id']} meanwhile; retrying"
        )


class AuthorizationRenewed(RuntimeError):
    """Retryable: the authorization an operation used was replaced by a renewal."""


async def cancel_replaced(
    pool: asyncpg.Pool,
    stripe: StripeGateway,
    grace: timedelta = DEFAULT_CANCEL_GRACE,
    limit: int = 50,
) -> int:
    """Cancel on Stripe the authorizations renewals replaced, once their grace has passed.
    Returns how many were settled (cancelled, or found not cancellable)."""
    payments = PaymentsRepository(pool)
    done = 0
    for intent in await payments.replaced_due(grace, limit):
        error: str | None = None
        try:
            await stripe.cancel(intent, idempotency_key=idempotency_key("cancel-replaced", intent))
        except StripeGatewayError as exc:
            if exc.retryable:
                log.warning("replaced authorization %s: cancel failed, retrying later", intent)
                continue
            # Captured by a capture that read it before the swap, or lapsed: nothing is held
            # that this cancel could release. Recorded for ops.
            error = f"{exc.code}: {exc.message}"
            log.warning("replaced authorization %s not cancelled: %s", intent, error)
        # Rows are never deleted and a second sweeper settles it the same way: quiet.
        await payments.settle_replaced(intent, error)
        done += 1
    return done
