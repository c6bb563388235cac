"""ACH Direct Debit (`us_bank_account`): a booking paid by a debit of the guest's bank account.

The debit is one PaymentIntent, confirmed at checkout with automatic capture (Stripe refuses
manual capture for bank debits) under the mandate the guest accepted online (`mandate_data`:
their IP address and user agent, recorded by the gateway). It has no destination and no
application fee: the funds stay on the platform account (`transfer_group` = the booking) so
that finance can hold the host's payout until the return window has passed (separate charges
and transfers). Stripe answers `processing` at once:

- checkout → payment `processing` + `payments.payment_processing` (booking confirms the
  booking with its funds pending); an immediate refusal → `failed` + `payments.payment_failed`.
- webhook `payment_intent.succeeded` → `captured`, `funds_hold_until` = the success time plus
  `PAYMENTS_BANK_DEBIT_RETURN_WINDOW`, and `payments.payment_captured` (v2,
  `payment_method_type=us_bank_account`, `funds_hold_until`, `transfer_group`), once.
- webhook `payment_intent.payment_failed` while processing → `returned` +
  `payments.payment_returned` (`after_capture=false`, the bank's code).
- webhook `charge.dispute.created` on a captured debit (how Stripe reports a return after
  success, e.g. `debit_not_authorized`) → `returned` + `payments.payment_returned`
  (`after_capture=true`: finance reverses what it booked at capture).
- the funds-cleared sweeper: a captured debit whose `funds_hold_until` passed without a return
  → `payments.funds_cleared`, once.
- `booking.payment_retry_requested` for a returned debit (the guest pays by card instead): a
  new card payment of the booking (`purpose = repay`, `replaces_payment_id`), a separate
  charge of the booking's transfer group like any card booking's (its purpose, as facts say
  it, is `checkout`), authorized and captured on-session with per-attempt keys →
  `payments.payment_captured` (card) or `payments.payment_failed`.

Webhooks are applied by the webhook worker (`webhooks.apply_pending`, through
`bank_debit_webhooks`) in its transaction; each
transition is a compare-and-set on our status, so a duplicated or replayed webhook changes
nothing and emits nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

import asyncpg

from domainkit.ids import new_uuid
from domainkit.rows import from_attrs, from_row
from eventkit import periodic
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, Worker
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import PaymentRetryRequestedV1
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentProcessingV1,
)
from payments.adapters.stripe_gateway import (
    PaymentIntentResult,
    StripeGatewayError,
)
from payments.domain.checkout import US_BANK_ACCOUNT, Checkout
from payments.domain.ids import idempotency_key
from payments.domain.payment import PaymentStatus
from payments.service_layer.card_authorizations import (
    Authorization,
    attempt_columns,
    checkout_failed,
    record_attempt,
)
from payments.service_layer.saved_cards import SavedCardUseCases
from payments.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("payments.bank_debits")

DEFAULT_RETURN_WINDOW: Final = timedelta(days=5)
REPAY: Final = "repay"
_NAMESPACE = uuid.UUID("0b8f3f3e-5c1e-4d8a-a7d4-6a5f2e1c9b70")


def repay_payment_id(payment_id: str) -> str:
    """The card payment that replaces a returned bank debit (one per debit)."""
    return f"pay_{uuid.uuid5(_NAMESPACE, f'repay:{payment_id}').hex}"


class BankDebits(SavedCardUseCases):
    # -- checkout: start the debit (outside any transaction) -------------------------------
    async def debit(self, checkout: Checkout, customer: str) -> PaymentIntentResult:
        """Raises StripeGatewayError (a request we cannot make is a permanent refusal)."""
        if checkout.group_id is not None or checkout.host_account_id is None:
            raise StripeGatewayError(
                "bank_debit_not_allowed", "a Linked Booking Group pays by card only", False
            )
        if checkout.mandate is None:
            raise StripeGatewayError(
                "mandate_missing",
                "a bank debit needs the guest's mandate acceptance (IP address and user agent)",
                False,
            )
        ip_address, user_agent = checkout.mandate
        return await self.stripe.debit_bank_account(
            amount=checkout.amount,
            currency=checkout.currency,
            payment_method=checkout.payment_method,
            customer=customer,
            mandate_ip_address=ip_address,
            mandate_user_agent=user_agent,
            transfer_group=checkout.booking_id,
            metadata=checkout.stripe_metadata,
            idempotency_key=idempotency_key("debit", checkout.payment_id),
        )

    async def record_debit(
        self, uow: UnitOfWork, env: Envelope, checkout: Checkout, auth: Authorization
    ) -> None:
        """The payment row and payment_processing (or payment_failed), once."""
        result = auth.payment_intent
        # `succeeded` at once is possible on Stripe (instant verification); the webhook that
        # reports it captures the payment as for any other settled debit.
        ok = result is not None and result.status in ("processing", "succeeded")
        row = {
            **attempt_columns(env, checkout, auth, ok=ok),
            "payment_method_type": US_BANK_ACCOUNT,
            "transfer_group": checkout.booking_id,
            "status": PaymentStatus.PROCESSING if ok else PaymentStatus.FAILED,
            "payment_intent_id": (result.id or None) if result else None,
            "stripe_status": result.stripe_status if result else None,
            "bank_name": result.bank_name if result else None,
            "bank_last4": result.bank_last4 if result else None,
        }
        # only a checkout of payment_method_type US_BANK_ACCOUNT comes here (the metric label)
        meta = await record_attempt(uow, env, checkout, row)
        if meta is None:
            return
        if ok:
            assert result is not None
            processing = from_attrs(
                PaymentProcessingV1,
                checkout,
                payment_intent_id=result.id,
                payment_method_type=US_BANK_ACCOUNT,
                bank_name=result.bank_name,
                bank_last4=result.bank_last4,
            )
            await uow.emit(processing, **meta)
            return
        # A bank debit is a single booking's (a group pays by card): no group id.
        await uow.emit(checkout_failed(checkout, row, "bank_debit_failed"), **meta)

    # -- the guest pays a returned debit by card -------------------------------------------
    async def retry(
        self, env: Envelope, event: PaymentRetryRequestedV1
    ) -> PaymentIntentResult | None:
        """A card payment instead of a returned debit (a card's failed charge: `saved`)."""
        payment = await self.payments.get_payment(event.payment_id)
        if payment is None or payment["payment_method_type"] != US_BANK_ACCOUNT:
            return await self.saved.retry(env, event)
        if payment["status"] != PaymentStatus.RETURNED:
            return None  # still processing, or settled: nothing to replace
        repay_id = repay_payment_id(event.payment_id)
        repay = await self.payments.get_payment(repay_id)
        if repay is not None and repay["status"] != PaymentStatus.CHARGE_FAILED:
            return None  # paid by card already
        return await self.saved.pay_on_session(
            payment, repay_id, event.payment_method, event.attempt
        )

    async def record_retry(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: PaymentRetryRequestedV1,
        result: PaymentIntentResult | None,
    ) -> None:
        payment = await uow.payments.get_payment(event.payment_id)
        if payment is None or payment["payment_method_type"] != US_BANK_ACCOUNT:
            await self.saved.record_retry(uow, env, event, result)
            return
        if result is None:
            return
        repay_id = repay_payment_id(event.payment_id)
        # Not paid yet (`charge_failed`) until this attempt's outcome is recorded below.
        # An earlier attempt created it already: quietly, its outcome is recorded below.
        await uow.bank_debits.insert_repay(
            payment, repay_id=repay_id, purpose=REPAY, payment_method=event.payment_method
        )
        await self.saved.record_charge(uow, env, repay_id, PaymentStatus.CHARGE_FAILED, result)


# -- the funds-cleared sweeper ----------------------------------------------------------------


async def sweep_cleared(
    conn: asyncpg.Connection, outbox: Outbox, *, now: datetime | None = None, limit: int = 200
) -> int:
    """payments.funds_cleared, once, for each captured debit whose return window passed."""
    async with conn.transaction():
        uow = UnitOfWork(conn, outbox)
        rows = await uow.bank_debits.claim_cleared(now or datetime.now(UTC), limit)
        for row in rows:
            await uow.emit(
                from_row(
                    FundsClearedV1,
                    row,
                    amount=row["captured_amount"],
                    cleared_at=row["funds_cleared_at"],
                ),
                key=row["payment_id"],
                correlation_id=row["correlation_id"] or new_uuid(),
            )
    return len(rows)


def cleared_sweeper(outbox: Outbox, every: float) -> Worker:
    async def step(runtime: ServiceRuntime) -> None:
        async with runtime.db.acquire() as conn:
            await sweep_cleared(conn, outbox)

    return periodic.every(every, step, name="funds-cleared-sweeper")
