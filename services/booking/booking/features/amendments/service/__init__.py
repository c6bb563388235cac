"""Use cases of amendments and overtime: the commands (`use_cases.py`), what a transition
writes and publishes (`outcomes.py`), and payments' answers to an amendment's extra charge
(`payments.py`). The expiry's timer is `features/amendments/timers.py`."""

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
    "Actor",
    "accept",
    "dispute",
    "on_charge_captured",
    "on_charge_failed",
    "on_signatures_declined",
    "on_signed",
    "propose_change",
    "reject",
    "report_overtime",
    "view",
    "withdraw",
]
