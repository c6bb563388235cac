"""Every SQL statement of amendments (booking.amendments), on one connection (a unit of
work's), and the mapping of its rows to the `Amendment` aggregate (`amendment_row`,
`amendment_of`).

Lock order: the booking (and its group, by `repository.get_booking`), then the amendment."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Quote
from booking.domain.refunds import Canceller
from booking.features.amendments.domain import Amendment, AmendmentKind, AmendmentStatus
from booking.features.amendments.domain.terms import Terms
from booking.service_layer.rows import columns

# The columns an `Amendment` holds as they are stored (the others are converted).
_AS_STORED = (
    "amendment_id booking_id previous delta currency respond_by needs_signatures correlation_id"
)


def amendment_row(amendment: Amendment) -> dict[str, Any]:
    """The columns a new amendment is inserted with (the others take their defaults)."""
    return {
        **{name: getattr(amendment, name) for name in _AS_STORED.split()},
        "kind": amendment.kind.value,
        "proposed_by": amendment.proposed_by.value,
        **asdict(amendment.terms),  # starts_at ends_at guests extras
        "quote": amendment.quote.as_dict(),
    }


def booking_terms(booking: Mapping[str, Any]) -> Terms:
    """A bookings row's current terms (or an amendments row's proposed ones)."""
    return Terms(booking["starts_at"], booking["ends_at"], booking["guests"], booking["extras"])


def document_ids(listing: Mapping[str, Any]) -> list[str]:
    """The ids of a listings row's required documents."""
    return [d["document_id"] for d in listing["required_documents"]]


def amendment_of(row: Mapping[str, Any], booking: Mapping[str, Any]) -> Amendment:
    """The aggregate of an amendments row and its booking's row."""
    return Amendment(
        **columns(row, _AS_STORED),
        **columns(booking, "guest_id host_id"),
        kind=AmendmentKind(row["kind"]),
        proposed_by=Canceller(row["proposed_by"]),
        status=AmendmentStatus(row["status"]),
        terms=booking_terms(row),
        quote=Quote.of(row["quote"]),
    )


