"""Use cases of amendments and overtime: the commands (`use_cases.py`), what a transition
writes and publishes (`outcomes.py`), and payments' answers to an amendment's extra charge
(`payments.py`), and what the documents feature needs of an amendment's envelope
(`signing.py`). The expiry's timer is `features/amendments/timers.py`."""

from booking.features.amendments.domain import CREATE_AMENDMENT_ENVELOPE
from booking.features.amendments.service.payments import (
    PaidIncrease,
    on_refund_failed,
    on_refund_succeeded,
    paid_increases,
)
from booking.features.amendments.service.signing import (
    awaiting_envelope,
    envelope_sent,
    signed_through,
)
from booking.features.amendments.service.use_cases import (
    Actor,
    accept,
    dispute,
    on_charge_captured,
    on_charge_failed,
    on_signatures_declined,
    on_signed,
    propose_change,
    reject,
    report_overtime,
    view,
    withdraw,
)

__all__ = [
    "CREATE_AMENDMENT_ENVELOPE",
    "Actor",
    "PaidIncrease",
    "accept",
    "awaiting_envelope",
    "dispute",
    "envelope_sent",
    "on_charge_captured",
    "on_charge_failed",
    "on_refund_failed",
    "on_refund_succeeded",
    "on_signatures_declined",
    "on_signed",
    "paid_increases",
    "propose_change",
    "reject",
    "report_overtime",
    "signed_through",
    "view",
    "withdraw",
]
