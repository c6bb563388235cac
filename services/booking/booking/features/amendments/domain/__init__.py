"""The rules of amendments and overtime (pure): the `Amendment` aggregate and its transition
table (`amendment.py`, re-exported here), and what a proposal changes and the money it moves
(`terms.py`, imported from there)."""

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
    "Outcome",
    "amendment_mermaid",
]
