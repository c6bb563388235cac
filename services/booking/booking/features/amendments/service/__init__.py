"""Use cases of amendments and overtime: the commands (`use_cases.py`), what a transition
writes and publishes (`outcomes.py`), and payments' answers to an amendment's extra charge
(`payments.py`), and what the documents feature needs of an amendment's envelope
(`signing.py`). The expiry's timer is `features/amendments/timers.py`. Each takes booking's
unit of work, but what other features call with their connection (`signing.py`, and
`payments.py`'s part for cancellations)."""

# The package's API: `use_cases`' own (its `__all__`), and what other features need.
from booking.features.amendments.domain import CREATE_AMENDMENT_ENVELOPE
from booking.features.amendments.service import use_cases
from booking.features.amendments.service.payments import (
    PaidIncrease,
    on_refund_failed,
    on_refund_succeeded,
    paid_increases,
)
from booking.features.amendments.service.signing import (
    awaiting_envelope,
    envelope_sent,
    on_signatures_declined,
    on_signed,
    signed_through,
)
from booking.features.amendments.service.use_cases import *  # noqa: F403

__all__ = [
    *use_cases.__all__,
    "CREATE_AMENDMENT_ENVELOPE",
    "PaidIncrease",
    "awaiting_envelope",
    "envelope_sent",
    "on_refund_failed",
    "on_refund_succeeded",
    "on_signatures_declined",
    "on_signed",
    "paid_increases",
    "signed_through",
]
