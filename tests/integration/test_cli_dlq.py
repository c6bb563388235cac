"""`python -m eventkit.admin dlq list|replay|skip`, run as a child process the way ops type it,
against dead letters a real consumer (MessageProcessor and KeyedConsumer on real Kafka and
Postgres) produced.

Each test owns a service name, so its topics `<service>.dlt`, `.retry` and `.dlt-notes` are its
own: created here with three partitions for the dead letters, as a catalogue topic may be one day.
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
from tests.support import free_port, read_topic, wait_for
from tests.support.cli import no_traceback, run_async
from tests.support.dlq_consumers import FailingConsumer, bystander
from tests.support.poll import at_once

pytestmark = pytest.mark.integration


@pytest.fixture
async def consumer(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> AsyncIterator[FailingConsumer]:
    async with FailingConsumer(kafka_bootstrap, booking_pool, scratch_tables) as c:
        yield c


def _env(bootstrap: str) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP": bootstrap}


async def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    client = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await client.start()
    try:
        parts = [TopicPartition(topic, p) for p in client.partitions_for_topic(topic) or ()]
        if not parts:
            parts = [TopicPartition(topic, p) for p in range(3)]
        return {tp.partition: end for tp, end in (await client.end_offsets(parts)).items()}
    finally:
        await client.stop()


async def test_a_replay_after_the_fix_is_handled_exactly_once_and_only_by_the_failing_service(
    consumer: FailingConsumer, kafka_bootstrap: str, booking_pool: asyncpg.Pool
) -> None:
    env = _env(kafka_bootstrap)
    failing = {"k-a": 1, "k-b": 2, "k-c": 3, "k-d": 4, "k-e": 5}
    async with bystander(kafka_bootstrap, booking_pool, consumer.model) as other:
        for key, seq in failing.items():
            await consumer.send_event(key, seq, fail=True)
            await consumer.send_event(key, seq + 100)
        expected = {seq: 1 for seq in failing.values()} | {s + 100: 1 for s in failing.values()}
        await wait_for(lambda: consumer.dead(len(failing)), timeout=60)
        await wait_for(lambda: other.effects_are(expected), timeout=60)
        original_end = await _end_offsets(kafka_bootstrap, consumer.model.TOPIC)
        seen_by_other = sum(other.processor.outcomes.values())
        letters = await consumer.dead_letters()
        assert len({r.partition for r in letters}) >= 2, "the test needs 2+ DLT partitions"

        consumer.broken = False  # the fix is deployed
        done = await run_async(
            [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
            env=env,
        )
        assert done.returncode == 0 and no_traceback(done), done.stderr
        assert sorted(done.stdout.splitlines()) == sorted(
            f"replayed {consumer.dlt}[{r.partition}]@{r.offset} -> {consumer.retry} "
            f"(from {consumer.model.TOPIC})"
            for r in letters
        )
        assert f"replayed {len(failing)} dead letter(s), refused 0" in done.stderr
        await wait_for(lambda: consumer.effects_are(expected), timeout=60)

        # The same dead letters replayed again by id: delivered, and dropped by the inbox.
        ids = [f"--offset={r.partition}:{r.offset}" for r in letters]
        duplicates = consumer.processor.outcomes["duplicate"]
        again = await run_async(
            [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, *ids],
            env=env,
        )
        assert again.returncode == 0, again.stderr
        await wait_for(
            lambda: at_once(consumer.processor.outcomes["duplicate"] >= duplicates + len(failing))
        )
        assert await consumer.applied() == expected  # exactly once

        # Nothing went back to the original topic: the other service saw each event once.
        assert await _end_offsets(kafka_bootstrap, consumer.model.TOPIC) == original_end
        assert sum(other.processor.outcomes.values()) == seen_by_other == 2 * len(failing)
        assert await other.applied() == expected

    listed = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", consumer.service], env=env
    )
    assert {json.loads(line)["state"] for line in listed.stdout.splitlines()} == {"replayed"}
    nothing = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert nothing.returncode == 0 and nothing.stdout == "", nothing.stderr
    assert "replayed 0 dead letter(s)" in nothing.stderr


async def test_replay_all_replays_only_what_is_new_on_each_partition(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    env = _env(kafka_bootstrap)
    for seq, key in enumerate(("k-a", "k-b", "k-c", "k-d")):
        await consumer.send_event(key, seq, fail=True)
    await wait_for(lambda: consumer.dead(4), timeout=60)
    consumer.broken = False
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert done.returncode == 0 and "replayed 4 dead letter(s)" in done.stderr, done.stderr
    await wait_for(lambda: consumer.effects_are({0: 1, 1: 1, 2: 1, 3: 1}), timeout=60)

    consumer.broken = True  # new failures, on partitions other than 0 as well
    for seq, key in ((10, "k-a"), (11, "k-b"), (12, "k-c")):
        await consumer.send_event(key, seq, fail=True)
    await wait_for(lambda: consumer.dead(7), timeout=60)
    new_names = sorted(
        f"{consumer.dlt}[{r.partition}]@{r.offset}"
        for r in await consumer.dead_letters()
        if json.loads(r.value)["data"]["seq"] >= 10
    )
    assert len({name.split("@")[0] for name in new_names}) >= 2
    consumer.broken = False
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(line.split(" -> ")[0].removeprefix("replayed ")
                  for line in done.stdout.splitlines()) == new_names  # fmt: skip
    expected = {0: 1, 1: 1, 2: 1, 3: 1, 10: 1, 11: 1, 12: 1}
    await wait_for(lambda: consumer.effects_are(expected), timeout=60)


async def _two_failures_and_a_poison(consumer: FailingConsumer) -> None:
    await consumer.send_event("k-a", 1, fail=True)
    await consumer.send_event("k-b", 2, fail=True)
    await consumer.send(b"not an envelope", "k-poison")
    await wait_for(lambda: consumer.dead(3), timeout=60)


async def _listed(bootstrap: str, service: str, *words: str) -> list[dict[str, Any]]:
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", service, *words],
        env=_env(bootstrap),
    )
    assert done.returncode == 0 and no_traceback(done), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def _keys(bootstrap: str, service: str, *words: str) -> list[str]:
    return sorted(row["key"] for row in await _listed(bootstrap, service, *words))


async def test_list_filters_by_error_and_event_type_key_original_topic_and_time(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    await _two_failures_and_a_poison(consumer)
    keys, svc = _keys, consumer.service
    assert await keys(kafka_bootstrap, svc) == ["k-a", "k-b", "k-poison"]
    assert await keys(kafka_bootstrap, svc, "--error-type", "RuntimeError") == ["k-a", "k-b"]
    assert await keys(kafka_bootstrap, svc, "--event-type", "test.ping", "--key", "k-b") == ["k-b"]
    everything = await keys(kafka_bootstrap, svc, "--topic", consumer.model.TOPIC, "--since", "1h")
    assert everything == ["k-a", "k-b", "k-poison"]
    assert await keys(kafka_bootstrap, svc, "--until", "2020-01-01") == []
    assert await keys(kafka_bootstrap, svc, "--topic", "booking.events") == []
    [poison] = await _listed(kafka_bootstrap, svc, "--key", "k-poison")
    assert (poison["event_type"], poison["error_type"], poison["state"]) == (
        None,
        "ValidationError",
        "pending",
    )


async def test_skip_keeps_a_note_and_a_dry_run_sends_nothing(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    env, svc = _env(kafka_bootstrap), consumer.service
    await _two_failures_and_a_poison(consumer)
    [poison] = await _listed(kafka_bootstrap, svc, "--key", "k-poison")
    skipped = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "skip", svc, "--offset", poison["id"],
         "--note", "poison: producer bug #12", "--by", "ana"],
        env=env,
    )  # fmt: skip
    assert skipped.returncode == 0, skipped.stderr
    assert skipped.stdout.strip().endswith(f"@{poison['offset']}: poison: producer bug #12")
    [row] = await _listed(kafka_bootstrap, svc, "--state", "skipped")
    assert (row["key"], row["note"], row["decided_by"]) == (
        "k-poison",
        "poison: producer bug #12",
        "ana",
    )

    consumer.broken = False
    plan = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", svc, "--all", "--dry-run"],
        env=env,
    )
    assert plan.returncode == 0, plan.stderr
    assert len(plan.stdout.splitlines()) == 2 and plan.stdout.startswith("would replay ")
    assert "dry run: would replay 2 dead letter(s), refused 0; nothing sent" in plan.stderr
    assert await read_topic(kafka_bootstrap, consumer.retry) == []
    assert await _keys(kafka_bootstrap, svc, "--state", "pending") == ["k-a", "k-b"]

    one = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", svc, "--all", "--key", "k-b",
         "--error-type", "RuntimeError"],
        env=env,
    )  # fmt: skip
    assert one.returncode == 0 and len(one.stdout.splitlines()) == 1, one.stderr
    await wait_for(lambda: consumer.effects_are({2: 1}), timeout=60)
    assert await _keys(kafka_bootstrap, svc, "--state", "pending") == ["k-a"]
    assert await _keys(kafka_bootstrap, svc, "--state", "skipped") == ["k-poison"]


async def test_a_long_replay_shows_a_progress_bar_on_stderr(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    for seq in range(25):
        await consumer.send_event(f"k-{seq}", seq, fail=True)
    await wait_for(lambda: consumer.dead(25), timeout=90)
    consumer.broken = False
    done = await run_async([sys.executable, "-m", "eventkit.admin", "dlq", "replay", consumer.service, "--all"],
                           env=_env(kafka_bootstrap))  # fmt: skip
    assert done.returncode == 0, done.stderr
    bar = [line for line in done.stderr.splitlines() if line.startswith("replaying")]
    assert bar and bar[-1].split()[-2] == "25/25", done.stderr
    assert len(done.stdout.splitlines()) == 25  # the bar stays off stdout
    await wait_for(lambda: consumer.effects_are({seq: 1 for seq in range(25)}), timeout=90)


async def test_a_bare_offset_is_refused_when_the_topic_has_several_partitions(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    for key in ("k-a", "k-b", "k-c", "k-d"):
        await consumer.send_event(key, 1, fail=True)
    await wait_for(lambda: consumer.dead(4), timeout=60)
    letters = await consumer.dead_letters()
    assert len({r.partition for r in letters}) >= 2
    done = await run_async(
        [
            sys.executable,
            "-m",
            "eventkit.admin",
            "dlq",
            "replay",
            consumer.service,
            "--offset",
            str(letters[0].offset),
        ],
        env=_env(kafka_bootstrap),
    )
    assert done.returncode == 2 and no_traceback(done), done.stderr
    assert done.stderr.startswith("eventkit.admin: ambiguous_offset: ")
    missing = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "skip", consumer.service, "--offset", f"{letters[0].partition}:999",
               "--note", "x"],
        env=_env(kafka_bootstrap),
    )  # fmt: skip
    assert missing.returncode == 2 and no_traceback(missing), missing.stderr
    assert "no_such_dead_letter" in missing.stderr
    assert await read_topic(kafka_bootstrap, consumer.retry) == []  # nothing was replayed


async def test_a_record_that_is_not_a_dead_letter_is_refused_and_the_exit_code_says_so(
    kafka_bootstrap: str,
) -> None:
    service = await _service_topics(kafka_bootstrap)
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
        f"refused {service}.dlt[0]@0: no dlt.original.topic header, not a dead letter",
        "replayed 0 dead letter(s), refused 1",
    ]


async def test_list_on_an_empty_dead_letter_topic_says_so(kafka_bootstrap: str) -> None:
    service = await _service_topics(kafka_bootstrap)
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", service], env=_env(kafka_bootstrap)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == f"no dead letters in {service}.dlt"


async def test_list_and_replay_on_a_missing_topic_fail_with_one_line(kafka_bootstrap: str) -> None:
    service = f"clitest{uuid.uuid4().hex[:8]}"
    actions = [["list", service], ["replay", service, "--all"],
               ["skip", service, "--all", "--note", "n"], ["list", "ops"]]  # fmt: skip
    for action in actions:  # ops publishes nothing, so it has no dead letters either
        done = await run_async(
            [sys.executable, "-m", "eventkit.admin", "dlq", *action], env=_env(kafka_bootstrap)
        )
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith(f"eventkit.admin: topic_missing: {action[1]}.")
        assert line.endswith(
            "(no topic of the catalogue; the services with dead letters: "
            "booking, payments, finance, disputes)"
        )
    listed = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", service], env=_env(kafka_bootstrap)
    )
    assert listed.returncode == 2  # reading did not create it


async def test_an_unreachable_broker_is_one_line_and_exit_1() -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    for command in (
        [sys.executable, "-m", "eventkit.admin", "--bootstrap", nowhere, "dlq", "list", "payments"],
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", "payments", "--all"],
        [sys.executable, "-m", "eventkit.admin", "dlq", "skip", "payments", "--all", "--note", "n"],
        [sys.executable, "-m", "eventkit.admin", "create-topics"],
    ):
        done = await run_async(command, env={"KAFKA_BOOTSTRAP": nowhere})
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(
            f"eventkit.admin: kafka_unavailable: cannot reach Kafka at {nowhere}: "
        )
        assert len(done.stderr.splitlines()) == 1 and done.stdout == ""


async def test_a_time_out_of_range_is_a_usage_error_not_a_traceback() -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # refused before any broker is asked
    for when in ("99999999d", "yesterday", "2026-13-01"):
        done = await run_async(
            [sys.executable, "-m", "eventkit.admin", "dlq", "list", "payments", "--since", when],
            env={"KAFKA_BOOTSTRAP": nowhere},
        )
        assert done.returncode == 2, done.stderr
        assert "not a time" in done.stderr and "Traceback" not in done.stderr


async def test_the_readme_commands_on_the_payments_dead_letters(kafka_bootstrap: str) -> None:
    """README's `dlq list payments` and a dry run of `dlq replay payments --all`, pointed at the
    test Kafka by KAFKA_BOOTSTRAP (a dry run writes nothing, so other tests are not disturbed)."""
    env = _env(kafka_bootstrap)
    done = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "list", "payments"], env=env
    )
    assert done.returncode == 0 and no_traceback(done), done.stderr
    letters = await read_topic(kafka_bootstrap, "payments.dlt")
    if letters:
        assert f"{len(letters)} dead letter(s) in payments.dlt" in done.stderr
        assert len(done.stdout.splitlines()) == min(50, len(letters))
    else:
        assert done.stderr.strip() == "no dead letters in payments.dlt"
    plan = await run_async(
        [sys.executable, "-m", "eventkit.admin", "dlq", "replay", "payments", "--all", "--dry-run"],
        env=env,
    )
    assert plan.returncode == 0 and no_traceback(plan), plan.stderr
    assert "nothing sent" in plan.stderr


async def _service_topics(bootstrap: str) -> str:
    service = f"clitest{uuid.uuid4().hex[:8]}"
    for suffix in (".dlt", ".retry", ".dlt-notes"):
        await create_topic(bootstrap, service + suffix, partitions=1)
    return service
