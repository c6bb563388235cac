"""Bank-debit (ACH Direct Debit) rules of a booking, pure: who may pay by bank debit, whether a
booking can be cancelled while its debit is processing, and what the gateway shows. The
use cases are in `features/bank_debits/service`; the rule itself is in docs/bank-debits.md."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from booking.domain.errors import BookingError, ErrorCode

CARD: Final = "card"
US_BANK_ACCOUNT: Final = "us_bank_account"
PAYMENT_METHOD_TYPES: Final = (CARD, US_BANK_ACCOUNT)
RETURNED_DEBIT_WINDOW: Final = "returned_debit_window"
"""Durable timer: the guest's window to pay a returned debit by card."""
PAYMENT_RETURNED: Final = "payment_returned"


class FundsStatus:
    PENDING: Final = "pending"
    RECEIVED: Final = "received"
    CLEARED: Final = "cleared"
    RETURNED: Final = "returned"


def check_allowed(
    listing: Mapping[str, Any],
    *,
    starts_at: datetime,
    currency: str,
    grouped: bool,
    min_lead: timedelta,
    now: datetime | None = None,
) -> None:
    """Raises 422 `bank_debit_not_allowed` with the reason when this checkout must pay by card
    (`min_lead`: `BOOKING_BANK_DEBIT_MIN_LEAD`, the least time from checkout to the start)."""
    lead = min_lead
    now = now or datetime.now(UTC)
    reason = None
    if grouped:
        reason = "a Linked Booking Group pays by card only"
    elif not listing["instant_book"]:
        reason = "only Instant Book listings take bank debits"
    elif not listing["accepts_bank_debit"]:
        reason = f"listing {listing['listing_id']} does not accept bank debits"
    elif (listing.get("deposit_amount") or 0) > 0:
        reason = "a listing with a security deposit needs a card"
    elif currency != "usd":
        reason = f"bank debits are in usd only, not {currency}"
    elif starts_at - now < lead:
        reason = (
            f"a bank debit takes days to settle: the booking must start at least "
            f"{_human(lead)} after checkout"
        )
    if reason is not None:
        raise BookingError(ErrorCode.BANK_DEBIT_NOT_ALLOWED, reason)


def _human(delta: timedelta) -> str:
    if delta.total_seconds() % 86400 == 0:
        days = int(delta.total_seconds() // 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{int(delta.total_seconds())} seconds"


def check_cancellable(row: Mapping[str, Any]) -> None:
    """409 `funds_pending`: a debit still processing cannot be refunded (Stripe refuses)."""
    if row["payment_method_type"] == US_BANK_ACCOUNT and row["funds_status"] == FundsStatus.PENDING:
        raise BookingError(
            ErrorCode.FUNDS_PENDING,
            "the bank debit of this booking has not settled yet; it can be cancelled once the "
            "funds are received (a few business days)",
        )


def view_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the gateway shows of how a booking is paid."""
    return {
        "payment_method_type": row["payment_method_type"],
        "funds_status": row["funds_status"],
        "bank_name": row["bank_name"],
        "bank_last4": row["bank_last4"],
    }


def receipt_method(bank_name: str | None, bank_last4: str | None) -> dict[str, Any]:
    """How a receipt names a bank-debit payment: the bank and the account's last 4 digits."""
    return {"type": US_BANK_ACCOUNT, "bank_name": bank_name, "last4": bank_last4}
