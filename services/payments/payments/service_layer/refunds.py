"""Payments' side of the refund saga: `booking.booking_cancelled` with a refund request, or
`booking.amendment_decided` applied with one (an amendment that lowered the price) → money back
to the guest → `payments.refund_succeeded` or `payments.refund_failed`. Both take the same path;
only what happens to a saved card not charged yet differs (a cancellation's will never be
charged, an amendment's will be charged less).

As everywhere in payments, the Stripe call runs in `prepare` (outside the consumer's
transaction, with a deterministic idempotency key) and `apply` records the outcome and its event
in the transaction that claims the inbox row. In between, small transactions of their own keep
the refund's row: created `pending` by its first request (`refund_id` is booking's, the same for
every redelivery), one more `attempts` per try, the method chosen with the payment row locked
(so concurrent refunds of one payment, such as two legs of a group, never promise more than it
holds), the last error.

A transient Stripe failure is raised for the consumer to retry with backoff, until the refund
has had `max_attempts` tries: the next failure records it `failed` (refund_failed with the
attempts, code and message) instead of dead-lettering the event. A refusal (Stripe's, or ours
before any call) fails it at once. Ops retry a failed refund with `python -m payments
retry-refund <refund_id>` (see docs/runbooks/refund-failed.md): a key of the reopening's own
(`RefundOrder.stripe_key_subject`; a refund Stripe made for the id after all stands), then
refund_succeeded or refund_failed.

A payment keeps its status when refunded: `refunded_amount` grows, up to `captured_amount`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import asyncpg

from domainkit.rows import from_attrs
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import AmendmentDecidedV1, BookingCancelledV1
from marketplace_contracts.events.payments import RefundFailedV1, RefundSucceededV1
from payments import metrics
from payments.adapters.refund_repository import RefundsRepository
from payments.adapters.stripe_gateway import PaymentIntentResult, StripeGateway, StripeGatewayError
from payments.domain.ids import idempotency_key
from payments.domain.refunds import (
    AMENDMENT,
    NONE,
    PARTIAL_CAPTURE,
    REFUND,
    VOID,
    PaymentBusy,
    PaymentState,
    Plan,
    RefundOrder,
    RefundRefused,
    cancellation_cause,
    plan_refund,
)
from payments.service_layer import commands
from payments.service_layer.guards import cancel_authorization
from payments.service_layer.refund_effects import RefundOutcome, apply_to_payment
from payments.service_layer.reversals import plan_reversals
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases

log = logging.getLogger("payments.refunds")

DEFAULT_MAX_ATTEMPTS = 4


class RefundNotRetryable(Exception):
    """`retry-refund` on a refund that does not exist or already succeeded."""


class Refunds(StripeUseCases[StripeGateway]):
    def __init__(
        self,
        db: Callable[[], asyncpg.Pool],
        outbox: Outbox,
        stripe: StripeGateway,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_backoff: float = 0.2,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        super().__init__(db, outbox, stripe)
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff

    @property
    def refunds(self) -> RefundsRepository:
        """Refunds on the pool, each statement its own transaction: the refund's row between
        tries (created, counted, its last error), outside the transaction that records it."""
        return RefundsRepository(self.db())

    # -- booking cancelled: the consumer's route ------------------------------------------
    async def prepare(self, env: Envelope, event: BookingCancelledV1) -> list[RefundOutcome]:
        """Each refund of the cancellation in turn: the booking's checkout payment, then any
        extra charge the rest comes from. A retryable failure retries the event; refunds made
        before it are then answered from Stripe's idempotency cache, not made again."""
        outcomes = []
        requests = ([event.refund] if event.refund else []) + list(event.additional_refunds)
        for request in requests:
            group_id = event.group_id
            if request is not event.refund:  # an extra charge: a payment of its own
                group_id = await self._group_of(request.payment_id)
            cause = cancellation_cause(event.cancelled_by, event.group_id)
            order = commands.refund_order(event.booking_id, group_id, request, cause=cause)
            outcome = await self.attempt(order, env.correlation_id, env.event_id)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def apply(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: BookingCancelledV1,
        outcomes: list[RefundOutcome],
    ) -> None:
        for outcome in outcomes:
            await self.record(uow, outcome, env.correlation_id, env.event_id)

    # -- amendment decided: the consumer's route --------------------------------------------
    async def prepare_amendment(
        self, env: Envelope, event: AmendmentDecidedV1
    ) -> RefundOutcome | None:
        """An applied amendment that lowered the price gives the difference back; any other
        outcome, or one without a refund, moves no money."""
        if event.outcome != "applied" or event.refund is None:
            return None
        # The event names no group: a group leg's refund is its group's, as for cancellations.
        group_id = await self._group_of(event.refund.payment_id)
        order = commands.refund_order(
            event.booking_id, group_id, event.refund, cause=AMENDMENT, subject_id=event.amendment_id
        )
        return await self.attempt(order, env.correlation_id, env.event_id)

    async def apply_amendment(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: AmendmentDecidedV1,
        outcome: RefundOutcome | None,
    ) -> None:
        if outcome is not None:
            await self.record(uow, outcome, env.correlation_id, env.event_id)

    async def _group_of(self, payment_id: str) -> str | None:
        """The group whose payment it is (None: a single booking's, or no such payment)."""
        payment = await self.payments.get_payment(payment_id)
        return payment["group_id"] if payment is not None else None

    # -- one try ----------------------------------------------------------------------------
    async def attempt(
        self, order: RefundOrder, correlation_id: uuid.UUID, source_event_id: uuid.UUID
    ) -> RefundOutcome | None:
        """One try at a refund (outside any transaction). None if it was decided already; an
        outcome to record; or a raised retryable error (StripeGatewayError, PaymentBusy) while
        tries are left."""
        row = await self.refunds.open_refund(order, correlation_id, source_event_id)
        if row["status"] != "pending":
            return None  # decided by an earlier request or delivery: emitted then
        order = RefundOrder.of_row(row)  # the first request of this id is the one made
        attempts = await self.refunds.count_attempt(order.refund_id)
        plan: Plan | None = None
        try:
            plan, payment = await self._plan(order)
            if plan.method == NONE:
                return RefundOutcome(order, True, NONE)
            return await self._execute(order, plan, payment)
        except RefundRefused as exc:
            return RefundOutcome(order, False, None, code=exc.code, message=exc.message)
        except (StripeGatewayError, PaymentBusy) as exc:
            await self.refunds.note_error(order.refund_id, exc.code, exc.message)
            retryable = isinstance(exc, PaymentBusy) or exc.retryable
            if retryable and attempts < self.max_attempts:
                log.warning(
                    "refund %s: attempt %d/%d failed, to be retried: %s",
                    order.refund_id,
                    attempts,
                    self.max_attempts,
                    exc,
                )
                raise
            method = plan.method if plan is not None else None
            return RefundOutcome(order, False, method, code=exc.code, message=exc.message)

    async def _plan(self, order: RefundOrder) -> tuple[Plan, PaymentState]:
        """Choose the method with the payment row locked, counting the refunds under way."""
        async with self.transaction() as uow:
            payment = await uow.refunds.payment_state(order.payment_id, for_update=True)
            reserved = refunded = 0
            if payment is not None:
                reserved = await uow.refunds.reserved(order.payment_id, order.refund_id)
                refunded = await uow.refunds.refunded_for_booking(
                    order.payment_id, order.booking_id, order.refund_id
                )
            plan = plan_refund(order, payment, reserved=reserved, refunded_for_booking=refunded)
            assert payment is not None
            await uow.refunds.choose_method(order.refund_id, plan.method)
        return plan, payment

    async def _execute(
        self, order: RefundOrder, plan: Plan, payment: PaymentState
    ) -> RefundOutcome:
        intent_id = payment.payment_intent_id
        assert intent_id is not None, f"payment {payment.payment_id} has no PaymentIntent"
        if plan.method == REFUND:
            if order.reopened:
                # A new key may not make a refund an earlier call made after all (an answer
                # lost in a timeout): one Stripe made for this id stands.
                made = await self.stripe.find_refund(intent_id, order.refund_id)
                if made is not None:
                    return RefundOutcome(order, True, REFUND, stripe_refund_id=made.id)
            refund = await self.stripe.refund(
                payment_intent_id=intent_id,
                amount=order.amount,
                metadata=order.stripe_metadata,
                idempotency_key=idempotency_key("refund", order.stripe_key_subject),
                reverse_transfer=payment.destination_charge,
                refund_application_fee=payment.destination_charge,
            )
            if not refund.accepted:
                return RefundOutcome(
                    order,
                    False,
                    REFUND,
                    stripe_refund_id=refund.id,
                    code=f"refund_{refund.status}",
                    message=refund.failure_reason or "",
                )
            return RefundOutcome(order, True, REFUND, stripe_refund_id=refund.id)
        if plan.method == VOID:
            return RefundOutcome(order, True, VOID, intent=await self._void(payment, intent_id))
        assert plan.method == PARTIAL_CAPTURE
        captured = await self.stripe.capture(
            intent_id,
            amount_to_capture=plan.capture_amount,
            application_fee_amount=plan.capture_fee if payment.destination_charge else None,
            idempotency_key=idempotency_key("partial-capture", order.refund_id),
        )
        return RefundOutcome(
            order, True, PARTIAL_CAPTURE, intent=captured, capture_splits=plan.capture_splits
        )

    async def _void(self, payment: PaymentState, intent_id: str) -> PaymentIntentResult:
        """Cancel the authorization (`guards.cancel_authorization`)."""
        return await cancel_authorization(
            self.stripe, intent_id, payment.payment_id, payment.renewals
        )

    # -- recording --------------------------------------------------------------------------
    async def record(
        self,
        uow: UnitOfWork,
        outcome: RefundOutcome,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
    ) -> bool:
        """Write the outcome and its event, once per refund (False: decided already)."""
        order = outcome.order
        # Payment row first, then the refund's: the order `_plan` locks them in.
        payment = await uow.refunds.payment_state(order.payment_id, for_update=True)
        row = await uow.refunds.get_refund(order.refund_id, for_update=True)
        if row is None or row["status"] != "pending":
            return False
        if not outcome.succeeded:
            await self._record_failure(uow, outcome, row["attempts"], correlation_id, causation_id)
            return True
        assert outcome.method is not None
        await apply_to_payment(uow, outcome, payment, correlation_id, causation_id)
        # A host's share already transferred comes back by a transfer reversal (its worker).
        await plan_reversals(uow, order, outcome.method, correlation_id)
        took = await uow.refunds.mark_succeeded(
            order.refund_id, outcome.method, outcome.stripe_refund_id
        )
        if took is not None:
            metrics.refund_succeeded(outcome.method, took)
        await uow.emit(
            from_attrs(
                RefundSucceededV1,
                order,
                method=outcome.method,
                stripe_refund_id=outcome.stripe_refund_id,
            ),
            key=order.payment_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return True

    async def _record_failure(
        self,
        uow: UnitOfWork,
        outcome: RefundOutcome,
        attempts: int,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
    ) -> None:
        """The refund failed for good: marked so, announced, logged."""
        order = outcome.order
        code = outcome.code or "refund_failed"
        await uow.refunds.mark_failed(order.refund_id, outcome.method, code, outcome.message)
        await uow.emit(
            from_attrs(
                RefundFailedV1,
                order,
                code=code,
                message=outcome.message,
                attempts=max(1, attempts),
            ),
            key=order.payment_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        log.error(
            "refund %s failed after %d attempt(s): %s %s",
            order.refund_id,
            attempts,
            code,
            outcome.message,
        )

    # -- ops: retry a failed refund ---------------------------------------------------------
    async def retry(self, refund_id: str) -> asyncpg.Record:
        """Reopen a failed refund (or pick up one left pending) and try it again, with the
        idempotency keys of the reopening's own (after looking for a refund Stripe made for the
        id after all) and a fresh budget of `max_attempts` tries; records and emits
        refund_succeeded or refund_failed. Returns the refund's row as it ends."""
        row = await self.refunds.reopen(refund_id)
        if row is None:
            row = await self.refunds.get_refund(refund_id)
            if row is None:
                raise RefundNotRetryable(f"refund {refund_id} does not exist")
            if row["status"] != "pending":
                raise RefundNotRetryable(f"refund {refund_id} is {row['status']}")
        order = RefundOrder.of_row(row)
        correlation_id, source_event_id = row["correlation_id"], row["source_event_id"]
        tries = 0
        while True:
            tries += 1
            try:
                outcome = await self.attempt(order, correlation_id, source_event_id)
                break
            except (StripeGatewayError, PaymentBusy):
                await asyncio.sleep(self.retry_backoff * 2 ** (tries - 1))
        if outcome is not None:
            async with self.transaction() as uow:
                await self.record(uow, outcome, correlation_id, source_event_id)
        final = await self.refunds.get_refund(refund_id)
        assert final is not None
        return final
