"""The rules of amendments and overtime (pure): the `Amendment` aggregate and its transition
table (`amendment.py`), and what a proposal changes and the money it moves (`terms.py`)."""

from booking.features.amendments.domain.amendment import (
    AMENDMENT_EXPIRY,
    CHARGE_EVENT,
    CREATE_AMENDMENT_ENVELOPE,
    DECIDED_EVENT,
    OPEN,
    PROPOSED_EVENT,
    SIGNATURES_EVENT,
    TABLE,
    Actor,
    Amendment,
    AmendmentKind,
    AmendmentStatus,
    AmendmentTrigger,
    Outcome,
    amendment_mermaid,
)
from booking.features.amendments.domain.terms import (
    Difference,
    Terms,
    change_terms,
    check_overtime,
    difference,
    with_overtime,
)

__all__ = [
    "AMENDMENT_EXPIRY",
    "CHARGE_EVENT",
    "CREATE_AMENDMENT_ENVELOPE",
    "DECIDED_EVENT",
    "OPEN",
    "PROPOSED_EVENT",
    "SIGNATURES_EVENT",
    "TABLE",
    "Actor",
    "Amendment",
    "AmendmentKind",
    "AmendmentStatus",
    "AmendmentTrigger",
    "Difference",
    "Outcome",
    "Terms",
    "amendment_mermaid",
    "change_terms",
    "check_overtime",
    "difference",
    "with_overtime",
]
