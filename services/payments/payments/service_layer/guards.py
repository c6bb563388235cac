"""What a consumer's route does the same way wherever it loads a payment or calls Stripe: a
payment the event names must exist, and a refusal by Stripe is final (not retried)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import asyncpg

from eventkit.routing import PermanentError
from payments.adapters import repository
from payments.adapters.repository import PaymentsDB
from payments.adapters.stripe_gateway import StripeGatewayError

T = TypeVar("T")


async def existing_payment(db: PaymentsDB, payment_id: str) -> asyncpg.Record:
    """The payment; PermanentError when there is none."""
    payment = await repository.get_payment(db, payment_id)
    if payment is None:
        raise PermanentError(f"payment {payment_id} does not exist")
    return payment


async def refusal_is_final(call: Awaitable[T]) -> T:
    """Await a Stripe call: a retryable failure is raised as it is (the consumer retries with
    the same idempotency key), a refusal as a PermanentError."""
    try:
        return await call
    except StripeGatewayError as exc:
        if exc.retryable:
            raise
        raise PermanentError(f"Stripe refused: {exc}") from exc
