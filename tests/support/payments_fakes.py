"""payments' unit of work in memory: a `FakeUnitOfWork` with the seven repositories of the real
one and an outbox that records, so the use cases' `apply` halves (what a consumed event records,
in the transaction that claims its inbox row) and the webhook worker's run without Postgres
(tests/unit/test_payments_*_service.py). The payments table's fake is here; refunds',
transfers' and deposits' are in payments_fakes_refunds.py, disputes', bank debits' and
webhooks' in payments_fakes_disputes.py, the outbox in outbox_fake.py.

The fakes keep what the tables keep: rows as dicts (a row read is a copy, as an asyncpg record
is a snapshot), the columns' defaults, the unique (booking_id, purpose) of a checkout's or a
charge request's payment, and the compare-and-set on status of every transition (the service
layer's `lifecycle` asks the domain's table for the next status). The same use cases on the
real database: tests/integration/test_payments_groups.py, test_amendment_charges.py,
test_reauthorization.py, test_stripe_webhooks.py and test_payments_repositories.py (the SQL
itself).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from eventkit.unit_of_work import OutboxUnit
from marketplace_contracts import Envelope, EventModel, make_envelope
from payments.adapters.stripe_gateway import PaymentIntentResult
from payments.domain.payment import PaymentStatus
from payments.service_layer.handlers import PaymentHandlers
from payments.service_layer.unit_of_work import UnitOfWork
from tests.support.outbox_fake import FakeOutbox
from tests.support.payments_fakes_disputes import (
    FakeBankDebitsRepository,
    FakeDisputesRepository,
    FakeWebhooksRepository,
)
from tests.support.payments_fakes_refunds import (
    FakeDepositsRepository,
    FakeRefundsRepository,
    FakeTransfersRepository,
)

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)

# The columns a row gets when the insert does not name them (the table's defaults).
DEFAULTS: dict[str, Any] = {
    "purpose": "checkout",
    "payment_purpose": "checkout",
    "payment_method_type": "card",
    "captured_amount": 0,
    "refunded_amount": 0,
    "tax": 0,
    "renewals": 0,
    "three_d_secure": False,
    **dict.fromkeys(
        (
            "payment_intent_id",
            "setup_intent_id",
            "charge_id",
            "stripe_status",
            "customer_id",
            "saved_payment_method",
            "card_brand",
            "card_last4",
            "failure_code",
            "decline_code",
            "failure_message",
            "group_id",
            "splits",
            "transfer_group",
            "charge_request_id",
            "subject_id",
            "authorized_at",
            "expiry_notified_at",
            "funds_hold_until",
            "bank_name",
            "bank_last4",
            "succeeded_at",
            "funds_cleared_at",
            "returned_at",
            "return_code",
            "replaces_payment_id",
        )
    ),
}


def offline_handlers() -> PaymentHandlers:
    """Payments' handlers with neither a pool, nor Stripe, nor an outbox of their own: an
    `apply` reads, writes and publishes only through the unit of work it is given (anything
    else raises AttributeError)."""
    nothing: Any = SimpleNamespace(client=None)  # StripeDisputes reads the gateway's client
    return PaymentHandlers(lambda: nothing, nothing, nothing)


def envelope(event: EventModel, key: str, producer: str = "booking") -> Envelope:
    """`event` as booking (or `producer`) published it: the envelope a route's `apply` gets."""
    return make_envelope(event, key=key, producer=producer, correlation_id=uuid.uuid4())


def intent(status: str, amount: int = 10_000, **fields: Any) -> PaymentIntentResult:
    """A PaymentIntent as Stripe answers it (`succeeded`: all of `amount` received)."""
    received = amount if status == "succeeded" else 0
    return PaymentIntentResult(
        **{
            "id": f"pi_{uuid.uuid4().hex[:12]}",
            "status": status,
            "amount": amount,
            "amount_capturable": amount if status == "requires_capture" else 0,
            "amount_received": received,
            "currency": "usd",
            "charge_id": f"ch_{uuid.uuid4().hex[:12]}" if received else None,
            "card_brand": "visa",
            "card_last4": "4242",
            **fields,
        }
    )


