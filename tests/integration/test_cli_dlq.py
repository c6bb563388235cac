"""`python -m eventkit.admin dlq list|replay`, run as a child process the way ops type it,
against dead letters a real consumer (MessageProcessor and KeyedConsumer on real Kafka and Postgres) produced.

Each test owns a service name, so its dead-letter topic `<service>.dlt` is its own: created here
with three partitions, as a catalogue topic may be one day.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from eventkit.producer import durable_producer
from tests.conftest import create_topic
from tests.support import free_port, ping_model, read_topic, wait_for
from tests.support.cli import no_traceback, run_async
from tests.support.consumer_harness import Harness

pytestmark = pytest.mark.integration
PARTITIONS = 3


class FailingConsumer(Harness):
    """A service-like consumer (tests.support.consumer_harness) with a dead-letter topic of its
    own, whose handler fails on events marked `fail` until it is fixed (`broken = False`)."""

    def __init__(self, bootstrap: str, pool: asyncpg.Pool, tables: tuple[str, str, str]) -> None:
        tag = uuid.uuid4().hex[:8]
        service = f"clitest{tag}"
        super().__init__(
            bootstrap,
            pool,
            tables,
            ping_model(f"test.cli.{tag}"),
            service,
            max_attempts=2,
            before_apply=self._fail_while_broken,
            service=service,
        )
        self.dlt = f"{service}.dlt"
        self.broken = True

    async def _fail_while_broken(self, event: Any) -> None:
        if event.fail and self.broken:
            raise RuntimeError(f"bug: cannot handle seq {event.seq}")

    async def __aenter__(self) -> FailingConsumer:
        await create_topic(self.bootstrap, self.model.TOPIC, partitions=PARTITIONS)
        await create_topic(self.bootstrap, self.dlt, partitions=PARTITIONS)
        await super().__aenter__()
        return self

    async def send_event(self, key: str, seq: int, fail: bool = False) -> uuid.UUID:
        env = self.envelope(seq, key, fail="yes" if fail else "")
        await self.send(env.to_bytes(), key)
        return env.event_id

    async def applied(self) -> dict[int, int]:
        """seq -> how many times its effect was applied."""
        rows = await self.pool.fetch(
            f"SELECT seq, count(*) AS n FROM booking.{self.effects_table} GROUP BY seq"
        )
        return {r["seq"]: r["n"] for r in rows}

    async def dead_letters(self) -> list[Any]:
        return await read_topic(self.bootstrap, self.dlt)


@pytest.fixture
async def consumer(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> AsyncIterator[FailingConsumer]:
    async with FailingConsumer(kafka_bootstrap, booking_pool, scratch_tables) as c:
        yield c


def _env(bootstrap: str) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP": bootstrap}


async def _marks(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    client = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await client.start()
    try:
        return {p: await client.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        await client.stop()


async def test_replay_all_after_the_fix_applies_each_dead_letter_once_on_every_partition(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    env = _env(kafka_bootstrap)
    # Keys spread over the partitions; their dead letters keep the key, so the DLT's too.
    failing = {"k-a": 1, "k-b": 2, "k-c": 3, "k-d": 4, "k-e": 5}
    for key, seq in failing.items():
        await consumer.send_event(key, seq, fail=True)
        await consumer.send_event(key, seq + 100)
    await wait_for(lambda: _has(consumer, len(failing)), timeout=60)
    assert set(await consumer.applied()) == {seq + 100 for seq in failing.values()}
    letters = await consumer.dead_letters()
    assert len({r.partition for r in letters}) >= 2, "the test needs dead letters on 2+ partitions"

    listed = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", consumer.service], env=env
    )
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {(r["partition"], r["offset"]) for r in rows} == {
        (r.partition, r.offset) for r in letters
    }
    assert {r["headers"]["dlt.original.topic"] for r in rows} == {consumer.model.TOPIC}
    assert {r["headers"]["dlt.error.type"] for r in rows} == {"RuntimeError"}
    assert {r["key"] for r in rows} == set(failing)
    assert f"{len(failing)} dead letter(s) in {consumer.dlt}" in listed.stderr

    consumer.broken = False  # the fix is deployed
    # One dead letter replayed on its own first: `--all` replays it again, the inbox drops it.
    first = next(r for r in letters if r.partition != 0)
    one = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service,
         "--offset", f"{first.partition}:{first.offset}"],
        env=env,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines() == [
        f"replayed {consumer.dlt}[{first.partition}]@{first.offset} -> {consumer.model.TOPIC}"
    ]
    replayed = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert len(replayed.stdout.splitlines()) == len(failing)
    assert f"replayed {len(failing)} dead letter(s), skipped 0" in replayed.stderr
    expected = {seq: 1 for seq in failing.values()} | {seq + 100: 1 for seq in failing.values()}
    await wait_for(lambda: _effects_are(consumer, expected), timeout=60)

    again = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert "replayed 0 dead letter(s)" in again.stderr
    # The mark is kept on every partition: the end of each one.
    ends = {
        p: 1 + max((r.offset for r in letters if r.partition == p), default=-1)
        for p in range(PARTITIONS)
    }
    marks = await _marks(kafka_bootstrap, f"{consumer.service}.dlt-replay", consumer.dlt)
    assert {p: m or 0 for p, m in marks.items()} == ends
    assert await consumer.applied() == expected  # nothing applied twice meanwhile


async def test_replay_all_replays_only_what_is_new_on_each_partition(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    env = _env(kafka_bootstrap)
    for seq, key in enumerate(("k-a", "k-b", "k-c", "k-d")):
        await consumer.send_event(key, seq, fail=True)
    await wait_for(lambda: _dead(consumer, 4), timeout=60)
    consumer.broken = False
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert done.returncode == 0 and "replayed 4 dead letter(s)" in done.stderr, done.stderr
    await wait_for(lambda: _effects_are(consumer, {0: 1, 1: 1, 2: 1, 3: 1}), timeout=60)

    # New failures land on partitions other than 0 as well: only they are replayed.
    consumer.broken = True
    for seq, key in ((10, "k-a"), (11, "k-b"), (12, "k-c")):
        await consumer.send_event(key, seq, fail=True)
    await wait_for(lambda: _dead(consumer, 7), timeout=60)
    new = await consumer.dead_letters()
    new_names = sorted(
        f"{consumer.dlt}[{r.partition}]@{r.offset}"
        for r in new
        if json.loads(r.value)["data"]["seq"] >= 10
    )
    assert len({name.split("@")[0] for name in new_names}) >= 2
    consumer.broken = False
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert (
        sorted(line.split(" -> ")[0].removeprefix("replayed ") for line in done.stdout.splitlines())
        == new_names
    )
    await wait_for(
        lambda: _effects_are(consumer, {0: 1, 1: 1, 2: 1, 3: 1, 10: 1, 11: 1, 12: 1}), timeout=60
    )


async def test_a_bare_offset_is_refused_when_the_topic_has_several_partitions(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    await consumer.send_event("k-a", 1, fail=True)
    await wait_for(lambda: _dead(consumer, 1), timeout=60)
    [letter] = await consumer.dead_letters()
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service,
         "--offset", str(letter.offset)],
        env=_env(kafka_bootstrap),
    )  # fmt: skip
    assert done.returncode == 2 and no_traceback(done), done.stderr
    assert done.stderr.startswith("eventkit.admin: ambiguous_offset: ")
    missing = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service,
         "--offset", f"{letter.partition}:{letter.offset + 50}"],
        env=_env(kafka_bootstrap),
    )  # fmt: skip
    assert missing.returncode == 2 and no_traceback(missing), missing.stderr
    assert "no_such_dead_letter" in missing.stderr
    assert await consumer.applied() == {}  # nothing was replayed


async def test_a_record_that_is_not_a_dead_letter_is_skipped_and_the_exit_code_says_so(
    kafka_bootstrap: str,
) -> None:
    service = f"clitest{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, f"{service}.dlt", partitions=1)
    producer = durable_producer(kafka_bootstrap, client_id="test-cli")
    await producer.start()
    try:  # written by hand, without the headers a consumer's dead letter carries
        await producer.send_and_wait(f"{service}.dlt", b"stray", key=b"k")
    finally:
        await producer.stop()
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", service, "--all"],
        env=_env(kafka_bootstrap),
    )
    assert done.returncode == 1 and no_traceback(done), done.stderr
    assert done.stderr.splitlines() == [
        f"skipped {service}.dlt[0]@0: no dlt.original.topic header, not a dead letter",
        "replayed 0 dead letter(s), skipped 1",
    ]


async def test_list_on_an_empty_dead_letter_topic_says_so(kafka_bootstrap: str) -> None:
    service = f"clitest{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, f"{service}.dlt", partitions=2)
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", service],
        env=_env(kafka_bootstrap),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == f"no dead letters in {service}.dlt"


async def test_list_and_replay_on_a_missing_topic_fail_with_one_line(kafka_bootstrap: str) -> None:
    service = f"clitest{uuid.uuid4().hex[:8]}"
    for action in (["list", service], ["replay", service, "--all"]):
        done = await run_async(
            [sys.executable, "-m", "eventkit.admin", "dlq", *action], env=_env(kafka_bootstrap)
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"eventkit.admin: topic_missing: {service}.dlt does not exist on {kafka_bootstrap} "
            "(`python -m eventkit.admin create-topics` creates it)"
        ]
    # Reading did not create it.
    listed = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", service], env=_env(kafka_bootstrap)
    )
    assert listed.returncode == 2


async def test_an_unreachable_broker_is_one_line_and_exit_1() -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    for command in (
        [sys.executable, "-m", "eventkit.admin", "--bootstrap", nowhere, "dlq", "list", "payments"],
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", "payments", "--all"],
        [sys.executable, "-m", "eventkit.admin", "create-topics"],
    ):
        done = await run_async(command, env={"KAFKA_BOOTSTRAP": nowhere})
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(
            f"eventkit.admin: kafka_unavailable: cannot reach Kafka at {nowhere}: "
        )
        assert len(done.stderr.splitlines()) == 1 and done.stdout == ""


async def test_the_readme_command_lists_the_payments_dead_letters(kafka_bootstrap: str) -> None:
    """README's `dlq list payments`, pointed at the test Kafka by KAFKA_BOOTSTRAP."""
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", "payments"],
        env=_env(kafka_bootstrap),
    )
    assert done.returncode == 0 and no_traceback(done), done.stderr
    letters = await read_topic(kafka_bootstrap, "payments.dlt")
    if letters:
        assert f"{len(letters)} dead letter(s) in payments.dlt" in done.stderr
        assert len(done.stdout.splitlines()) == min(50, len(letters))
    else:
        assert done.stderr.strip() == "no dead letters in payments.dlt"


async def _has(consumer: FailingConsumer, dead: int) -> bool:
    return len(await consumer.applied()) >= dead and await _dead(consumer, dead)


async def _dead(consumer: FailingConsumer, count: int) -> bool:
    return len(await consumer.dead_letters()) >= count


async def _effects_are(consumer: FailingConsumer, expected: dict[int, int]) -> bool:
    return await consumer.applied() == expected
