"""A real service runtime (eventkit.runtime, as payments runs it) consumes its own retry topic:
a replay after the fix reaches it alone and is handled exactly once, on real Kafka and Postgres.

The runtime is named `payments` (its schema, inbox, consumer group and topics) with a routing
table of one private test contract; replays are chosen by `--topic`, the private topic, so the
suite's other payments dead letters are left alone. It runs twice: with one consumer, and split
as payments runs (the private topic prompt, the retry topic read in batches by a second member
of the group).
"""

from __future__ import annotations

import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from eventkit import dlq
from eventkit.routing import EventRouter
from eventkit.runtime import POOL_HEADROOM, ServiceRuntime
from marketplace_contracts import Envelope, make_envelope
from payments.config import PaymentsSettings
from tests.conftest import create_topic, service_dsn
from tests.support import ping_model, wait_for
from tests.support.cli import no_traceback, run_async
from tests.support.dlq_consumers import bystander
from tests.support.poll import at_once

pytestmark = pytest.mark.integration


class Toy:
    """The handler: fails on `fail` events until fixed; counts what it committed."""

    def __init__(self) -> None:
        self.model = ping_model(f"test.rt.{uuid.uuid4().hex[:8]}")
        self.broken = True
        self.handled: Counter[int] = Counter()

    async def apply(self, conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
        if event.fail and self.broken:
            raise RuntimeError(f"bug: cannot handle seq {event.seq}")
        # In memory: a rolled-back attempt would count too, so "once" is checked strictly.
        self.handled[event.seq] += 1


@pytest.fixture(params=[False, True], ids=["one-consumer", "split"])
async def payments(
    request: pytest.FixtureRequest, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServiceRuntime, Toy]]:
    toy = Toy()
    await create_topic(kafka_bootstrap, toy.model.TOPIC, partitions=3)
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", service_dsn("payments"))
    monkeypatch.setenv("PAYMENTS_CONSUMER_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("PAYMENTS_CONSUMER_BACKOFF_BASE", "0.05")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    router = EventRouter("payments")
    router.add(toy.model, toy.apply)
    prompt = (toy.model.TOPIC,) if request.param else ()
    runtime = ServiceRuntime("payments", PaymentsSettings(), router, prompt_topics=prompt)
    await runtime.start()
    try:
        s = runtime.settings
        units = s.consumer_concurrency + (s.consumer_batch_concurrency if prompt else 0)
        assert runtime.db.get_max_size() == units + POOL_HEADROOM
        assert [c.topics for c in runtime.consumers] == (
            [[toy.model.TOPIC], ["payments.retry"]]
            if prompt
            else [[toy.model.TOPIC, "payments.retry"]]
        )
        yield runtime, toy
    finally:
        await runtime.stop()


async def test_the_service_runtime_handles_a_replay_once_and_others_never_see_it(
    payments: tuple[ServiceRuntime, Toy], kafka_bootstrap: str, booking_pool: asyncpg.Pool
) -> None:
    runtime, toy = payments
    assert runtime.consumed_topics == [toy.model.TOPIC, "payments.retry"]
    mine = dlq.Filters(topic=toy.model.TOPIC)
    async with bystander(kafka_bootstrap, booking_pool, toy.model) as other:
        assert runtime.producer is not None
        for seq, fail in ((1, "yes"), (2, "yes"), (3, "")):
            env = make_envelope(toy.model(key=f"k-{seq}", seq=seq, fail=fail), key=f"k-{seq}",
                                producer="test", correlation_id=uuid.uuid4())  # fmt: skip
            await runtime.producer.send_and_wait(
                toy.model.TOPIC, env.to_bytes(), key=env.key.encode()
            )

        async def dead_lettered() -> bool:
            page = await dlq.list_dead_letters(kafka_bootstrap, "payments", mine)
            return page.total == 2

        await wait_for(dead_lettered, timeout=60)
        await wait_for(lambda: other.effects_are({1: 1, 2: 1, 3: 1}), timeout=60)
        seen_by_other = sum(other.processor.outcomes.values())

        toy.broken = False  # the fix
        done = await run_async(
            [sys.executable, "-m", "eventkit.admin", "dlq", "replay", "payments", "--all",
             "--topic", toy.model.TOPIC],
            env={"KAFKA_BOOTSTRAP": kafka_bootstrap},
        )  # fmt: skip
        assert done.returncode == 0 and no_traceback(done), done.stderr
        assert len(done.stdout.splitlines()) == 2
        await wait_for(lambda: at_once(toy.handled == Counter({1: 1, 2: 1, 3: 1})), timeout=60)

        assert runtime.processor is not None
        duplicates = runtime.processor.outcomes["duplicate"]
        letters = (await dlq.list_dead_letters(kafka_bootstrap, "payments", mine)).items
        assert {d.state for d in letters} == {"replayed"}
        await dlq.replay(kafka_bootstrap, "payments", ids=[d.id for d in letters])
        await wait_for(lambda: at_once(runtime.processor.outcomes["duplicate"] >= duplicates + 2))
        assert toy.handled == Counter({1: 1, 2: 1, 3: 1})  # exactly once
        assert sum(other.processor.outcomes.values()) == seen_by_other == 3
