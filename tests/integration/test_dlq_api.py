"""eventkit.dlq as the ops service calls it: structured results, pagination, dry run, skip; and
a replay that fails again, on real Kafka and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from eventkit import dlq
from tests.support import read_topic, wait_for
from tests.support.dlq_consumers import FailingConsumer

pytestmark = pytest.mark.integration


@pytest.fixture
async def consumer(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> AsyncIterator[FailingConsumer]:
    async with FailingConsumer(kafka_bootstrap, booking_pool, scratch_tables) as c:
        yield c


async def test_pages_follow_the_cursor_newest_first_and_count_what_matched(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    for seq in range(5):
        await consumer.send_event(f"k-{seq}", seq, fail=True)
    await consumer.send(b"{poison", "k-poison")
    await wait_for(lambda: consumer.dead(6), timeout=60)

    seen: list[dlq.DeadLetter] = []
    cursor = None
    wanted = dlq.Filters(error_type="RuntimeError")
    while True:
        page = await dlq.list_dead_letters(
            kafka_bootstrap, consumer.service, wanted, limit=2, cursor=cursor
        )
        assert page.total == 5 and len(page.items) <= 2
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 5 and len({d.id for d in seen}) == 5
    times = [d.dead_lettered_at for d in seen]
    assert times == sorted(times, reverse=True)
    first = seen[-1]
    assert (first.state, first.event_type, first.original_topic, first.attempts) == (
        "pending",
        "test.ping",
        consumer.model.TOPIC,
        2,
    )
    [poison] = (await dlq.list_dead_letters(kafka_bootstrap, consumer.service,
                                            dlq.Filters(key="k-poison"))).items  # fmt: skip
    assert poison.event_type is None and poison.as_dict()["value"] == "{poison"
    with pytest.raises(dlq.AdminError) as refused:
        await dlq.list_dead_letters(kafka_bootstrap, consumer.service, cursor="9:999")
    assert refused.value.code == "bad_cursor"


async def test_dry_run_replay_and_skip_return_what_they_did(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    for seq, key in enumerate(("k-a", "k-b", "k-c")):
        await consumer.send_event(key, seq, fail=True)
    await wait_for(lambda: consumer.dead(3), timeout=60)
    letters = (await dlq.list_dead_letters(kafka_bootstrap, consumer.service)).items
    by_key = {d.key: d for d in letters}

    plan = await dlq.replay(kafka_bootstrap, consumer.service, pending=True, dry_run=True)
    assert plan.dry_run and plan.target == consumer.retry and plan.refused == []
    assert {d.id for d in plan.replayed} == {d.id for d in letters}
    assert await read_topic(kafka_bootstrap, consumer.retry) == []

    gone = await dlq.skip(
        kafka_bootstrap, consumer.service, ids=[by_key["k-a"].id], note=" dup ", actor="ana"
    )
    assert [d.id for d in gone.skipped] == [by_key["k-a"].id] and gone.note == "dup"
    with pytest.raises(dlq.AdminError) as blank:
        await dlq.skip(kafka_bootstrap, consumer.service, ids=[by_key["k-b"].id], note="  ")
    assert blank.value.code == "note_required"
    with pytest.raises(dlq.AdminError) as nothing:
        await dlq.replay(kafka_bootstrap, consumer.service)
    assert nothing.value.code == "nothing_selected"

    consumer.broken = False
    progress: list[tuple[int, int]] = []
    done = await dlq.replay(
        kafka_bootstrap, consumer.service, pending=True, actor="bo", on_progress=_record(progress)
    )
    assert sorted(d.key for d in done.replayed) == ["k-b", "k-c"] and progress[-1] == (2, 2)
    await wait_for(lambda: consumer.effects_are({1: 1, 2: 1}), timeout=60)
    states = {
        d.key: (d.state, d.note.actor if d.note else None, d.note.note if d.note else None)
        for d in (await dlq.list_dead_letters(kafka_bootstrap, consumer.service)).items
    }
    assert states == {
        "k-a": ("skipped", "ana", "dup"),
        "k-b": ("replayed", "bo", None),
        "k-c": ("replayed", "bo", None),
    }


async def test_a_replay_that_fails_again_is_dead_lettered_with_its_original_topic(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    await consumer.send_event("k-a", 1, fail=True)
    await wait_for(lambda: consumer.dead(1), timeout=60)
    [first] = (await dlq.list_dead_letters(kafka_bootstrap, consumer.service)).items
    await dlq.replay(kafka_bootstrap, consumer.service, ids=[first.id])  # not fixed yet
    await wait_for(lambda: consumer.dead(2), timeout=60)
    page = await dlq.list_dead_letters(
        kafka_bootstrap, consumer.service, dlq.Filters(state="pending")
    )
    [second] = page.items
    assert second.original_topic == consumer.model.TOPIC
    assert second.headers["dlt.original.offset"] == first.headers["dlt.original.offset"]
    assert second.headers["dlt.retried.from"].startswith(f"{consumer.retry}[")
    assert second.event_id == first.event_id

    consumer.broken = False  # the fix: the second replay goes the same way, handled once
    await dlq.replay(kafka_bootstrap, consumer.service, pending=True)
    await wait_for(lambda: consumer.effects_are({1: 1}), timeout=60)


def _record(into: list[tuple[int, int]]) -> dlq.Progress:
    def step(done: int, total: int) -> None:
        into.append((done, total))

    return step
