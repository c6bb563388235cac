"""Security deposits: the card saved for damage claims, and the deposit's release.

Card authorizations lapse after about 7 days, so a deposit is not held on the card. When a
booking's checkout asks for one (`booking.checkout_requested` with `deposit_amount > 0`),
payments FIRST saves the guest's card for off-session use with a confirmed SetupIntent
(`usage=off_session`, key `payments:deposit_setup:<payment_id>`), THEN authorizes the booking as
usual. A SetupIntent that fails (a decline, 3D Secure wanted) fails the checkout like a
declined card: `payments.payment_failed`, and nothing is held. A far-ahead Request-to-Book that
saves its card with a SetupIntent anyway (`save_for_later`) reuses that one: never two.

`payments.deposits` records the SetupIntent, the saved card and the customer; the payment's
`payments.payment_authorized` names the SetupIntent (`deposit_setup_intent_id`). A damage claim
is an ordinary `booking.charge_requested` (`reason="deposit_claim"`) that `charges` takes from
the card saved for the deposit. `booking.deposit_released` ends the deposit (once; a
redelivery changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import DepositReleasedV1
from payments.adapters.deposit_repository import DepositsRepository
from payments.adapters.stripe_gateway import SetupIntentResult, StripeGateway, StripeGatewayError
from payments.domain.charges import DEPOSIT_CLAIM_REASON, ChargeRequest
from payments.domain.checkout import Checkout
from payments.domain.ids import idempotency_key
from payments.service_layer.unit_of_work import UnitOfWork


def deposit_failure(result: SetupIntentResult) -> StripeGatewayError | None:
    """None when the SetupIntent saved the card; else why the checkout fails (not retryable)."""
    if result.status == "succeeded" and result.payment_method:
        return None
    code = result.failure_code or f"deposit_setup_{result.status}"
    message = result.failure_message or (
        f"the card could not be saved for the security deposit (SetupIntent {result.status})"
    )
    return StripeGatewayError(code, message, False)


async def charge_source(
    db: asyncpg.Pool | asyncpg.Connection,
    event: ChargeRequest,
    source: asyncpg.Record | None,
) -> Mapping[str, Any] | None:
    """The payment a charge request is taken from: a damage claim charges the card saved for
    the deposit (its customer and payment method) when there is one."""
    if source is None or event.reason != DEPOSIT_CLAIM_REASON:
        return source
    deposit = await DepositsRepository(db).deposit_card(event.payment_id)
    if deposit is None:
        return source  # e.g. a group leg: the group's payment saved its card
    return {
        **dict(source),
        "customer_id": deposit["customer_id"],
        "saved_payment_method": deposit["payment_method"],
    }


class Deposits:
    def __init__(self, db: Callable[[], asyncpg.Pool], stripe: StripeGateway) -> None:
        self.db = db
        self.stripe = stripe

    async def secure(self, checkout: Checkout, customer: str) -> SetupIntentResult | None:
        """Save the card for the deposit (outside any transaction). None when the checkout
        has no deposit, or saves its card with a SetupIntent anyway (`save_for_later`)."""
        if checkout.deposit_amount <= 0 or checkout.save_for_later:
            return None
        return await self.stripe.save_payment_method(
            customer=customer,
            payment_method=checkout.payment_method,
            metadata={**checkout.stripe_metadata, "purpose": "security_deposit"},
            idempotency_key=idempotency_key("deposit_setup", checkout.payment_id),
        )

    @staticmethod
    async def record(
        uow: UnitOfWork,
        checkout: Checkout,
        customer: str | None,
        result: SetupIntentResult | None,
    ) -> str | None:
        """Record the secured deposit of a checkout whose payment was just recorded; returns
        the SetupIntent id (None: no deposit)."""
        if checkout.deposit_amount <= 0 or result is None or customer is None:
            return None
        if deposit_failure(result) is not None or result.payment_method is None:
            return None
        # A redelivered checkout finds its deposit recorded: the same intent, quietly.
        await uow.deposits.insert_deposit(
            payment_id=checkout.payment_id,
            booking_id=checkout.booking_id,
            setup_intent_id=result.id,
            payment_method=result.payment_method,
            customer_id=customer,
            amount=checkout.deposit_amount,
            currency=checkout.currency,
        )
        return result.id

    async def on_released(
        self, uow: UnitOfWork, env: Envelope, event: DepositReleasedV1, _: object
    ) -> None:
        """booking.deposit_released: nothing more is charged against the deposit. A payment
        without a deposit row (a group leg's) has nothing to mark."""
        await uow.deposits.release_deposit(  # released already: a redelivery
            event.payment_id, event.charged, event.reason
        )
