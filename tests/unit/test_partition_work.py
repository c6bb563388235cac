"""PartitionWork: one key's records one unit at a time, in offset order; the committable
offset never passes an unfinished record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition

from eventkit.consumer import Item
from eventkit.partition_work import PartitionWork

TP = TopicPartition("t", 0)
SIMPLE: Any = object()  # stands for a decoded event of a route without `prepare`


def _item(offset: int, key: str, *, simple: bool = True, ignored: bool = False) -> Item:
    record = ConsumerRecord("t", 0, offset, 0, 0, key.encode(), b"", None, 0, 0, [])
    return Item(record, SIMPLE if simple else None, ignored)


def _offsets(unit: Any) -> list[int]:
    return [item.record.offset for item in unit.items]


def test_a_key_has_one_unit_in_flight_and_keys_are_taken_concurrently() -> None:
    work = PartitionWork(TP)
    work.add([_item(0, "a"), _item(1, "b"), _item(2, "a", simple=False), _item(3, "a")])
    first = work.take(100)
    second = work.take(100)
    assert first is not None and second is not None
    assert (_offsets(first), _offsets(second)) == ([0], [1])  # a's run stops at its prepare
    assert work.take(100) is None  # a and b are both in flight
    work.finish(first)
    alone = work.take(100)
    assert alone is not None and _offsets(alone) == [2]  # a's prepare event, on its own
    work.finish(alone)
    rest = work.take(100)
    assert rest is not None and _offsets(rest) == [3]


def test_keys_share_a_unit_only_when_asked_to() -> None:
    work = PartitionWork(TP)
    work.add([_item(i, f"k{i % 3}") for i in range(6)])
    unit = work.take(100, max_keys=3)
    assert unit is not None and sorted(_offsets(unit)) == [0, 1, 2, 3, 4, 5]
    assert sorted(k or b"" for k in unit.keys) == [b"k0", b"k1", b"k2"]


def test_a_kind_without_a_free_slot_is_passed_over_for_the_other() -> None:
    """Provider calls and runs of simple events have slots of their own: with no step slot
    free the simple keys still go; with no run slot free the step still goes."""
    work = PartitionWork(TP)
    work.add([_item(0, "pay", simple=False), _item(1, "a"), _item(2, "b")])
    runs = work.take(100, max_keys=2, steps=False)
    assert runs is not None and not runs.step and sorted(_offsets(runs)) == [1, 2]
    assert work.take(100, runs=False, steps=False) is None
    step = work.take(100, runs=False)
    assert step is not None and step.step and _offsets(step) == [0]

    work = PartitionWork(TP)
    work.add([_item(0, "a"), _item(1, "pay", simple=False)])
    step = work.take(100, runs=False)  # the oldest ready key is simple: the step goes first
    assert step is not None and _offsets(step) == [1]
    assert work.take(100, steps=False) is not None


def test_the_committable_offset_stops_at_the_lowest_unfinished_record() -> None:
    work = PartitionWork(TP)
    assert work.committable() is None  # nothing fetched: nothing to commit
    work.add([_item(10, "slow"), _item(11, "fast"), _item(12, "other", ignored=True)])
    slow, fast = work.take(100), work.take(100)
    assert slow is not None and fast is not None
    work.finish(fast)
    assert work.committable() == 10  # 11 and 12 are done, 10 is not
    work.finish(slow)
    assert work.committable() == 13
    assert work.buffered == 0


def test_ready_keys_of_each_kind_are_taken_oldest_head_first_whatever_the_backlog() -> None:
    """With the step slots full, a simple key behind a thousand provider calls still goes,
    and the keyless records (key None) are a key like any other."""
    work = PartitionWork(TP)
    work.add([_item(i, f"pay{i}", simple=False) for i in range(1000)])
    work.add([_item(1000, "late")])
    record = ConsumerRecord("t", 0, 1001, 0, 0, None, b"", None, 0, 0, [])
    work.add([Item(record, None, False)])  # keyless, needs a step
    runs = work.take(100, steps=False)
    assert runs is not None and _offsets(runs) == [1000]
    assert work.take(100, steps=False) is None  # no other simple key is ready
    firsts = [work.take(100, runs=False) for _ in range(2)]
    assert [_offsets(unit) for unit in firsts if unit] == [[0], [1]]
    assert work.ready_count() == 999  # 998 provider calls and the keyless record
    work.drop_queued()
    assert work.ready_count() == 0 and work.take(100) is None


def test_the_partition_work_bench_runs_as_documented() -> None:
    """`python bench/partition_work_bench.py` (docs/benchmarks.md), as users type it."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "bench/partition_work_bench.py", "--ready", "10", "100"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "ready keys:" in line]
    assert [line.split()[0] for line in lines] == ["10", "100"], done.stdout
