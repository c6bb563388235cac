"""Amendments' repository in memory, for booking's unit of work in memory
(tests/support/booking_fakes.py, `FakeUnitOfWork.amendments`): what the amendment use cases
reach through `uow.amendments` (features/amendments/repository.py).

It keeps what the tables keep: amendments rows as dicts with the columns' defaults, mapped to
the aggregate as the real repository maps them (`amendment_row`, `amendment_of`); the unique
index of one open amendment per booking; the status compare-and-set; and, on the bookings'
rows (shared with the bookings repository, as the table is), the version compare-and-set and
the exclusion constraint that forbids two holding bookings of a listing to overlap. What
other features reach with their own connection (signing, refunds) is not here: the same
flows on Postgres are tests/integration/test_amendments.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import HOLDING_STATUSES
from booking.domain.quote import Quote
from booking.features.amendments.domain import Amendment, AmendmentStatus
from booking.features.amendments.domain.terms import Terms
from booking.features.amendments.repository import amendment_of, amendment_row

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)
# uq_amendments_one_open (migration 0013): at most one of a booking's amendments in these.
ONE_OPEN = ("proposed", "charging", "awaiting_signatures")


class BookingRows(Protocol):
    bookings: dict[uuid.UUID, dict[str, Any]]


class FakeAmendmentsRepository:
    """The amendments by id; `taxes`: the tax table's rates by jurisdiction."""

    def __init__(self, bookings: BookingRows) -> None:
        self.bookings = bookings
        self.rows: dict[uuid.UUID, dict[str, Any]] = {}
        self.taxes: dict[str, dict[str, int]] = {}

    async def charging(self, booking_id: uuid.UUID) -> bool:
        return any(
            r["booking_id"] == booking_id and r["status"] == "charging" for r in self.rows.values()
        )

    async def open_changes(self, booking_id: uuid.UUID) -> list[uuid.UUID]:
        return [
            amendment_id
            for amendment_id, r in self.rows.items()
            if r["booking_id"] == booking_id
            and r["kind"] == "change"
            and r["status"] in ("proposed", "awaiting_signatures")
        ]

    async def insert(self, amendment: Amendment) -> bool:
        row = amendment_row(amendment)
        if any(
            r["booking_id"] == row["booking_id"] and r["status"] in ONE_OPEN
            for r in self.rows.values()
        ):
            return False
        defaults = dict.fromkeys(
            "failure_reason refund_failure charge_payment_id envelope_id signing_url".split()
        )
        self.rows[amendment.amendment_id] = {
            **defaults,
            **row,
            "status": "proposed",
            "refund_status": "none",
            "version": 0,
            "created_at": NOW,
            "updated_at": NOW,
        }
        return True

    async def lock(self, amendment_id: uuid.UUID) -> tuple[dict[str, Any], Amendment] | None:
        row = self.rows.get(amendment_id)
        if row is None:
            return None
        booking = dict(self.bookings.bookings[row["booking_id"]])
        return booking, amendment_of(row, booking)

    async def get(self, amendment_id: uuid.UUID) -> dict[str, Any] | None:
        row = self.rows.get(amendment_id)
        if row is None:
            return None
        booking = self.bookings.bookings[row["booking_id"]]
        return {**row, "guest_id": booking["guest_id"], "host_id": booking["host_id"]}

    async def lock_awaiting_envelope(self, amendment_id: str) -> dict[str, Any] | None:
        """The amendment with its booking's guest and listing (documents' envelope timer)."""
        row = self.rows.get(uuid.UUID(amendment_id))
        if row is None:
            return None
        booking = self.bookings.bookings[row["booking_id"]]
        return {**row, "guest_id": booking["guest_id"], "listing_id": booking["listing_id"]}

    async def set_envelope(
        self, amendment_id: uuid.UUID, envelope_id: str, signing_url: str | None
    ) -> None:
        self._set(amendment_id, envelope_id=envelope_id, signing_url=signing_url)

    async def by_envelope(self, envelope_id: str) -> uuid.UUID | None:
        found = [a for a, row in self.rows.items() if row["envelope_id"] == envelope_id]
        return found[0] if found else None

    async def tax_rates(self, jurisdiction: str) -> tuple[dict[str, int], str]:
        return dict(self.taxes[jurisdiction]), "fake-1"

    async def transition(
        self,
        amendment_id: uuid.UUID,
        from_status: AmendmentStatus,
        status: AmendmentStatus,
        failure_reason: str | None = None,
    ) -> bool:
        row = self.rows.get(amendment_id)
        if row is None or row["status"] != from_status.value:
            return False
        row.update(status=status.value, failure_reason=failure_reason, version=row["version"] + 1)
        return True

    async def mark_refund_pending(self, amendment_id: uuid.UUID) -> bool:
        return self._set(amendment_id, refund_status="pending")

    async def record_charge_payment(self, amendment_id: uuid.UUID, payment_id: str) -> bool:
        return self._set(amendment_id, charge_payment_id=payment_id)

    async def set_booking_terms(
        self, booking: Mapping[str, Any], terms: Terms, quote: Quote
    ) -> bool:
        row = self.bookings.bookings.get(booking["booking_id"])
        if row is None or row["version"] != booking["version"]:
            return False
        if any(self._overlaps(other, row, terms) for other in self.bookings.bookings.values()):
            raise BookingError(
                ErrorCode.SLOT_UNAVAILABLE, "the listing is already booked for part of that time"
            )
        row.update(
            starts_at=terms.starts_at,
            ends_at=terms.ends_at,
            guests=terms.guests,
            extras=terms.extras,
            quote=quote.as_dict(),
            amount=quote.total,
            platform_fee=quote.platform_fee,
            tax=quote.tax,
            version=row["version"] + 1,
        )
        return True

    @staticmethod
    def _overlaps(other: Mapping[str, Any], row: Mapping[str, Any], terms: Terms) -> bool:
        """ex_bookings_no_overlap: another holding booking of the listing in the range."""
        return (
            other["booking_id"] != row["booking_id"]
            and other["listing_id"] == row["listing_id"]
            and other["status"] in HOLDING_STATUSES
            and other["starts_at"] < terms.ends_at
            and terms.starts_at < other["ends_at"]
        )

    def _set(self, amendment_id: uuid.UUID, **changes: Any) -> bool:
        row = self.rows.get(amendment_id)
        if row is None:
            return False
        row.update(changes)
        return True
