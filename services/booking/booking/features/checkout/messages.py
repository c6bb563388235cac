"""Builders of the events the checkout emits that others build too: booking.checkout_requested
(documents emits it once every document is signed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.domain.model import BookingMode
from booking.domain.quote import Quote
from booking.features.bank_debits.domain import CARD
from booking.service_layer.rows import columns
from marketplace_contracts.events.booking import CheckoutRequestedV1, QuoteLine


def checkout_requested(row: Mapping[str, Any]) -> CheckoutRequestedV1:
    """The one place a booking asks payments for money (its checkout, or once its documents
    are signed)."""
    return CheckoutRequestedV1(
        booking_id=str(row["booking_id"]),
        **columns(
            row,
            "guest_id listing_id host_id host_account_id starts_at ends_at amount currency "
            "platform_fee payment_method save_for_later tax deposit_amount payment_method_type "
            "mandate_ip_address mandate_user_agent",
        ),
        capture_at_checkout=charged_at_checkout(row),
        # What a dispute's evidence cites: where from, the policy and the quote accepted.
        **columns(row, "client_ip user_agent"),
        cancellation_policy=row["policy"],
        quote_lines=[
            QuoteLine(code=line.code, description=line.description, amount=line.amount)
            for line in Quote.of_booking(row).lines
        ],
    )


def charged_at_checkout(row: Mapping[str, Any]) -> bool:
    """An Instant Book paid by card now: charged at once, and confirmed on the capture (only
    its payment stands between it and its confirmation). A card saved for later, a bank debit
    and a request its host answers first are not."""
    return (
        row["mode"] == BookingMode.INSTANT
        and not row["save_for_later"]
        and (row["payment_method_type"] or CARD) == CARD
    )
