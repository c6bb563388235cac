"""The disputes service's handlers on the test database, as a script: `deliver` a fact
through the consumer's MessageProcessor (inbox included), read what was `emitted` to the
outbox, move the `clock` and `fire` the due timers. Each test uses ids of its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka.structs import ConsumerRecord

from disputes.bootstrap import build_handlers, build_timers
from disputes.config import DisputesSettings
from disputes.entrypoints.consumers import build_router
from eventkit.clock import Clock, FixedClock
from eventkit.consumer import MessageProcessor
from marketplace_contracts import Envelope, EventModel, decode_data, make_envelope
from marketplace_contracts.events import payments_disputes as d

NOW = datetime(2031, 3, 1, 12, tzinfo=UTC)


class _DeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[ConsumerRecord, BaseException, int]] = []

    async def send(self, record: ConsumerRecord, *, error: BaseException, attempts: int) -> None:
        self.sent.append((record, error, attempts))


class DisputesHarness:
    def __init__(self, pool: asyncpg.Pool, *, clock: Clock | None = None, **settings: Any) -> None:
        self.pool = pool
        self.clock: Any = clock or FixedClock(NOW)
        self.settings = DisputesSettings(**settings)
        self.handlers = build_handlers(self.settings, self.clock)
        self.router = build_router(self.handlers)
        self.timers = build_timers(self.settings, self.handlers, self.clock)
        self.dead_letters = _DeadLetters()
        self.offset = 0

    def envelope(self, event: EventModel, key: str) -> Envelope:
        env = make_envelope(event, key=key, producer="test", correlation_id=uuid.uuid4())
        return Envelope.from_bytes(env.to_bytes())

    async def deliver(self, message: EventModel | Envelope, key: str = "k") -> str:
        """Through the consumer's processor (inbox, retries, dead letters): its outcome."""
        processor = MessageProcessor(
            self.pool,
            "disputes",
            self.router,
            self.dead_letters,  # type: ignore[arg-type]
            max_attempts=2,
            backoff_base=0.01,
        )
        env = message if isinstance(message, Envelope) else self.envelope(message, key)
        value = env.to_bytes()
        self.offset += 1
        record = ConsumerRecord(
            "payments.events", 0, self.offset, 0, 0, key.encode(), value, None, 0, len(value), []
        )
        await processor.process([record])
        [(outcome, count)] = [(k, n) for k, n in processor.outcomes.items() if n]
        assert count == 1
        return outcome

    async def emitted(self, dispute_id: str) -> list[EventModel]:
        rows = await self.pool.fetch(
            "SELECT payload FROM disputes.outbox WHERE key = $1 ORDER BY id", dispute_id
        )
        return [decode_data(Envelope.from_bytes(r["payload"])) for r in rows]

    async def case(self, dispute_id: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM disputes.cases WHERE dispute_id = $1", dispute_id
        )
        assert row is not None, dispute_id
        return row

    async def history(self, dispute_id: str) -> list[tuple[str, str, str | None, str]]:
        rows = await self.pool.fetch(
            "SELECT actor, trigger, from_status, to_status FROM disputes.case_history "
            "WHERE dispute_id = $1 ORDER BY id",
            dispute_id,
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    async def fire(self, advance: timedelta = timedelta(0)) -> int:
        if advance:
            self.clock.advance(advance)
        return await self.timers.run_due(self.pool)

    async def jobs(self, dispute_id: str) -> dict[str, str]:
        rows = await self.pool.fetch(
            "SELECT kind, subject_id, status FROM disputes.scheduled_jobs "
            "WHERE subject_id = $1 OR subject_id LIKE $1 || ':%'",
            dispute_id,
        )
        return {f"{r['kind']}:{r['subject_id']}": r["status"] for r in rows}


def opened(dispute_id: str, payment_id: str, **kw: Any) -> d.DisputeOpenedV1:
    fields: dict[str, Any] = {
        "dispute_id": dispute_id,
        "processor_dispute_id": "du_" + dispute_id.removeprefix("dsp_"),
        "payment_id": payment_id,
        "booking_id": kw.pop("booking_id", f"grp_{payment_id}"),
        "guest_id": "guest-1",
        "legs": [
            d.DisputedLeg(
                booking_id=f"bk_a_{payment_id}",
                host_account_id="acct_A",
                amount=20_000,
                platform_fee=3_000,
                host_amount=17_000,
            ),
            d.DisputedLeg(
                booking_id=f"bk_b_{payment_id}",
                host_account_id="acct_B",
                amount=12_000,
                platform_fee=1_800,
                host_amount=10_200,
            ),
        ],
        "purpose": "group_checkout",
        "amount": 32_000,
        "currency": "usd",
        "reason": "fraudulent",
        "status": "needs_response",
        "inquiry": False,
        "due_by": NOW + timedelta(days=7),
        "opened_at": NOW,
    }
    return d.DisputeOpenedV1(**{**fields, **kw})


def ids() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"dsp_{tag}", f"pay_{tag}"
