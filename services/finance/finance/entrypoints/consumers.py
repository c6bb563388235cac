"""Finance's routing table."""

from collections.abc import Callable
from datetime import timedelta

from eventkit.clock import SystemClock
from eventkit.routing import Apply, EventRouter
from finance.domain.disputes import DISPUTE_LOST
from finance.domain.payouts import DEBIT_RETURNED
from finance.service_layer.dispute_facts import DisputeFacts, by_cause
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payout_queue import Queue, QueueSettings
from finance.service_layer.payout_release import Release
from finance.service_layer.payouts import Payouts, chain
from finance.service_layer.queue_facts import QueueFacts
from finance.service_layer.recon_facts import ReconFacts
from finance.service_layer.returned_debits import ReturnedDebits
from marketplace_contracts.envelope import EventModel
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    AmendmentProposedV1,
    BookingCancelledV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
)
from marketplace_contracts.events.disputes import DisputeResolvedV1, PayoutHoldChangedV1
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    HostAccountUpdatedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentReturnedV1,
    RefundSucceededV1,
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversalFailedV1,
    TransferReversedV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeFundsReinstatedV1,
    DisputeFundsWithdrawnV1,
)

# What tests get when they build the router alone; the service wires its own (bootstrap.py).
DEFAULT_QUEUE = QueueSettings(
    delay=timedelta(hours=24), minimum=0, max_retries=3, retry_seconds=300.0
)


def build_router(
    h: FinanceHandlers,
    payouts: Payouts | None = None,
    facts: QueueFacts | None = None,
    *,
    recon: ReconFacts | None = None,
    disputes: DisputeFacts | None = None,
    returns: ReturnedDebits | None = None,
) -> EventRouter:
    q = facts if facts is not None else _queue_facts(h, payouts)
    p = payouts or Payouts(h.outbox, q.queue)
    d = disputes or DisputeFacts(q.queue)
    rd = returns or ReturnedDebits(q.queue)
    # the payments side of reconciliation, beside the ledger's handlers (recon_facts.py)
    r = recon.routes() if recon is not None else {}

    def also(event: type[EventModel]) -> tuple[Apply, ...]:
        return (r[event],) if event in r else ()

    router = EventRouter("finance")
    _ledger_routes(router, h, p, q, also)
    _queue_routes(router, q)
    _payout_routes(router, p, q, rd, also)
    _reversals(router, d, rd, p, q, also(TransferReversedV1))
    for event, handler in r.items():  # facts only reconciliation reads
        if (event.TYPE, event.VERSION) not in router.routes:
            router.add(event, handler)
    return router


Also = Callable[[type[EventModel]], tuple[Apply, ...]]


def _ledger_routes(
    router: EventRouter, h: FinanceHandlers, p: Payouts, q: QueueFacts, also: Also
) -> None:
    """Money in and back out: the ledger's postings, then the payouts' share of them (a refund
    after a netted payout: what the host owes again)."""
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
        chain(
            p.check_refund,
            h.on_refund_succeeded,
            p.on_refund_succeeded,
            q.on_refund_succeeded,
            *also(RefundSucceededV1),
        ),
    )


def _queue_routes(router: EventRouter, q: QueueFacts) -> None:
    """The queue: booking starts, holds, what hosts owe (service_layer/queue_facts.py)."""
    router.add(CheckoutRequestedV1, q.on_checkout_requested)
    router.add(GroupCheckoutRequestedV1, q.on_group_checkout_requested)
    router.add(AmendmentProposedV1, q.on_amendment_proposed)
    router.add(AmendmentDecidedV1, q.on_amendment_decided)
    router.add(BookingCancelledV1, q.on_booking_cancelled)  # host penalties
    router.add(HostAccountUpdatedV1, q.on_host_account_updated)
    router.add(PayoutHoldChangedV1, q.on_payout_hold_changed)


def _payout_routes(
    router: EventRouter, p: Payouts, q: QueueFacts, rd: ReturnedDebits, also: Also
) -> None:
    """Host payouts: holds, transfers and their failures (service_layer/payouts.py)."""
    router.add(FundsClearedV1, chain(p.on_funds_cleared, q.on_funds_cleared))
    router.add(
        PaymentReturnedV1,
        # a host already paid gives its share back (service_layer/returned_debits.py)
        chain(
            p.on_payment_returned,
            q.on_payment_returned,
            rd.on_payment_returned,
            *also(PaymentReturnedV1),
        ),
    )
    router.add(
        TransferCreatedV1,
        chain(
            p.on_transfer_created,
            q.on_transfer_created,
            rd.on_transfer_created,
            *also(TransferCreatedV1),
        ),
    )
    router.add(TransferFailedV1, chain(p.on_transfer_failed, q.on_transfer_failed))


def _queue_facts(h: FinanceHandlers, payouts: Payouts | None) -> QueueFacts:
    """Tests may build the router without the queue: the payouts' own queue, else a default."""
    queue = payouts.queue if payouts is not None and payouts.queue else None
    queue = queue or Queue(h.outbox, DEFAULT_QUEUE, SystemClock().now)
    return QueueFacts(queue, Release(queue))


def _reversals(
    router: EventRouter,
    d: DisputeFacts,
    rd: ReturnedDebits,
    p: Payouts,
    q: QueueFacts,
    recon: tuple[Apply, ...],
) -> None:
    """A card dispute's money (service_layer/dispute_facts.py), and the reversals' outcomes:
    a lost dispute's host share (cause `dispute_lost`), a returned bank debit's
    (`debit_returned`) or a refund's (payouts, queue)."""
    router.add(DisputeFundsWithdrawnV1, d.on_funds_withdrawn)
    router.add(DisputeFundsReinstatedV1, d.on_funds_reinstated)
    router.add(DisputeResolvedV1, d.on_dispute_resolved)
    reversed_by = {
        DISPUTE_LOST: chain(d.on_transfer_reversed, *recon),
        DEBIT_RETURNED: chain(rd.on_transfer_reversed, *recon),
    }
    router.add(
        TransferReversedV1,
        by_cause(reversed_by, chain(p.on_transfer_reversed, q.on_transfer_reversed, *recon)),
    )
    failed_by = {
        DISPUTE_LOST: d.on_transfer_reversal_failed,
        DEBIT_RETURNED: rd.on_transfer_reversal_failed,
    }
    router.add(TransferReversalFailedV1, by_cause(failed_by, q.on_transfer_reversal_failed))
