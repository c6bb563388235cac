"""Payments' routing table: every contract it consumes and the handler for it."""

from eventkit.routing import EventRouter
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    BookingCancelledV1,
    BookingConfirmedV1,
    BookingFailedV1,
    ChargeRequestedV1,
    CheckoutRequestedV1,
    DepositReleasedV1,
    GroupCaptureRequestedV1,
    GroupCheckoutRequestedV1,
    GroupFailedV1,
    PaymentRetryRequestedV1,
    ReauthorizationRequestedV1,
)
from marketplace_contracts.events.disputes import (
    DisputeAcceptanceRequestedV1,
    EvidenceSubmissionRequestedV1,
)
from marketplace_contracts.events.finance import PayoutReleasedV1, TransferReversalRequestedV1
from payments.service_layer.handlers import PaymentHandlers


def build_router(h: PaymentHandlers) -> EventRouter:
    router = EventRouter("payments")
    router.add(CheckoutRequestedV1, h.record_authorization, prepare=h.authorize)
    router.add(BookingConfirmedV1, h.record_capture, prepare=h.capture)
    router.add(BookingFailedV1, h.record_void, prepare=h.void)
    # A returned bank debit is paid by card there; a failed card charge goes to `saved`.
    router.add(PaymentRetryRequestedV1, h.bank_debits.record_retry, prepare=h.bank_debits.retry)
    router.add(GroupCheckoutRequestedV1, h.record_group_authorization, prepare=h.authorize_group)
    router.add(GroupCaptureRequestedV1, h.groups.record_capture, prepare=h.groups.capture)
    router.add(GroupFailedV1, h.groups.record_void, prepare=h.groups.void)
    router.add(BookingCancelledV1, h.refunds.apply, prepare=h.refunds.prepare)
    router.add(ChargeRequestedV1, h.charges.apply, prepare=h.charges.prepare)
    router.add(AmendmentDecidedV1, h.refunds.apply_amendment, prepare=h.refunds.prepare_amendment)
    router.add(DepositReleasedV1, h.deposits.on_released)
    # finance.events: payout releases and reversal requests (the router ignores the rest);
    # a requested reversal is made by the reversal worker, as a refund's is.
    router.add(PayoutReleasedV1, h.transfers.apply, prepare=h.transfers.prepare)
    router.add(TransferReversalRequestedV1, h.reversals.request)
    # disputes.events: what trust staff (or the deadline) ask of Stripe.
    actions = h.dispute_actions
    router.add(EvidenceSubmissionRequestedV1, actions.record_submission, prepare=actions.submit)
    router.add(DisputeAcceptanceRequestedV1, actions.record_acceptance, prepare=actions.accept)
    router.add(
        ReauthorizationRequestedV1, h.reauthorizations.apply, prepare=h.reauthorizations.prepare
    )
    return router
