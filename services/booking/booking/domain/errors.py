"""Booking's error taxonomy: every refusal carries a machine-readable code."""

from enum import StrEnum


class ErrorCode(StrEnum):
    LISTING_NOT_FOUND = "listing_not_found"
    LISTING_INACTIVE = "listing_inactive"
    BOOKING_NOT_FOUND = "booking_not_found"
    SLOT_UNAVAILABLE = "slot_unavailable"
    INVALID_TIME_RANGE = "invalid_time_range"
    BELOW_MINIMUM_DURATION = "below_minimum_duration"
    ILLEGAL_TRANSITION = "illegal_transition"
    FORBIDDEN = "forbidden"
    UNAUTHENTICATED = "unauthenticated"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    VALIDATION_FAILED = "validation_failed"
    OVERLOADED = "overloaded"
    INVITE_NOT_FOUND = "invite_not_found"
    INVITE_EXPIRED = "invite_expired"
    INVITE_WITHDRAWN = "invite_withdrawn"
    INVITE_CLOSED = "invite_closed"
    GROUP_NOT_FOUND = "group_not_found"
    MIXED_CURRENCIES = "mixed_currencies"
    QUOTE_NOT_FOUND = "quote_not_found"
    QUOTE_EXPIRED = "quote_expired"
    QUOTE_MISMATCH = "quote_mismatch"
    POLICY_UNKNOWN = "policy_unknown"
    AMENDMENT_NOT_FOUND = "amendment_not_found"
    AMENDMENT_PENDING = "amendment_pending"
    OVERTIME_WINDOW_CLOSED = "overtime_window_closed"
    POLICY_CONFLICT = "policy_conflict"
    HOST_CANNOT_TAKE_CHARGES = "host_cannot_take_charges"
    RECEIPT_NOT_FOUND = "receipt_not_found"
    BANK_DEBIT_NOT_ALLOWED = "bank_debit_not_allowed"
    FUNDS_PENDING = "funds_pending"
    NO_DEPOSIT = "no_deposit"
    CLAIM_NOT_FOUND = "claim_not_found"
    CLAIM_WINDOW_CLOSED = "claim_window_closed"
    CLAIM_EXCEEDS_DEPOSIT = "claim_exceeds_deposit"
    CLAIM_OPEN = "claim_open"
    CLAIM_RESPONSE_WINDOW_CLOSED = "claim_response_window_closed"
    DEPOSIT_RELEASED = "deposit_released"
    EVIDENCE_INVALID = "evidence_invalid"
    AMOUNT_TOO_LARGE = "amount_too_large"  # above what the payment processor charges at once
    AMOUNT_TOO_SMALL = "amount_too_small"  # below the processor's minimum charge
    ABOVE_MAXIMUM_DURATION = "above_maximum_duration"
    BEYOND_BOOKING_HORIZON = "beyond_booking_horizon"
    PAYMENT_DISPUTED = "payment_disputed"  # a card dispute is open on the payment
    INVALID_CURSOR = "invalid_cursor"  # a list's cursor that is not one of its next_cursor


class BookingError(Exception):
    def __init__(self, code: ErrorCode, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, for a refusal that a later try may pass
