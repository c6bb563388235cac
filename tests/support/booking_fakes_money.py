"""The fake repositories of booking's money features for `FakeUnitOfWork`
(tests/support/booking_fakes.py): bank debits' (`BankDebitsRepository`), cancellations'
(`CancellationsRepository`) and receipts' (`ReceiptsRepository`), with what their tables keep: the cancelled booking's version
compare-and-set, one refund per booking and its requests answered once, the policies' versions,
one receipt per id and one journal per source event. The same use cases on the real database:
tests/integration/test_cancellations.py, test_bank_debits.py and test_deposits_claims.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from booking.domain.refunds import CancellationRefund, RefundProgress
from eventkit.rows import expect_changed
from tests.support.booking_fakes import NOW, FakeBookingsRepository, FakeGroupsRepository


class FakeBankDebitsRepository:
    """The bookings' rows (shared with the bookings repository, as the table is), changed by a
    compare-and-set on the version read under the lock."""

    def __init__(self, bookings: FakeBookingsRepository) -> None:
        self.bookings = bookings

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        await self.bookings.change_booking(booking_id, version, **changes)


class FakeCancellationsRepository(FakeBankDebitsRepository):
    """The refunds cancellations decided (booking.refunds, shown on the booking's row as its
    `refund` document), the cancelled bookings' rows (changed as bank debits' are) and the
    cancellation policies, by name, every version."""

    def __init__(self, bookings: FakeBookingsRepository) -> None:
        super().__init__(bookings)
        self.refunds: dict[uuid.UUID, CancellationRefund] = {}
        self.succeeded: dict[uuid.UUID, list[str]] = {}
        self.policies: dict[str, list[dict[str, Any]]] = {}

    async def record_refund(self, booking_id: uuid.UUID, refund: CancellationRefund) -> None:
        assert booking_id not in self.refunds  # booking.refunds' primary key
        self.refunds[booking_id] = refund
        self.succeeded[booking_id] = []
        self.bookings.bookings[booking_id]["refund"] = {
            "booking_id": str(booking_id),
            "cancelled_by": refund.cancelled_by.value,
            "policy": refund.policy,
            "currency": refund.currency,
            **refund.decision.as_dict(),
            "refund_id": refund.refund_id,
            "refund_ids": list(refund.requested),
        }

    async def refund_progress(self, booking_id: uuid.UUID) -> RefundProgress | None:
        refund = self.refunds.get(booking_id)
        if refund is None:
            return None
        return RefundProgress(refund.requested, tuple(self.succeeded[booking_id]))

    async def refund_succeeded(self, booking_id: uuid.UUID, refund_id: str) -> None:
        made = self.succeeded[booking_id]
        expect_changed(
            refund_id in self.refunds[booking_id].requested and refund_id not in made,
            f"refund request {refund_id}",
        )
        made.append(refund_id)

    async def newest_policies(self) -> list[dict[str, Any]]:
        return [versions[-1] for _, versions in sorted(self.policies.items())]

    async def latest_policy(self, name: str) -> dict[str, Any] | None:
        versions = self.policies.get(name)
        return versions[-1] if versions else None

    async def insert_policy(self, definition: dict[str, Any]) -> bool:
        versions = self.policies.setdefault(definition["name"], [])
        if any(v["version"] == definition["version"] for v in versions):  # (name, version)
            return False
        versions.append(definition)
        return True


class FakeReceiptsRepository:
    """The receipts (once per id), finance's journals (once per source event), and the cards
    kept on the bookings' and groups' rows (shared with those repositories, as the tables are)."""

    def __init__(self, bookings: FakeBookingsRepository, groups: FakeGroupsRepository) -> None:
        self.bookings = bookings
        self.groups = groups
        self.receipts: dict[str, dict[str, Any]] = {}
        self.journals: dict[uuid.UUID, dict[str, Any]] = {}

    async def save_card(
        self, *, booking_id: str, group_id: str | None, brand: str | None, last4: str
    ) -> None:
        rows = self.groups.rows if group_id else self.bookings.bookings
        row = rows.get(uuid.UUID(group_id or booking_id))
        if row is not None:
            row.update(card_brand=brand, card_last4=last4)

    async def payer(
        self, booking_id: str, group_id: str | None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        card = ("card_brand", "card_last4")
        if group_id is not None:
            group = self.groups.rows.get(uuid.UUID(group_id))
            legs = await self.groups.legs(uuid.UUID(group_id))
            payer = {k: group[k] for k in ("guest_id", *card)} if group else None
            return payer, [{k: leg[k] for k in ("booking_id", "quote")} for leg in legs]
        row = self.bookings.bookings.get(uuid.UUID(booking_id))
        if row is None:
            return None, []
        names = ("booking_id", "guest_id", *card, "quote", "group_id")
        booking = {k: row[k] for k in names}
        if booking["group_id"] is not None and booking["card_last4"] is None:
            group = self.groups.rows.get(booking["group_id"])
            booking = {**booking, **{k: group[k] for k in card}} if group else booking
        return booking, [booking]

    async def bank_account(self, booking_id: str) -> dict[str, Any] | None:
        row = self.bookings.bookings.get(uuid.UUID(booking_id))
        names = ("payment_method_type", "payment_id", "bank_name", "bank_last4")
        return {k: row[k] for k in names} if row else None

    async def refundable(self, payment_id: str, refund_receipt_id: str) -> dict[str, Any] | None:
        capture = self.receipts.get(f"rcpt_{payment_id}")
        if capture is None:
            return None
        refunded = sum(
            r["amount"]
            for r in self.receipts.values()
            if r["payment_id"] == payment_id
            and r["kind"] == "refund"
            and r["receipt_id"] != refund_receipt_id
        )
        return {
            **{k: capture[k] for k in ("amount", "booking_id", "group_id")},
            "refunded": refunded,
        }

    async def paid_by(self, booking_id: str) -> tuple[int, set[str]] | None:
        row = self.bookings.bookings.get(uuid.UUID(booking_id))
        if row is None:
            return None
        group = self.groups.rows.get(row["group_id"]) if row.get("group_id") else None
        payments = {row.get("payment_id"), (group or {}).get("payment_id")}
        return row["amount"], {p for p in payments if p}

    async def insert(self, receipt: dict[str, Any]) -> None:
        self.receipts.setdefault(receipt["receipt_id"], {**receipt, "issued_at": NOW})

    async def record_journal(
        self, source_event_id: uuid.UUID, journal_id: str, kind: str, postings: list[dict[str, Any]]
    ) -> None:
        journal = {"journal_id": journal_id, "journal_kind": kind, "postings": postings}
        self.journals.setdefault(source_event_id, journal)

    async def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        found = self.receipts.get(receipt_id)
        return self._with_journal(found) if found is not None else None

    def _with_journal(self, receipt: dict[str, Any]) -> dict[str, Any]:
        none = {"journal_id": None, "journal_kind": None, "postings": None}
        return {**receipt, **self.journals.get(receipt["source_event_id"], none)}
