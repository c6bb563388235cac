"""Builders of the events the checkout emits that others build too: booking.checkout_requested
(documents emits it once every document is signed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.domain.quote import Quote
from marketplace_contracts.events.booking import CheckoutRequestedV1, QuoteLine


def checkout_requested(row: Mapping[str, Any]) -> CheckoutRequestedV1:
    """The one place a booking asks payments for money (its checkout, or once its documents
    are signed)."""
    return CheckoutRequestedV1(
        booking_id=str(row["booking_id"]),
        guest_id=row["guest_id"],
        listing_id=row["listing_id"],
        host_id=row["host_id"],
        host_account_id=row["host_account_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        amount=row["amount"],
        currency=row["currency"],
        platform_fee=row["platform_fee"],
        payment_method=row["payment_method"],
        save_for_later=row["save_for_later"],
        tax=row["tax"],
        deposit_amount=row["deposit_amount"],
        payment_method_type=row["payment_method_type"],
        mandate_ip_address=row["mandate_ip_address"],
        mandate_user_agent=row["mandate_user_agent"],
        # What a dispute's evidence cites: where from, the policy and the quote accepted.
        client_ip=row["client_ip"],
        user_agent=row["user_agent"],
        cancellation_policy=row["policy"],
        quote_lines=[
            QuoteLine(code=line.code, description=line.description, amount=line.amount)
            for line in Quote.of_booking(row).lines
        ],
    )
