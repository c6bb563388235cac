"""Payments' routing table: every contract it consumes and the handler for it."""

from eventkit.routing import EventRouter
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    BookingCancelledV1,
    BookingConfirmedV1,
    BookingFailedV1,
    ChargeRequestedV1,
    CheckoutRequestedV1,
    GroupCaptureRequestedV1,
    GroupCheckoutRequestedV1,
    GroupFailedV1,
    PaymentRetryRequestedV1,
)
from payments.service_layer.handlers import PaymentHandlers


def build_router(h: PaymentHandlers) -> EventRouter:
    router = EventRouter("payments")
    router.add(CheckoutRequestedV1, h.record_authorization, prepare=h.authorize)
    router.add(BookingConfirmedV1, h.record_capture, prepare=h.capture)
    router.add(BookingFailedV1, h.record_void, prepare=h.void)
    router.add(PaymentRetryRequestedV1, h.saved.record_retry, prepare=h.saved.retry)
    router.add(GroupCheckoutRequestedV1, h.record_group_authorization, prepare=h.authorize_group)
    router.add(GroupCaptureRequestedV1, h.groups.record_capture, prepare=h.groups.capture)
    router.add(GroupFailedV1, h.groups.record_void, prepare=h.groups.void)
    router.add(BookingCancelledV1, h.refunds.apply, prepare=h.refunds.prepare)
    router.add(ChargeRequestedV1, h.charges.apply, prepare=h.charges.prepare)
    router.add(AmendmentDecidedV1, h.refunds.apply_amendment, prepare=h.refunds.prepare_amendment)
    return router
