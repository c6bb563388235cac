"""What a consumer's route does the same way wherever it loads a payment or calls Stripe: a
payment the event names must exist, a refusal by Stripe is final (not retried), and an
authorization is cancelled the one way."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import asyncpg

from eventkit.routing import PermanentError
from payments.adapters.repository import PaymentsRepository
from payments.adapters.stripe_gateway import PaymentIntentResult, StripeGateway, StripeGatewayError
from payments.domain.ids import intent_key

T = TypeVar("T")


async def existing_payment(payments: PaymentsRepository, payment_id: str) -> asyncpg.Record:
    """The payment (read through `payments`: the pool's, or a unit of work's); PermanentError
    when there is none."""
    payment = await payments.get_payment(payment_id)
    if payment is None:
        raise PermanentError(f"payment {payment_id} does not exist")
    return payment


async def refusal_is_final(call: Awaitable[T], what: str = "Stripe") -> T:
    """Await a Stripe call: a retryable failure is raised as it is (the consumer retries with
    the same idempotency key), a refusal as a PermanentError (`<what> refused: …`)."""
    try:
        return await call
    except StripeGatewayError as exc:
        if exc.retryable:
            raise
        raise PermanentError(f"{what} refused: {exc}") from exc


async def cancel_authorization(
    stripe: StripeGateway, intent_id: str, payment_id: str, renewals: int
) -> PaymentIntentResult:
    """Cancel a payment's authorization (the key every void of the payment shares, so a void
    for a failed booking, a failed group and a refund are the same request); one that lapsed
    meanwhile is answered as Stripe has it (canceled)."""
    try:
        return await stripe.cancel(
            intent_id, idempotency_key=intent_key("cancel", payment_id, renewals)
        )
    except StripeGatewayError as exc:
        if exc.code != "payment_intent_unexpected_state":
            raise
        current = await stripe.retrieve(intent_id)
        if current.status != "canceled":
            raise
        return current  # the authorization lapsed meanwhile: nothing is held any more
