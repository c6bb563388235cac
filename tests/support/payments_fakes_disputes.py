"""payments' unit of work in memory for disputes, bank debits and Stripe webhooks: fake
repositories with the methods of the real ones that those use cases call (`DisputesRepository`,
`BankDebitsRepository`, `WebhooksRepository`, and of `PaymentsRepository` what those paths
read and write), and an outbox that records, so their use cases run without Postgres
(tests/unit/test_payments_disputes_service.py, test_payments_bank_debits_service.py).

The fakes keep what the tables keep: rows as dicts (a row read is a copy, as an asyncpg record
is a snapshot), the columns' defaults, the unique keys that make a fact once (`dispute_id`,
`balance_transaction_id`, `request_id`, `warning_id`, `stripe_event_id`) and the
compare-and-set of every guarded write. The same use cases on the real database:
tests/integration/test_card_disputes.py, test_bank_debits.py, test_stripe_webhooks.py and
test_payments_repositories.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from marketplace_contracts import Envelope, EventModel
from payments.adapters.stripe_disputes import BalanceMove
from payments.domain.checkout import US_BANK_ACCOUNT
from payments.domain.payment import PaymentStatus, PaymentTrigger, next_status
from payments.service_layer.unit_of_work import UnitOfWork
from tests.support.booking_fakes import FakeOutbox as _RecordingOutbox

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)


class FakeOutbox(_RecordingOutbox):
    """What was written to the outbox, in order; a reply records its key and its cause."""

    async def reply(
        self, conn: object, event: EventModel, *, key: str, cause: Envelope
    ) -> Envelope:
        self.added.append((event, {"key": key, "cause": cause}))
        return cause


def payment_row(payment_id: str = "pay_1", **columns: Any) -> dict[str, Any]:
    """A payments row with the columns the dispute and bank debit paths read."""
    return {
        "payment_id": payment_id,
        "booking_id": f"bk_{payment_id}",
        "group_id": None,
        "guest_id": "guest-1",
        "amount": 10_000,
        "captured_amount": 10_000,
        "platform_fee": 1_000,
        "tax": 0,
        "currency": "usd",
        "host_account_id": "acct_host",
        "splits": None,
        "correlation_id": uuid.uuid4(),
        "payment_intent_id": f"pi_{payment_id}",
        "charge_id": f"ch_{payment_id}",
        "payment_method_type": "card",
        "status": PaymentStatus.CAPTURED,
        "stripe_status": "succeeded",
        "payment_purpose": "checkout",
        "card_brand": "visa",
        "three_d_secure": False,
        "bank_name": None,
        "bank_last4": None,
        "customer_id": "cus_1",
        "returned_at": None,
        "funds_hold_until": None,
        "funds_cleared_at": None,
        **columns,
    }


class FakePaymentsRepository:
    """The payments table, as far as disputes', bank debits' and webhooks' paths use it."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        self.rows[row["payment_id"]] = row
        return dict(row)

    async def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        found = self.rows.get(payment_id)
        return dict(found) if found is not None else None

    async def lock_by_intent(self, intent_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows.values() if r["payment_intent_id"] == intent_id]

    async def set_stripe_status(self, payment_id: str, stripe_status: str) -> bool:
        row = self.rows.get(payment_id)
        if row is not None:
            row["stripe_status"] = stripe_status
        return row is not None

    async def apply_trigger(
        self, payment_id: str, from_status: str, trigger: PaymentTrigger, **changes: Any
    ) -> bool:
        status = next_status(from_status, trigger)  # raises IllegalTransition, as the real one
        row = self.rows.get(payment_id)
        if row is None or row["status"] != from_status:
            return False
        row.update(changes, status=status)
        return True


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


class FakeUnitOfWork:
    """What `UnitOfWork` offers these use cases: no connection, the fakes above."""

    def __init__(self) -> None:
        self.conn = None
        self.outbox = FakeOutbox()
        self.payments = FakePaymentsRepository()
        self.disputes = FakeDisputesRepository(self.payments)
        self.bank_debits = FakeBankDebitsRepository(self.payments)
        self.webhooks = FakeWebhooksRepository()

    async def reply(self, event: EventModel, *, key: str, cause: Envelope) -> Envelope:
        return await self.outbox.reply(self.conn, event, key=key, cause=cause)

    def as_uow(self) -> UnitOfWork:
        """Typed as the real one, for the use cases' signatures."""
        return cast(UnitOfWork, self)
