"""Dead letters through the staff API: list and filter, dry-run, replay once per token (with
its audit record), skip with a note."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from eventkit.dlq_store import partitions_of
from tests.conftest import KAFKA
from tests.e2e_ops.conftest import Ops, dead_letter, envelope

pytestmark = pytest.mark.e2e

LIST = """query ($key: String) {
  deadLetters(service: "disputes", key: $key) {
    total items { partition offset key eventType errorType attempts originalTopic state note }
  }
}"""
PREVIEW = """query ($p: Int!, $o: Int!) {
  replayPreview(service: "disputes", partition: $p, offset: $o) { targetTopic wouldReplay reason }
}"""
REPLAY = """mutation ($t: String!, $p: Int!, $o: Int!) {
  replayDeadLetter(idempotencyToken: $t, service: "disputes", partition: $p, offset: $o) {
    target state topic
  }
}"""
SKIP = """mutation ($t: String!, $p: Int!, $o: Int!, $n: String!) {
  skipDeadLetter(idempotencyToken: $t, service: "disputes", partition: $p, offset: $o, note: $n) {
    state note
  }
}"""


async def _replayed_copies(topic: str, since: dict[int, int], key: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in since]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, since[tp.partition])
        end = await consumer.end_offsets(partitions)
        found = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found += [r for r in batch if r.key == key.encode()]
        return found
    finally:
        await consumer.stop()


async def _ends(topic: str) -> dict[int, int]:
    partitions = [TopicPartition(topic, p) for p in await partitions_of(KAFKA, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA)
    await consumer.start()
    try:
        return {tp.partition: o for tp, o in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


def _letters(ops: Ops, key: str, role: str = "finance") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ops.graphql(LIST, role=role, key=key)["data"]["deadLetters"][
        "items"
    ]
    return items


def open_poison_letter(ops: Ops) -> tuple[str, dict[str, int]]:
    """An undecodable record dead-lettered by disputes, still open: its key and place."""
    key = f"dsp-{uuid.uuid4().hex[:8]}"
    asyncio.run(
        dead_letter("disputes", b"\x00poison", key=key, topic="payments.events",
                    error=ValueError("not json"), attempts=1)
    )  # fmt: skip
    [letter] = _letters(ops, key)
    assert letter["state"] == "open"
    return key, {"p": letter["partition"], "o": letter["offset"]}


def test_a_dead_letter_is_replayed_once_per_token_and_audited(ops: Ops) -> None:
    key = f"dsp-{uuid.uuid4().hex[:8]}"
    event = envelope(
        "test.dispute_opened", {"dispute_id": key}, producer="payments", correlation_id=uuid.uuid4()
    )
    asyncio.run(
        dead_letter("disputes", event.to_bytes(), key=key, topic="payments.events",
                    error=RuntimeError("handler bug"), attempts=5)
    )  # fmt: skip
    [letter] = _letters(ops, key)
    assert (letter["eventType"], letter["errorType"], letter["state"]) == (
        "test.dispute_opened", "RuntimeError", "open",
    )  # fmt: skip
    where = {"p": letter["partition"], "o": letter["offset"]}

    plan = ops.graphql(PREVIEW, **where)["data"]["replayPreview"]
    assert plan["wouldReplay"] and plan["targetTopic"] in ("payments.events", "disputes.retry")
    before = asyncio.run(_ends(plan["targetTopic"]))
    assert asyncio.run(_replayed_copies(plan["targetTopic"], before, key)) == []  # dry run: none

    # The audit of this place before: a dead-letter topic created again reuses its offsets.
    audit_query = "query ($t: String) { audit(target: $t) { actor role action before after } }"
    place = f"disputes.dlt[{letter['partition']}]@{letter['offset']}"
    audited_before = len(ops.graphql(audit_query, t=place)["data"]["audit"])
    token = f"replay-{uuid.uuid4()}"
    first = ops.graphql(REPLAY, t=token, **where)
    again = ops.graphql(REPLAY, t=token, **where)
    assert first["data"]["replayDeadLetter"] == again["data"]["replayDeadLetter"]
    assert first["data"]["replayDeadLetter"]["state"] == "replayed"
    copies = asyncio.run(_replayed_copies(plan["targetTopic"], before, key))
    assert len(copies) == 1 and copies[0].value == event.to_bytes()
    assert dict(copies[0].headers)["replay.from"].startswith(b"disputes.dlt[")
    assert _letters(ops, key)[0]["state"] == "replayed"

    assert first["data"]["replayDeadLetter"]["target"] == place
    audit = ops.graphql(audit_query, t=place)["data"]["audit"]  # newest first
    assert len(audit) == audited_before + 1  # two calls, one token: one audit row
    assert (audit[0]["actor"], audit[0]["action"]) == ("ana", "dead_letter.replay")
    assert '"open"' in audit[0]["before"] and '"replayed"' in audit[0]["after"]

    other = ops.graphql(SKIP, t=token, n="reuse", **where)  # same token, another action
    assert other["errors"][0]["extensions"]["code"] == "idempotency_conflict"


def test_a_skipped_dead_letter_keeps_its_note_and_is_not_replayed(ops: Ops) -> None:
    key, where = open_poison_letter(ops)
    skipped = ops.graphql(SKIP, t=f"skip-{uuid.uuid4()}", n="poison from a test", **where)
    assert skipped["data"]["skipDeadLetter"] == {"state": "skipped", "note": "poison from a test"}
    [after] = _letters(ops, key)
    assert (after["state"], after["note"]) == ("skipped", "poison from a test")
    refused = ops.graphql(REPLAY, t=f"replay-{uuid.uuid4()}", **where)
    assert refused["errors"][0]["extensions"]["code"] == "dead_letter_skipped"
    assert ops.graphql(PREVIEW, **where)["data"]["replayPreview"]["wouldReplay"] is False
    again = ops.graphql(SKIP, t=f"skip-{uuid.uuid4()}", n="a second opinion", **where)
    assert again["errors"][0]["extensions"]["code"] == "dead_letter_skipped"
    assert _letters(ops, key)[0]["note"] == "poison from a test"  # the deciding note stays
