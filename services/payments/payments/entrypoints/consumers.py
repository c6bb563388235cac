"""Payments' routing table: every contract it consumes and the handler for it."""

from eventkit.routing import EventRouter
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import disputes, finance
from payments.service_layer.handlers import PaymentHandlers
from payments.service_layer.unit_of_work import on_uow


def build_router(h: PaymentHandlers) -> EventRouter:
    router = EventRouter("payments")
    router.add(b.CheckoutRequestedV1, on_uow(h.outbox, h.record_authorization), prepare=h.authorize)
    router.add(b.BookingConfirmedV1, on_uow(h.outbox, h.record_capture), prepare=h.capture)
    router.add(b.BookingFailedV1, on_uow(h.outbox, h.record_void), prepare=h.void)
    # A returned bank debit is paid by card there; a failed card charge goes to `saved`.
    router.add(
        b.PaymentRetryRequestedV1,
        on_uow(h.outbox, h.bank_debits.record_retry),
        prepare=h.bank_debits.retry,
    )
    router.add(
        b.GroupCheckoutRequestedV1,
        on_uow(h.outbox, h.record_group_authorization),
        prepare=h.authorize_group,
    )
    router.add(
        b.GroupCaptureRequestedV1,
        on_uow(h.outbox, h.groups.record_capture),
        prepare=h.groups.capture,
    )
    router.add(b.GroupFailedV1, on_uow(h.outbox, h.groups.record_void), prepare=h.groups.void)
    router.add(b.BookingCancelledV1, on_uow(h.outbox, h.refunds.apply), prepare=h.refunds.prepare)
    router.add(b.ChargeRequestedV1, on_uow(h.outbox, h.charges.apply), prepare=h.charges.prepare)
    router.add(
        b.AmendmentDecidedV1,
        on_uow(h.outbox, h.refunds.apply_amendment),
        prepare=h.refunds.prepare_amendment,
    )
    router.add(b.DepositReleasedV1, on_uow(h.outbox, h.deposits.on_released))
    # finance.events: payout releases and reversal requests (the router ignores the rest);
    # a requested reversal is made by the reversal worker, as a refund's is.
    router.add(
        finance.PayoutReleasedV1, on_uow(h.outbox, h.transfers.apply), prepare=h.transfers.prepare
    )
    router.add(finance.TransferReversalRequestedV1, on_uow(h.outbox, h.reversals.request))
    # disputes.events: what trust staff (or the deadline) ask of Stripe.
    actions = h.dispute_actions
    router.add(
        disputes.EvidenceSubmissionRequestedV1,
        on_uow(h.outbox, actions.record_submission),
        prepare=actions.submit,
    )
    router.add(
        disputes.DisputeAcceptanceRequestedV1,
        on_uow(h.outbox, actions.record_acceptance),
        prepare=actions.accept,
    )
    router.add(
        b.ReauthorizationRequestedV1,
        on_uow(h.outbox, h.reauthorizations.apply),
        prepare=h.reauthorizations.prepare,
    )
    return router