class AmendmentsRepository:
    """The amendments table, and the terms columns of their bookings, read and written inside
    the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, amendment: Amendment) -> bool:
        """False when the booking has an open amendment already (a unique index: one at a
        time)."""
        row = amendment_row(amendment)
        names = ", ".join(row)
        params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    f"INSERT INTO booking.amendments ({names}) VALUES ({params})", *row.values()
                )
        except asyncpg.UniqueViolationError:
            return False
        return True

    async def lock(self, amendment_id: uuid.UUID) -> tuple[asyncpg.Record, Amendment] | None:
        """The amendment and its booking, both locked (booking first); None: no such
        amendment."""
        booking_id = await self.conn.fetchval(
            "SELECT booking_id FROM booking.amendments WHERE amendment_id = $1", amendment_id
        )
        if booking_id is None:
            return None
        booking = await repository.get_booking(self.conn, booking_id, for_update=True)
        am = await self.conn.fetchrow(
            "SELECT * FROM booking.amendments WHERE amendment_id = $1 FOR UPDATE", amendment_id
        )
        assert booking is not None and am is not None  # rows are never deleted
        return booking, amendment_of(am, booking)

    async def open_changes(self, booking_id: uuid.UUID) -> list[uuid.UUID]:
        """The booking's changes still waiting for an answer or a signature."""
        rows = await self.conn.fetch(
            "SELECT amendment_id FROM booking.amendments WHERE booking_id = $1 "
            "AND kind = 'change' AND status IN ('proposed', 'awaiting_signatures') "
            "ORDER BY created_at",
            booking_id,
        )
        return [r["amendment_id"] for r in rows]

    async def charging(self, booking_id: uuid.UUID) -> bool:
        """An amendment of the booking is having its increase charged."""
        found: bool = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM booking.amendments WHERE booking_id = $1 "
            "AND status = 'charging')",
            booking_id,
        )
        return found

    async def get(self, amendment_id: uuid.UUID) -> dict[str, Any] | None:
        """An amendment as stored, with its booking's guest and host."""
        row = await self.conn.fetchrow(
            "SELECT a.*, b.guest_id, b.host_id FROM booking.amendments a "
            "JOIN booking.bookings b USING (booking_id) WHERE a.amendment_id = $1",
            amendment_id,
        )
        return None if row is None else dict(row)

    async def tax_rates(self, jurisdiction: str) -> tuple[dict[str, int], str]:
        """The tax table's rates of `jurisdiction` (overtime is taxed as its booking was)."""
        return await repository.tax_rates(self.conn, jurisdiction)

    async def _update(
        self, amendment_id: uuid.UUID, assignments: str, *values: Any, where: str = ""
    ) -> bool:
        """Set `assignments` (`$2`... are `values`) on the amendment, if it is also `where`:
        False when no row changed."""
        narrowed = f" AND {where}" if where else ""
        done = await self.conn.execute(
            f"UPDATE booking.amendments SET {assignments} WHERE amendment_id = $1{narrowed}",
            amendment_id,
            *values,
        )
        return bool(done == "UPDATE 1")

    async def transition(
        self,
        amendment_id: uuid.UUID,
        from_status: AmendmentStatus,
        status: AmendmentStatus,
        failure_reason: str | None = None,
    ) -> bool:
        """Compare-and-set on the status read: False when the amendment is no longer in it."""
        return await self._update(
            amendment_id,
            "status = $3, failure_reason = $4, version = version + 1, updated_at = now()",
            from_status.value,
            status.value,
            failure_reason,
            where="status = $2",
        )

    async def mark_refund_pending(self, amendment_id: uuid.UUID) -> bool:
        """An applied decrease: its refund is requested (cancellations records how it ends)."""
        return await self._update(amendment_id, "refund_status = 'pending'")

    async def record_charge_payment(self, amendment_id: uuid.UUID, payment_id: str) -> bool:
        """The payment of an increase: a cancellation later refunds from it too."""
        return await self._update(amendment_id, "charge_payment_id = $2", payment_id)

    async def set_booking_terms(
        self, booking: Mapping[str, Any], terms: Terms, quote: Quote
    ) -> bool:
        """Write a booking's terms and price (compare-and-set on the version read with it:
        False when it changed meanwhile); the exclusion constraint re-checks the time range
        (409 `slot_unavailable`)."""
        try:
            async with self.conn.transaction():
                return await repository.update_booking(
                    self.conn,
                    booking["booking_id"],
                    booking["version"],
                    starts_at=terms.starts_at,
                    ends_at=terms.ends_at,
                    guests=terms.guests,
                    extras=terms.extras,
                    quote=quote.as_dict(),
                    amount=quote.total,
                    platform_fee=quote.platform_fee,
                    tax=quote.tax,
                )
        except asyncpg.ExclusionViolationError:
            raise BookingError(
                ErrorCode.SLOT_UNAVAILABLE, "the listing is already booked for part of that time"
            ) from None

    async def lock_awaiting_envelope(self, amendment_id: str) -> asyncpg.Record | None:
        """The amendment (locked) with its booking's guest and listing, to send its
        envelope."""
        return await self.conn.fetchrow(
            "SELECT a.*, b.guest_id, b.listing_id FROM booking.amendments a "
            "JOIN booking.bookings b USING (booking_id) WHERE a.amendment_id = $1 "
            "FOR UPDATE OF a",
            uuid.UUID(amendment_id),
        )

    async def set_envelope(
        self, amendment_id: uuid.UUID, envelope_id: str, signing_url: str | None
    ) -> None:
        await self._update(
            amendment_id,
            "envelope_id = $2, signing_url = $3, updated_at = now()",
            envelope_id,
            signing_url,
        )

    async def by_envelope(self, envelope_id: str) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.conn.fetchval(
            "SELECT amendment_id FROM booking.amendments WHERE envelope_id = $1", envelope_id
        )
        return found

    async def applied_charges(self, booking_id: uuid.UUID) -> list[asyncpg.Record]:
        """The booking's applied increases that an extra charge paid, oldest first."""
        return list(
            await self.conn.fetch(
                "SELECT charge_payment_id, delta, previous, quote FROM booking.amendments "
                "WHERE booking_id = $1 "
                "AND status = 'applied' AND delta > 0 AND charge_payment_id IS NOT NULL "
                "ORDER BY created_at",
                booking_id,
            )
        )

    async def set_refund_outcome(
        self, amendment_id: uuid.UUID, status: str, failure: str | None
    ) -> None:
        """A decrease's refund outcome, while it is still pending (or failed and retried)."""
        await self._update(
            amendment_id,
            "refund_status = $2, refund_failure = $3, updated_at = now()",
            status,
            failure,
            where="refund_status IN ('pending', 'failed')",
        )