class FakePaymentsRepository:
    """`PaymentsRepository` in memory: payments, customers and replaced authorizations."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, str] = {}
        self.replaced: dict[str, dict[str, Any]] = {}

    def given(self, payment_id: str, status: str, **columns: Any) -> dict[str, Any]:
        """A payment as a checkout left it (a single booking's card, 100.00 usd), `status`."""
        row = {
            **DEFAULTS,
            "payment_id": payment_id,
            "booking_id": f"bk_{payment_id}",
            "guest_id": "guest-1",
            "amount": 10_000,
            "platform_fee": 1_500,
            "currency": "usd",
            "host_account_id": "acct_host",
            "payment_method": "pm_card_visa",
            "correlation_id": uuid.uuid4(),
            "customer_id": "cus_1",
            "saved_payment_method": "pm_saved",
            "payment_intent_id": f"pi_{payment_id}",
            "status": status,
            "created_at": NOW,
            "updated_at": NOW,
            **columns,
        }
        self.rows[payment_id] = row
        return dict(row)

    def charged(
        self, payment_id: str, status: str = PaymentStatus.CAPTURED, **columns: Any
    ) -> dict[str, Any]:
        """`given`, as Stripe charged it: all of it captured, its charge and Stripe's status
        known (what disputes and returned bank debits find), a 10.00 platform fee."""
        charge = {
            "captured_amount": 10_000,
            "platform_fee": 1_000,
            "charge_id": f"ch_{payment_id}",
            "stripe_status": "succeeded",
            "card_brand": "visa",
        }
        return self.given(payment_id, status, **{**charge, **columns})

    async def get_payment(self, payment_id: str) -> dict[str, Any] | None:
        found = self.rows.get(payment_id)
        return dict(found) if found is not None else None

    lock_payment = get_payment

    async def checkout_state(self, payment_id: str, guest_id: str) -> tuple[bool, str | None]:
        return payment_id in self.rows, self.customers.get(guest_id)

    async def save_customer(self, guest_id: str, customer_id: str) -> None:
        self.customers.setdefault(guest_id, customer_id)

    async def forget_customer(self, guest_id: str, customer_id: str) -> None:
        if self.customers.get(guest_id) == customer_id:
            del self.customers[guest_id]

    async def insert_payment(self, payment: dict[str, Any]) -> bool:
        row = {**DEFAULTS, **payment, "created_at": NOW, "updated_at": NOW}
        taken = {(p["booking_id"], p["purpose"]) for p in self.rows.values()}
        if (row["booking_id"], row["purpose"]) in taken:
            return False
        assert row["payment_id"] not in self.rows, "primary key"
        self.rows[row["payment_id"]] = row
        return True

    async def transition(self, payment_id: str, from_status: str, **changes: Any) -> bool:
        row = self.rows.get(payment_id)
        if row is None or row["status"] != from_status:
            return False
        row.update(changes, updated_at=NOW)
        return True

    async def lock_by_intent(self, intent_id: str) -> list[dict[str, Any]]:
        return [dict(p) for p in self.rows.values() if p["payment_intent_id"] == intent_id]

    async def set_stripe_status(self, payment_id: str, stripe_status: str) -> bool:
        row = self.rows.get(payment_id)
        if row is not None:
            row.update(stripe_status=stripe_status, updated_at=NOW)
        return row is not None

    async def swap_authorization(
        self, payment_id: str, expiring_intent_id: str, intent_id: str, stripe_status: str
    ) -> dict[str, Any] | None:
        row = self.rows.get(payment_id)
        if (
            row is None
            or row["status"] != PaymentStatus.AUTHORIZED
            or row["payment_intent_id"] != expiring_intent_id
        ):
            return None
        row.update(
            payment_intent_id=intent_id,
            authorized_at=NOW,
            renewals=row["renewals"] + 1,
            expiry_notified_at=None,
            stripe_status=stripe_status,
            updated_at=NOW,
        )
        return {key: row[key] for key in ("authorized_at", "amount", "currency")}

    async def add_replaced_authorization(
        self, intent_id: str, payment_id: str, replaced_by: str
    ) -> bool:
        if intent_id in self.replaced:
            return False
        self.replaced[intent_id] = {"payment_id": payment_id, "replaced_by": replaced_by}
        return True


class FakeUnitOfWork(OutboxUnit):
    """What `UnitOfWork` offers the use cases: no connection, the fakes above and in
    payments_fakes_refunds.py and payments_fakes_disputes.py (the ones that write to payments'
    rows share its fake, as the tables are one)."""

    def __init__(self) -> None:
        # The real `emit` and `reply` (eventkit's OutboxUnit), on no connection.
        super().__init__(None, FakeOutbox("payments"))  # type: ignore[arg-type]
        self.payments = FakePaymentsRepository()
        self.refunds = FakeRefundsRepository(self.payments)
        self.deposits = FakeDepositsRepository()
        self.transfers = FakeTransfersRepository(self.refunds)
        self.disputes = FakeDisputesRepository(self.payments)
        self.bank_debits = FakeBankDebitsRepository(self.payments)
        self.webhooks = FakeWebhooksRepository()

    def as_uow(self) -> UnitOfWork:
        """Typed as the real one, for the use cases' signatures."""
        return cast(UnitOfWork, self)
