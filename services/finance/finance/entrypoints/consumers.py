"""Finance's routing table."""

from eventkit.routing import Apply, EventRouter
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payouts import Payouts, chain
from finance.service_layer.recon_facts import ReconFacts
from marketplace_contracts.envelope import EventModel
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


def build_router(
    h: FinanceHandlers, payouts: Payouts | None = None, recon: ReconFacts | None = None
) -> EventRouter:
    p = payouts or Payouts(h.outbox)
    # the payments side of reconciliation, beside the ledger's handlers (recon_facts.py)
    r = recon.routes() if recon is not None else {}

    def also(event: type[EventModel]) -> tuple[Apply, ...]:
        return (r[event],) if event in r else ()

    router = EventRouter("finance")
    # still on the topic: keep reading it
    router.add(
        PaymentCapturedV1,
        chain(h.on_payment_captured, p.on_payment_captured, *also(PaymentCapturedV1)),
    )
    router.add(
        PaymentCapturedV2,
        chain(h.on_payment_captured_v2, p.on_payment_captured_v2, *also(PaymentCapturedV2)),
    )
    router.add(
        RefundSucceededV1,
        chain(h.on_refund_succeeded, p.on_refund_succeeded, *also(RefundSucceededV1)),
    )
    router.add(BookingCancelledV1, h.on_booking_cancelled)  # host penalties
    # host payouts: holds, transfers and their reversals (service_layer/payouts.py)
    router.add(FundsClearedV1, p.on_funds_cleared)
    router.add(PaymentReturnedV1, chain(p.on_payment_returned, *also(PaymentReturnedV1)))
    router.add(TransferCreatedV1, chain(p.on_transfer_created, *also(TransferCreatedV1)))
    router.add(TransferFailedV1, p.on_transfer_failed)
    router.add(TransferReversedV1, chain(p.on_transfer_reversed, *also(TransferReversedV1)))
    for event, handler in r.items():  # facts only reconciliation reads
        if (event.TYPE, event.VERSION) not in router.routes:
            router.add(event, handler)
    return router
