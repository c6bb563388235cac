"""Payments' routing table and handlers on the test database, against an in-process Stripe
simulator: what the payments integration tests (groups, refunds, extra charges) share.

Each harness writes to a private outbox (and inbox) table, so no relay publishes its events,
and deletes the payments and refunds of its `subjects` (booking and group ids) afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka.structs import ConsumerRecord

from eventkit.consumer import MessageProcessor
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from eventkit.routing import EventRouter
from marketplace_contracts import Envelope, EventModel, decode_data, make_envelope
from marketplace_contracts.events.booking import (
    CheckoutRequestedV1,
    GroupCaptureRequestedV1,
    GroupCheckoutRequestedV1,
    GroupLeg,
)
from payments.adapters.stripe_gateway import SIMULATOR_API_KEY, StripeGateway
from payments.domain.checkout import stripe_metadata
from payments.domain.ids import checkout_payment_id, idempotency_key
from payments.entrypoints.consumers import build_router
from payments.service_layer.handlers import PaymentHandlers
from stripesim import create_app
from tests.conftest import service_dsn
from tests.support.servers import serve

STRIPE_AUTH = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}


@contextmanager
def simulator() -> Iterator[str]:
    """The Stripe simulator served on a free 127.0.0.1 port in a thread; yields its base URL."""
    with serve(create_app(), "the simulator") as base:
        yield base


@asynccontextmanager
async def reset_simulator(base: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the simulator, reset to no objects, events or injected failures."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        (await client.post("/_sim/reset")).raise_for_status()
        yield client


class DeadLetterSink:
    """Stands in for the dead-letter producer: remembers what would have been dead-lettered."""

    def __init__(self) -> None:
        self.sent: list[tuple[ConsumerRecord, BaseException, int]] = []

    async def send(self, record: ConsumerRecord, *, error: BaseException, attempts: int) -> None:
        self.sent.append((record, error, attempts))


class PaymentsHarness:
    """Payments' router and handlers on the test database, writing to a private outbox."""

    def __init__(
        self, pool: asyncpg.Pool, handlers: PaymentHandlers, outbox: str, inbox: str
    ) -> None:
        self.pool, self.handlers, self.outbox, self.inbox = pool, handlers, outbox, inbox
        self.router: EventRouter = build_router(handlers)
        self.subjects: list[str] = []  # booking, leg and group ids, cleaned up afterwards
        self.dead_letters = DeadLetterSink()
        self.offset = 0

    def envelope(self, event: EventModel, key: str) -> Envelope:
        env = make_envelope(event, key=key, producer="booking", correlation_id=uuid.uuid4())
        return Envelope.from_bytes(env.to_bytes())

    async def prepare(self, env: Envelope) -> tuple[Any, Any]:
        route = self.router.route_for(env)
        assert route is not None and route.prepare is not None, env.type
        event = route.model.model_validate(env.data)
        return event, await route.prepare(env, event)

    async def apply(self, env: Envelope, event: Any, prepared: Any) -> None:
        route = self.router.route_for(env)
        assert route is not None
        async with self.pool.acquire() as conn, conn.transaction():
            await route.apply(conn, env, event, prepared)

    async def deliver(self, event: EventModel, key: str, env: Envelope | None = None) -> Envelope:
        env = env or self.envelope(event, key)
        await self.apply(env, *(await self.prepare(env)))
        return env

    async def consume(
        self, message: EventModel | Envelope, key: str, *, consumer_attempts: int = 5
    ) -> str:
        """Through the consumer's MessageProcessor (inbox, retries with backoff, dead letters):
        the record's outcome."""
        processor = MessageProcessor(
            self.pool,
            "payments",
            self.router,
            self.dead_letters,  # type: ignore[arg-type]
            max_attempts=consumer_attempts,
            backoff_base=0.01,
            inbox_table=self.inbox,
        )
        env = message if isinstance(message, Envelope) else self.envelope(message, key)
        value = env.to_bytes()
        self.offset += 1
        record = ConsumerRecord(
            "booking.events", 0, self.offset, 0, 0, key.encode(), value, None, 0, len(value), []
        )
        await processor.process([record])
        # (a route without `prepare` counts a zero `duplicate` as it checks the inbox)
        [(outcome, count)] = [(k, n) for k, n in processor.outcomes.items() if n]
        assert count == 1
        return outcome

    async def envelopes(self, payment_id: str) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT payload FROM payments.{self.outbox} WHERE key = $1 ORDER BY id", payment_id
        )
        return [Envelope.from_bytes(r["payload"]) for r in rows]

    async def emitted(self, payment_id: str) -> list[EventModel]:
        return [decode_data(env) for env in await self.envelopes(payment_id)]

    async def payment(self, payment_id: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM payments.payments WHERE payment_id = $1", payment_id
        )
        assert row is not None, payment_id
        return row

    async def charges_of(self, booking_id: str) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                "SELECT * FROM payments.payments WHERE booking_id = $1 "
                "AND purpose LIKE 'charge:%' ORDER BY created_at",
                booking_id,
            )
        )

    async def refund(self, refund_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(
            "SELECT * FROM payments.refunds WHERE refund_id = $1", refund_id
        )
        return row


@asynccontextmanager
async def payments_harness(
    sim_base: str, *, max_network_retries: int = 0, **handler_options: Any
) -> AsyncIterator[PaymentsHarness]:
    pool = await create_pool(service_dsn("payments"), min_size=1, max_size=6)
    assert pool is not None
    tag = f"t{uuid.uuid4().hex[:10]}"
    outbox, inbox = f"{tag}_outbox", f"{tag}_inbox"
    await pool.execute(f"CREATE TABLE payments.{outbox} (LIKE payments.outbox INCLUDING ALL)")
    await pool.execute(f"CREATE TABLE payments.{inbox} (LIKE payments.inbox INCLUDING ALL)")
    stripe = StripeGateway(
        SIMULATOR_API_KEY, sim_base.rstrip("/"), max_network_retries=max_network_retries
    )
    handlers = PaymentHandlers(
        lambda: pool, Outbox("payments", "payments", outbox), stripe, **handler_options
    )
    harness = PaymentsHarness(pool, handlers, outbox, inbox)
    try:
        yield harness
    finally:
        await stripe.close()
        for table in (outbox, inbox):
            await pool.execute(f"DROP TABLE payments.{table}")
        payment_ids = [checkout_payment_id(s) for s in harness.subjects]
        await pool.execute(
            "DELETE FROM payments.refunds WHERE booking_id = ANY($1::text[]) "
            "OR payment_id = ANY($2::text[])",
            harness.subjects,
            payment_ids,
        )
        await pool.execute(
            "DELETE FROM payments.payments WHERE booking_id = ANY($1::text[])", harness.subjects
        )
        await pool.close()


async def stripe_get(sim: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await sim.get(path, params=params, headers=STRIPE_AUTH)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


async def captured_group(
    payments: PaymentsHarness,
    legs: Sequence[tuple[str, int, int, int]],
    start: datetime,
    *,
    listing_prefix: str = "lst_",
    host_prefix: str = "host-",
) -> GroupCheckoutRequestedV1:
    """A group checked out and captured through payments, one leg a day from ``start`` for each
    ``(host account, amount, platform fee, tax)`` of ``legs``; the group's checkout request."""
    group_id = str(uuid.uuid4())
    group_legs = [
        GroupLeg(
            booking_id=str(uuid.uuid4()),
            listing_id=f"{listing_prefix}{i}",
            host_id=f"{host_prefix}{i}",
            host_account_id=account,
            starts_at=start + timedelta(days=i),
            ends_at=start + timedelta(days=i, hours=2),
            amount=amount,
            platform_fee=fee,
            tax=tax,
        )
        for i, (account, amount, fee, tax) in enumerate(legs)
    ]
    # The group's payment and any leg's own (extra charges) are cleaned up afterwards.
    payments.subjects.extend([group_id, *(leg.booking_id for leg in group_legs)])
    request = GroupCheckoutRequestedV1(
        group_id=group_id,
        guest_id=f"guest-{uuid.uuid4().hex[:8]}",
        amount=sum(leg.amount for leg in group_legs),
        currency="usd",
        platform_fee=sum(leg.platform_fee for leg in group_legs),
        payment_method="pm_card_visa",
        legs=group_legs,
    )
    await payments.deliver(request, group_id)
    capture = GroupCaptureRequestedV1(
        group_id=group_id,
        payment_id=checkout_payment_id(group_id),
        amount=request.amount,
        currency="usd",
    )
    await payments.deliver(capture, group_id)
    return request


def only(events: list[EventModel], kind: type[EventModel]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


async def legacy_destination_checkout(
    payments: PaymentsHarness, request: CheckoutRequestedV1
) -> str:
    """A single booking's payment as payments made it before separate charges replaced
    destination charges: an authorization whose capture pays the host (`transfer_data`, the
    platform fee as application fee), recorded without a transfer group. Its payment id."""
    payment_id = checkout_payment_id(request.booking_id)
    stripe = payments.handlers.stripe
    customer = await stripe.create_customer(
        guest_id=request.guest_id, idempotency_key=idempotency_key("customer", request.guest_id)
    )
    result = await stripe.authorize(
        amount=request.amount,
        currency=request.currency,
        payment_method=request.payment_method,
        customer=customer,
        application_fee_amount=request.platform_fee,
        destination_account=request.host_account_id,
        metadata=stripe_metadata(payment_id, request.booking_id, None),
        setup_future_usage="off_session",
        idempotency_key=idempotency_key("authorize", payment_id),
    )
    assert result.status == "requires_capture", result
    await payments.pool.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, platform_fee, "
        "tax, currency, host_account_id, payment_method, payment_intent_id, status, "
        "stripe_status, customer_id, saved_payment_method, correlation_id) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'authorized', $11, $12, $13, $14)",
        payment_id,
        request.booking_id,
        request.guest_id,
        request.amount,
        request.platform_fee,
        request.tax,
        request.currency,
        request.host_account_id,
        request.payment_method,
        result.id,
        result.status,
        customer,
        result.payment_method,
        uuid.uuid4(),
    )
    return payment_id
