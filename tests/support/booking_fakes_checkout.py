"""The checkout's repository in memory (`CheckoutRepository`, features/checkout/repository.py),
for tests/unit/test_checkout_service.py; `FakeUnitOfWork` (booking_fakes.py) carries it as
`checkout`, on the same bookings and listings as `FakeBookingsRepository`.

It keeps what the table keeps: the columns' defaults, the exclusion constraint (one holding
booking per listing and time), the version compare-and-set, and the 3-D Secure step written
only while the booking is still pending payment.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from eventkit.rows import expect_changed

if TYPE_CHECKING:
    from tests.support.booking_fakes import FakeBookingsRepository

# The exclusion constraint's WHERE (ex_bookings_no_overlap): the statuses that hold a slot.
HOLDING = {
    "pending_payment",
    "awaiting_host",
    "confirmed",
    "completed",
    "payment_due",
    "awaiting_signatures",
}
# What a new row holds that the checkout does not write (the columns' defaults).
DEFAULTS: dict[str, Any] = {
    "payment_status": "none",
    "version": 1,
    **dict.fromkeys(
        "payment_id failure_reason failure_detail pay_by signing_url cancelled_by cancelled_at "
        "authorization_renewed_at refund refund_status refund_failure refunded_amount "
        "next_action deposit_charged deposit_released_at funds_status bank_name bank_last4 "
        "card_brand card_last4 envelope_id".split()
    ),
}


class FakeCheckoutRepository:
    def __init__(self, bookings: FakeBookingsRepository) -> None:
        self.bookings = bookings
        self.listings = bookings.listings

    async def listing_with_terms(self, listing_id: str) -> dict[str, Any] | None:
        found = self.listings.get(listing_id)
        return dict(found) if found is not None else None

    async def insert_booking(self, booking: dict[str, Any]) -> dict[str, Any] | None:
        for held in self.bookings.bookings.values():
            if (
                held["listing_id"] == booking["listing_id"]
                and held["status"] in HOLDING
                and held["starts_at"] < booking["ends_at"]
                and booking["starts_at"] < held["ends_at"]
            ):
                return None
        from tests.support.booking_fakes import NOW

        row = {**DEFAULTS, **booking, "created_at": NOW, "updated_at": NOW}
        self.bookings.bookings[booking["booking_id"]] = row
        return dict(row)

    async def set_next_action(
        self, booking_id: str, group_id: str | None, action: dict[str, Any], payment_id: str
    ) -> None:
        assert group_id is None, "a group's step is on the group (not faked)"
        row = self.bookings.bookings.get(uuid.UUID(booking_id))
        if row is not None and row["status"] == "pending_payment":
            row.update(next_action=action, payment_id=payment_id)

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        row = self.bookings.bookings.get(booking_id)
        changed = row is not None and row["version"] == version
        expect_changed(changed, f"booking {booking_id}")
        assert row is not None
        row.update(changes, version=version + 1)
