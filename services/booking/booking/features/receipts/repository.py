"""SQL of receipts: who paid and with what, the receipts themselves, and finance's journals
shown on them, on one connection (a unit of work's)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

_VIEW = (
    "SELECT r.*, j.journal_id, j.kind AS journal_kind, j.postings FROM booking.receipts r "
    "LEFT JOIN booking.ledger_journals j USING (source_event_id)"
)


class ReceiptsRepository:
    """Receipts and what they show, read and written inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_card(
        self, *, booking_id: str, group_id: str | None, brand: str | None, last4: str
    ) -> None:
        """The card's brand and last 4 digits, on the group that paid, else on the booking."""
        if group_id is not None:
            await self.conn.execute(
                "UPDATE booking.checkout_groups SET card_brand = $2, card_last4 = $3 "
                "WHERE group_id = $1",
                uuid.UUID(group_id),
                brand,
                last4,
            )
            return
        await self.conn.execute(
            "UPDATE booking.bookings SET card_brand = $2, card_last4 = $3 WHERE booking_id = $1",
            uuid.UUID(booking_id),
            brand,
            last4,
        )

    async def payer(
        self, booking_id: str, group_id: str | None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Who paid (guest, card), and the legs paid for with their quotes (a group's, or the one
        booking). A group leg's own extra charge or refund was paid with the group's card."""
        if group_id is not None:
            group = await self.conn.fetchrow(
                "SELECT guest_id, card_brand, card_last4 FROM booking.checkout_groups "
                "WHERE group_id = $1",
                uuid.UUID(group_id),
            )
            legs = await self.conn.fetch(
                "SELECT booking_id, quote FROM booking.bookings WHERE group_id = $1 "
                "ORDER BY booking_id",
                uuid.UUID(group_id),
            )
            return (dict(group) if group else None), [dict(leg) for leg in legs]
        row = await self.conn.fetchrow(
            "SELECT booking_id, guest_id, card_brand, card_last4, quote, group_id "
            "FROM booking.bookings WHERE booking_id = $1",
            uuid.UUID(booking_id),
        )
        if row is None:
            return None, []
        booking = dict(row)
        if booking["group_id"] is not None and booking["card_last4"] is None:
            card = await self.conn.fetchrow(
                "SELECT card_brand, card_last4 FROM booking.checkout_groups WHERE group_id = $1",
                booking["group_id"],
            )
            booking = {**booking, **dict(card)} if card else booking
        return booking, [booking]

    async def bank_account(self, booking_id: str) -> asyncpg.Record | None:
        """How the booking was paid, with the bank's name and last 4 digits when by bank debit."""
        return await self.conn.fetchrow(
            "SELECT payment_method_type, payment_id, bank_name, bank_last4 FROM booking.bookings "
            "WHERE booking_id = $1",
            uuid.UUID(booking_id),
        )

    async def refundable(self, payment_id: str, refund_receipt_id: str) -> dict[str, Any] | None:
        """The receipt of `payment_id`'s capture (what it took, for which booking or group) and
        what the refund receipts of that payment (but `refund_receipt_id`) gave back; None
        without a capture receipt."""
        row = await self.conn.fetchrow(
            "SELECT c.amount, c.booking_id, c.group_id, (SELECT coalesce(sum(r.amount), 0)::bigint "
            "FROM booking.receipts r WHERE r.payment_id = c.payment_id AND r.kind = 'refund' "
            "AND r.receipt_id <> $2) AS refunded FROM booking.receipts c "
            "WHERE c.receipt_id = 'rcpt_' || $1",
            payment_id,
            refund_receipt_id,
        )
        return None if row is None else dict(row)

    async def paid_by(self, booking_id: str) -> tuple[int, set[str]] | None:
        """A booking's amount and the payments that hold it (its own; its group's)."""
        row = await self.conn.fetchrow(
            "SELECT b.amount, b.payment_id, g.payment_id AS group_payment_id "
            "FROM booking.bookings b LEFT JOIN booking.checkout_groups g USING (group_id) "
            "WHERE b.booking_id = $1",
            uuid.UUID(booking_id),
        )
        if row is None:
            return None
        return row["amount"], {p for p in (row["payment_id"], row["group_payment_id"]) if p}

    async def insert(self, receipt: dict[str, Any]) -> None:
        """Once per receipt id: a redelivered fact issues nothing again."""
        columns = ", ".join(receipt)
        params = ", ".join(f"${i}" for i in range(1, len(receipt) + 1))
        await self.conn.execute(
            f"INSERT INTO booking.receipts ({columns}) VALUES ({params}) "
            "ON CONFLICT (receipt_id) DO NOTHING",
            *receipt.values(),
        )

    async def record_journal(
        self, source_event_id: uuid.UUID, journal_id: str, kind: str, postings: list[dict[str, Any]]
    ) -> None:
        await self.conn.execute(
            "INSERT INTO booking.ledger_journals (source_event_id, journal_id, kind, postings) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (source_event_id) DO NOTHING",
            source_event_id,
            journal_id,
            kind,
            postings,
        )

    async def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(f"{_VIEW} WHERE r.receipt_id = $1", receipt_id)
        return dict(row) if row is not None else None
