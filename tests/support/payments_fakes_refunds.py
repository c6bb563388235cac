"""The fake repositories of payments' refunds, transfers (and their reversals) and deposits for
`FakeUnitOfWork` (tests/support/payments_fakes.py): `RefundsRepository`, `TransfersRepository`
and `DepositsRepository` in memory, so refunds', transfers', reversals' and deposits' `apply`
paths run without Postgres (tests/unit/test_payments_refunds_service.py,
test_payments_transfers_service.py).

The fakes keep what the tables keep: rows as dicts (a row read is a copy, as an asyncpg record
is a snapshot), the compare-and-set answers of every write, and the check that a payment never
gives back more than it captured (a refund writes to its payment's row: the payments fake's).
The same use cases on the real database: tests/integration/test_refunds.py, test_transfers.py,
test_deposits_claims.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domainkit.rows import from_row
from payments.domain.checkout import Split
from payments.domain.refunds import HOST_REFUND_METHODS, PaymentState, Refunded

if TYPE_CHECKING:
    from tests.support.payments_fakes import FakePaymentsRepository

Row = dict[str, Any]


class FakeRefundsRepository:
    """`payments.refunds` by refund id, and what a refund writes to its payment row."""

    def __init__(self, payments: FakePaymentsRepository) -> None:
        self.payments = payments
        self.rows: dict[str, Row] = {}
        self.disputed: set[str] = set()
        """Payments with a dispute that blocks refunds."""

    async def get_refund(self, refund_id: str, *, for_update: bool = False) -> Row | None:
        found = self.rows.get(refund_id)
        return dict(found) if found is not None else None

    async def payment_state(self, payment_id: str, *, for_update: bool = False) -> Any:
        row = self.payments.rows.get(payment_id)
        if row is None:
            return None
        splits = tuple(Split(**item) for item in row.get("splits") or ())
        return from_row(PaymentState, row, splits=splits, disputed=payment_id in self.disputed)

    async def refunded_by_booking(self, payment_id: str) -> dict[str, Refunded]:
        done: dict[str, Refunded] = {}
        for row in self.rows.values():
            if (row["payment_id"], row["status"], row.get("method")) == (
                payment_id,
                "succeeded",
                "refund",
            ):
                back = Refunded(
                    row["amount"], row.get("platform_fee", 0), row.get("tax", 0), row["host_amount"]
                )
                done[row["booking_id"]] = done.get(row["booking_id"], Refunded()) + back
        return done

    async def mark_succeeded(
        self, refund_id: str, method: str, stripe_refund_id: str | None
    ) -> float | None:
        row = self.rows[refund_id]
        row.update(status="succeeded", method=method, stripe_refund_id=stripe_refund_id)
        row["failure_code"] = None
        return 1.5

    async def mark_failed(
        self, refund_id: str, method: str | None, code: str, message: str
    ) -> None:
        row = self.rows[refund_id]
        row.update(status="failed", failure_code=code, last_error=f"{code}: {message}")
        row["method"] = method or row.get("method")

    async def add_refunded(self, payment_id: str, amount: int) -> None:
        row = self.payments.rows[payment_id]
        # The table's check: never more back than was captured.
        assert row["refunded_amount"] + amount <= row["captured_amount"], "over-refunded"
        row["refunded_amount"] += amount

    async def lower_charge(
        self, payment_id: str, from_status: str, *, amount: int, platform_fee: int, tax: int
    ) -> bool:
        row = self.payments.rows.get(payment_id)
        if row is None or row["status"] != from_status:
            return False
        row.update(amount=amount, platform_fee=platform_fee, tax=tax)
        return True


class FakeTransfersRepository:
    """`payments.transfers` by release id and `payments.transfer_reversals` by reversal key;
    refunds' rows are read for the host's refunded shares."""

    def __init__(self, refunds: FakeRefundsRepository) -> None:
        self.refunds = refunds
        self.rows: dict[str, Row] = {}
        self.reversals: dict[str, Row] = {}

    async def get_transfer(self, release_id: str, *, for_update: bool = False) -> Row | None:
        found = self.rows.get(release_id)
        return dict(found) if found is not None else None

    async def decide(self, row: Row) -> None:
        decided = ("status", "transfer_id", "failure_code", "failure_message")
        if row["release_id"] in self.rows:
            self.rows[row["release_id"]].update({c: row[c] for c in decided})
        else:
            self.rows[row["release_id"]] = {"amount_reversed": 0, **row}

    async def host_refunded(self, payment_id: str, booking_id: str) -> int:
        return sum(
            r["host_amount"]
            for r in self.refunds.rows.values()
            if (r["payment_id"], r["booking_id"]) == (payment_id, booking_id)
            and r["status"] in ("pending", "succeeded")
            and r.get("method") in HOST_REFUND_METHODS
        )

    def _left(self, transfer: Row) -> int:
        taken = sum(
            r["amount"]
            for r in self.reversals.values()
            if r["release_id"] == transfer["release_id"] and r["status"] in ("pending", "succeeded")
        )
        return int(transfer["amount"]) - taken

    async def reversible(self, payment_id: str, booking_id: str) -> list[Row]:
        """Newest first: the fake's rows are in the order they were made."""
        return [
            {**t, "left_amount": self._left(t)}
            for t in reversed(self.rows.values())
            if (t["payment_id"], t["booking_id"]) == (payment_id, booking_id)
            and t["status"] in ("pending", "created")
            and not t.get("destination_charge")
        ]

    async def add_reversal(self, row: Row) -> bool:
        if row["reversal_key"] in self.reversals:
            return False
        self.reversals[row["reversal_key"]] = {"status": "pending", **row}
        return True

    async def transfer_left(self, transfer_id: str) -> Row | None:
        for t in self.rows.values():
            if t.get("transfer_id") == transfer_id and t["status"] == "created":
                return {**t, "left_amount": self._left(t)}
        return None


class FakeDepositsRepository:
    """`payments.deposits` by payment id."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def insert_deposit(self, **row: Any) -> bool:
        if row["payment_id"] in self.rows:
            return False
        self.rows[row["payment_id"]] = {"status": "secured", "charged": 0, **row}
        return True

    async def release_deposit(self, payment_id: str, charged: int, reason: str | None) -> bool:
        row = self.rows.get(payment_id)
        if row is None or row["status"] != "secured":
            return False
        row.update(status="released", charged=min(charged, row["amount"]), release_reason=reason)
        return True
