"""The one place where domain error codes become HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from booking.domain.errors import BookingError, ErrorCode
from eventkit.http_errors import error_body, error_response

__all__ = ["STATUS", "error_body", "install", "status_for"]

STATUS: dict[ErrorCode, int] = {
    ErrorCode.LISTING_NOT_FOUND: 404,
    ErrorCode.BOOKING_NOT_FOUND: 404,
    ErrorCode.LISTING_INACTIVE: 409,
    ErrorCode.SLOT_UNAVAILABLE: 409,
    ErrorCode.ILLEGAL_TRANSITION: 409,
    ErrorCode.INVALID_TIME_RANGE: 422,
    ErrorCode.BELOW_MINIMUM_DURATION: 422,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.VALIDATION_FAILED: 422,
    ErrorCode.INVITE_NOT_FOUND: 404,
    ErrorCode.INVITE_EXPIRED: 409,
    ErrorCode.INVITE_WITHDRAWN: 409,
    ErrorCode.INVITE_CLOSED: 409,
    ErrorCode.GROUP_NOT_FOUND: 404,
    ErrorCode.MIXED_CURRENCIES: 422,
    ErrorCode.QUOTE_NOT_FOUND: 404,
    ErrorCode.QUOTE_EXPIRED: 409,
    ErrorCode.QUOTE_MISMATCH: 422,
    ErrorCode.POLICY_UNKNOWN: 409,
    ErrorCode.AMENDMENT_NOT_FOUND: 404,
    ErrorCode.AMENDMENT_PENDING: 409,
    ErrorCode.OVERTIME_WINDOW_CLOSED: 409,
    ErrorCode.POLICY_CONFLICT: 409,
    ErrorCode.HOST_CANNOT_TAKE_CHARGES: 409,
    ErrorCode.RECEIPT_NOT_FOUND: 404,
    ErrorCode.BANK_DEBIT_NOT_ALLOWED: 422,
    ErrorCode.FUNDS_PENDING: 409,
    ErrorCode.NO_DEPOSIT: 409,
    ErrorCode.CLAIM_NOT_FOUND: 404,
    ErrorCode.CLAIM_WINDOW_CLOSED: 409,
    ErrorCode.CLAIM_EXCEEDS_DEPOSIT: 422,
    ErrorCode.CLAIM_OPEN: 409,
    ErrorCode.CLAIM_RESPONSE_WINDOW_CLOSED: 409,
    ErrorCode.DEPOSIT_RELEASED: 409,
    ErrorCode.EVIDENCE_INVALID: 422,
    ErrorCode.AMOUNT_TOO_LARGE: 422,
    ErrorCode.AMOUNT_TOO_SMALL: 422,
    ErrorCode.ABOVE_MAXIMUM_DURATION: 422,
    ErrorCode.BEYOND_BOOKING_HORIZON: 422,
    ErrorCode.PAYMENT_DISPUTED: 409,
    ErrorCode.INVALID_CURSOR: 422,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.OVERLOADED: 503,
}


def status_for(error: BookingError) -> int:
    return STATUS[error.code]


def install(app: FastAPI) -> None:
    """Booking's refusals in the shared error body (eventkit.http_errors handles the rest)."""

    @app.exception_handler(BookingError)
    async def _booking_error(request: Request, exc: BookingError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == ErrorCode.UNAUTHENTICATED else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(request, status_for(exc), exc.code, exc.message, headers=headers)
