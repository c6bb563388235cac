"""Use cases of damage claims (`use_cases.py`) and the security deposit's release
(`deposits.py`)."""

from booking.features.claims.service.deposits import on_window_over
from booking.features.claims.service.use_cases import (
    Evidence,
    accept,
    charge_request_id,
    claims_of,
    contest,
    decide,
    evidence_file,
    file_claim,
    on_booking_completed,
    on_booking_ended,
    on_charge_captured,
    on_charge_failed,
    on_response_expired,
    retry,
    view,
    withdraw,
)

__all__ = [
    "Evidence",
    "accept",
    "charge_request_id",
    "claims_of",
    "contest",
    "decide",
    "evidence_file",
    "file_claim",
    "on_booking_completed",
    "on_booking_ended",
    "on_charge_captured",
    "on_charge_failed",
    "on_response_expired",
    "on_window_over",
    "retry",
    "view",
    "withdraw",
]
