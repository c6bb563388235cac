"""The fake repositories of payments' disputes, bank debits and Stripe webhooks for
`FakeUnitOfWork` (tests/support/payments_fakes.py): the methods of `DisputesRepository`,
`BankDebitsRepository` and `WebhooksRepository` that those use cases call, in memory, so card
disputes, returned bank debits and the webhook worker's events run without Postgres
(tests/unit/test_payments_disputes_service.py, test_payments_bank_debits_service.py).

The fakes keep what the tables keep: rows as dicts (a row read is a copy, as an asyncpg record
is a snapshot), the columns' defaults, the unique keys that make a fact once (`dispute_id`,
`balance_transaction_id`, `request_id`, `warning_id`) and the compare-and-set of every guarded
write; what they read and write of payments is the payments fake's rows. The same use cases on
the real database: tests/integration/test_card_disputes.py, test_bank_debits.py,
test_stripe_webhooks.py, test_payments_dispute_repository.py and test_payments_repositories.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from payments.adapters.stripe_disputes import BalanceMove
from payments.domain.checkout import US_BANK_ACCOUNT

if TYPE_CHECKING:
    from tests.support.payments_fakes import FakePaymentsRepository


class FakeDisputesRepository:
    def __init__(self, payments: FakePaymentsRepository) -> None:
        self.payments = payments
        self.disputes: dict[str, dict[str, Any]] = {}
        self.moves: dict[str, tuple[str, BalanceMove]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.warnings: dict[str, dict[str, Any]] = {}

    async def payment_of_charge(
        self, charge_id: str | None, payment_intent_id: str | None
    ) -> dict[str, Any] | None:
        rows = self.payments.rows.values()
        by_charge = [r for r in rows if charge_id is not None and r["charge_id"] == charge_id]
        by_intent = [r for r in rows if r["payment_intent_id"] == payment_intent_id]
        found = (by_charge or by_intent or [None])[0]
        return dict(found) if found is not None else None

    async def open_dispute(self, row: dict[str, Any]) -> bool:
        if row["dispute_id"] in self.disputes:
            return False
        defaults = {"has_evidence": False, "submission_count": 0, "closed_at": None}
        self.disputes[row["dispute_id"]] = {**defaults, "accepting": False, **row}
        return True

    async def lock(self, dispute_id: str) -> dict[str, Any] | None:
        return await self.get(dispute_id)

    async def get(self, dispute_id: str) -> dict[str, Any] | None:
        found = self.disputes.get(dispute_id)
        return dict(found) if found is not None else None

    async def advance(
        self,
        dispute_id: str,
        *,
        status: str,
        due_by: datetime | None,
        has_evidence: bool,
        submission_count: int,
    ) -> None:
        row = self.disputes[dispute_id]
        row.update(
            status=status,
            due_by=due_by or row["due_by"],
            has_evidence=has_evidence,
            submission_count=max(row["submission_count"], submission_count),
        )

    async def close(
        self, dispute_id: str, status: str, closed_at: datetime
    ) -> dict[str, Any] | None:
        row = self.disputes.get(dispute_id)
        if row is None or row["closed_at"] is not None:
            return None
        row.update(status=status, closed_at=closed_at)
        return dict(row)

    async def add_move(self, dispute_id: str, move: BalanceMove) -> bool:
        if move.id in self.moves:
            return False
        self.moves[move.id] = (dispute_id, move)
        return True

    async def set_accepting(self, dispute_id: str, accepting: bool) -> None:
        row = self.disputes.get(dispute_id)
        if row is not None and row["closed_at"] is None:
            row["accepting"] = accepting

    async def get_action(self, request_id: str) -> dict[str, Any] | None:
        found = self.actions.get(request_id)
        return dict(found) if found is not None else None

    async def record_action(self, row: dict[str, Any]) -> bool:
        if row["request_id"] in self.actions:
            return False
        self.actions[row["request_id"]] = dict(row)
        return True

    async def add_fraud_warning(self, row: dict[str, Any]) -> bool:
        if row["warning_id"] in self.warnings:
            return False
        self.warnings[row["warning_id"]] = dict(row)
        return True


class FakeBankDebitsRepository:
    def __init__(self, payments: FakePaymentsRepository) -> None:
        self.payments = payments

    async def lock_debit_by_charge(
        self, charge_id: str | None, intent_id: str | None
    ) -> dict[str, Any] | None:
        for row in self.payments.rows.values():
            named = row["charge_id"] == charge_id or row["payment_intent_id"] == intent_id
            if named and row["payment_method_type"] == US_BANK_ACCOUNT:
                return dict(row)
        return None

    async def record_settlement(
        self, payment_id: str, succeeded_at: datetime, hold_until: datetime
    ) -> bool:
        row = self.payments.rows.get(payment_id)
        if row is not None:
            row.update(succeeded_at=succeeded_at, funds_hold_until=hold_until)
        return row is not None


class FakeWebhooksRepository:
    def __init__(self) -> None:
        self.host_accounts: dict[str, tuple[tuple[bool, bool, bool], datetime]] = {}

    async def upsert_host_account(
        self, host_account_id: str, state: tuple[bool, bool, bool], reported_at: datetime
    ) -> bool:
        known = self.host_accounts.get(host_account_id)
        if known is not None and known[1] > reported_at:
            return False
        self.host_accounts[host_account_id] = (state, reported_at)
        return True
