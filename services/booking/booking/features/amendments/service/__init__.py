"""Use cases of amendments and overtime: the commands and timers (`use_cases.py`), what a
transition writes and publishes (`outcomes.py`), and payments' answers to an amendment's extra
charge (`payments.py`)."""

from booking.features.amendments.service.use_cases import (
    AMENDMENT_EXPIRY,
    CREATE_AMENDMENT_ENVELOPE,
    Actor,
    accept,
    dispute,
    expire_job,
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
    "AMENDMENT_EXPIRY",
    "CREATE_AMENDMENT_ENVELOPE",
    "Actor",
    "accept",
    "dispute",
    "expire_job",
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
