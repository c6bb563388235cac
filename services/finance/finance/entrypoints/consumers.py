"""Finance's routing table."""

from eventkit.routing import EventRouter
from finance.service_layer.handlers import FinanceHandlers
from marketplace_contracts.events.booking import BookingCancelledV1
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    RefundSucceededV1,
)


def build_router(h: FinanceHandlers) -> EventRouter:
    router = EventRouter("finance")
    router.add(PaymentCapturedV1, h.on_payment_captured)  # still on the topic: keep reading it
    router.add(PaymentCapturedV2, h.on_payment_captured_v2)
    router.add(RefundSucceededV1, h.on_refund_succeeded)
    router.add(BookingCancelledV1, h.on_booking_cancelled)  # host penalties
    return router
