"""Finance's routing table."""

from eventkit.routing import EventRouter
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payouts import Payouts, chain
from marketplace_contracts.events.booking import BookingCancelledV1
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentReturnedV1,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversedV1,
)


def build_router(h: FinanceHandlers, payouts: Payouts | None = None) -> EventRouter:
    p = payouts or Payouts(h.outbox)
    router = EventRouter("finance")
    # still on the topic: keep reading it
    router.add(PaymentCapturedV1, chain(h.on_payment_captured, p.on_payment_captured))
    router.add(PaymentCapturedV2, chain(h.on_payment_captured_v2, p.on_payment_captured_v2))
    router.add(RefundSucceededV1, chain(h.on_refund_succeeded, p.on_refund_succeeded))
    router.add(BookingCancelledV1, h.on_booking_cancelled)  # host penalties
    # host payouts: holds, transfers and their reversals (service_layer/payouts.py)
    router.add(FundsClearedV1, p.on_funds_cleared)
    router.add(PaymentReturnedV1, p.on_payment_returned)
    router.add(TransferCreatedV1, p.on_transfer_created)
    router.add(TransferFailedV1, p.on_transfer_failed)
    router.add(TransferReversedV1, p.on_transfer_reversed)
    return router
