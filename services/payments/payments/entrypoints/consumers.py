"""Payments' routing table: every contract it consumes and the handler for it."""

from collections.abc import Awaitable, Callable
from typing import Any

from eventkit.routing import EventRouter, Prepare, Skip
from marketplace_contracts import Envelope, EventModel
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import disputes, finance
from payments.service_layer.handlers import PaymentHandlers
from payments.service_layer.unit_of_work import UnitOfWork, on_uow

Apply = Callable[[UnitOfWork, Envelope, Any, Any], Awaitable[None]]


def _captured(event: b.BookingConfirmedV1) -> bool:
    return event.payment_captured


def build_router(h: PaymentHandlers) -> EventRouter:
    """Every route's recording half takes payments' unit of work, one per consumed event."""
    router = EventRouter("payments")

    def add(
        contract: type[EventModel],
        apply: Apply,
        prepare: Prepare | None = None,
        *,
        skip: Skip | None = None,
    ) -> None:
        router.add(contract, on_uow(h.outbox, apply), prepare=prepare, skip=skip)

    add(b.CheckoutRequestedV1, h.record_authorization, h.authorize)
    # A booking confirmed on its capture (an Instant Book charged at checkout) asks nothing.
    add(b.BookingConfirmedV1, h.record_capture, h.capture, skip=_captured)
    add(b.BookingFailedV1, h.record_void, h.void)
    # A returned bank debit is paid by card there; a failed card charge goes to `saved`.
    add(b.PaymentRetryRequestedV1, h.bank_debits.record_retry, h.bank_debits.retry)
    add(b.GroupCheckoutRequestedV1, h.record_group_authorization, h.authorize_group)
    add(b.GroupCaptureRequestedV1, h.groups.record_capture, h.groups.capture)
    add(b.GroupFailedV1, h.groups.record_void, h.groups.void)
    add(b.BookingCancelledV1, h.refunds.apply, h.refunds.prepare)
    add(b.ChargeRequestedV1, h.charges.apply, h.charges.prepare)
    add(b.AmendmentDecidedV1, h.refunds.apply_amendment, h.refunds.prepare_amendment)
    add(b.DepositReleasedV1, h.deposits.on_released)
    # finance.events: payout releases and reversal requests (the router ignores the rest);
    # a requested reversal is made by the reversal worker, as a refund's is.
    add(finance.PayoutReleasedV1, h.transfers.apply, h.transfers.prepare)
    add(finance.TransferReversalRequestedV1, h.reversals.request)
    # disputes.events: what trust staff (or the deadline) ask of Stripe.
    actions = h.dispute_actions
    add(disputes.EvidenceSubmissionRequestedV1, actions.record_submission, actions.submit)
    add(disputes.DisputeAcceptanceRequestedV1, actions.record_acceptance, actions.accept)
    add(b.ReauthorizationRequestedV1, h.reauthorizations.apply, h.reauthorizations.prepare)
    return router
