"""The rules of damage claims (pure): the `Claim` aggregate, its transition table and the
deposit's release (`claim.py`, re-exported here), and the checks over values it applies
(`rules.py`, imported from there)."""

from booking.features.claims.domain.claim import (
    CHARGE_PREFIX,
    CHARGE_REQUESTED,
    CLAIM_DECIDED,
    CLAIM_FILED,
    CLAIM_RESPONSE_EXPIRY,
    DEPOSIT_RELEASE,
    ENDED_STATUSES,
    OPEN_STATUSES,
    TABLE,
    Change,
    Claim,
    ClaimStatus,
    ClaimTrigger,
    Release,
    charge_request_id,
    claim_mermaid,
    claim_transition,
    settled_release,
)

__all__ = [
    "CHARGE_PREFIX",
    "CHARGE_REQUESTED",
    "CLAIM_DECIDED",
    "CLAIM_FILED",
    "CLAIM_RESPONSE_EXPIRY",
    "DEPOSIT_RELEASE",
    "ENDED_STATUSES",
    "OPEN_STATUSES",
    "TABLE",
    "Change",
    "Claim",
    "ClaimStatus",
    "ClaimTrigger",
    "Release",
    "charge_request_id",
    "claim_mermaid",
    "claim_transition",
    "settled_release",
]
