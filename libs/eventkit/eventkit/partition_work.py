"""One assigned partition's records between fetch and commit: queues per key, offsets in flight.

Key ordering as in Confluent's Parallel Consumer: at most one unit of work per key is in flight,
so a key's records run strictly in offset order, while different keys run concurrently. The
committable offset is the lowest offset not yet finished (queued or in flight); everything
below it is done, so committing it never skips a record, whatever order keys finish in.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from aiokafka.structs import TopicPartition

from eventkit.consumer import Item

Key = bytes | None  # records without a key are ordered among themselves, like one key


@dataclass
class Unit:
    """Records handled together by one task: one record, or a run of simple records of one
    or more keys of this partition (each key's records in offset order)."""

    work: PartitionWork
    items: list[Item]
    keys: list[Key]

    @property
    def step(self) -> bool:
        """One record with a step of its own: it holds no connection while the step runs."""
        return len(self.items) == 1 and not self.items[0].simple


@dataclass(eq=False)  # compared by identity: a re-assigned partition gets a new one
class PartitionWork:
    """Ready keys (queued, not in flight) are kept apart by the kind of their head record, each
    in FIFO order: taking a unit costs the same with ten ready keys or a thousand. (Scanning
    one mixed list for the kind that has a free slot grew with the backlog, just when the
    service was furthest behind.)"""

    tp: TopicPartition
    queues: dict[Key, deque[Item]] = field(default_factory=dict)
    ready_steps: dict[Key, None] = field(default_factory=dict)  # head needs a step of its own
    ready_runs: dict[Key, None] = field(default_factory=dict)  # head is a simple record
    busy: set[Key] = field(default_factory=set)
    next_offset: int | None = None  # one past the last record fetched
    committed: int | None = None  # the last offset committed (or found committed)
    buffered: int = 0  # records fetched and not finished
    paused: bool = False
    _unfinished: list[int] = field(default_factory=list)  # heap
    _finished: set[int] = field(default_factory=set)  # finished, still above the heap's top

    def add(self, items: list[Item]) -> None:
        for item in items:
            offset = item.record.offset
            if self.next_offset is not None and offset < self.next_offset:
                continue  # fetched again after a seek: already tracked
            self.next_offset = offset + 1
            if item.ignored:
                continue  # nothing to do: finished as soon as it is fetched
            heapq.heappush(self._unfinished, offset)
            self.buffered += 1
            key = item.record.key
            queue = self.queues.setdefault(key, deque())
            queue.append(item)
            if len(queue) == 1 and key not in self.busy:
                self._mark_ready(key)

    def ready_count(self) -> int:
        return len(self.ready_steps) + len(self.ready_runs)

    def drop_queued(self) -> None:
        """Forget every record not started (the partition was revoked: its next owner fetches
        them again)."""
        self.queues.clear()
        self.ready_steps.clear()
        self.ready_runs.clear()

    def committable(self) -> int | None:
        """The offset to commit: the lowest unfinished one, or one past the last fetched."""
        while self._unfinished and self._unfinished[0] in self._finished:
            self._finished.discard(heapq.heappop(self._unfinished))
        if self._unfinished:
            return self._unfinished[0]
        return self.next_offset

    def take(
        self, max_items: int, max_keys: int = 1, *, steps: bool = True, runs: bool = True
    ) -> Unit | None:
        """The next unit to start: the first ready key's head alone if it needs a step of its
        own (a payment-provider call, a poison record) and is older than the first ready run's
        head, else the run of simple records at the head of up to `max_keys` ready keys
        (`max_items` records at most). With `steps` or `runs` False (no slot free for that kind), only a unit of the
        other kind is taken."""
        if steps and self.ready_steps:
            step_key = next(iter(self.ready_steps))  # a key may be None: no sentinel
            if not (runs and self.ready_runs) or self._head(step_key) < self._oldest_run_head():
                return Unit(self, [self._pop(step_key)], [step_key])
        if runs and self.ready_runs:
            return self._take_runs(max_items, max_keys)
        return None

    def _oldest_run_head(self) -> int:
        return self._head(next(iter(self.ready_runs)))

    def _head(self, key: Key) -> int:
        return int(self.queues[key][0].record.offset)

    def _take_runs(self, max_items: int, max_keys: int) -> Unit:
        items: list[Item] = []
        keys: list[Key] = []
        while self.ready_runs and len(items) < max_items and len(keys) < max_keys:
            key = next(iter(self.ready_runs))
            del self.ready_runs[key]
            self.busy.add(key)
            keys.append(key)
            queue = self.queues[key]
            while queue and queue[0].simple and len(items) < max_items:
                items.append(queue.popleft())
        return Unit(self, items, keys)

    def _pop(self, key: Key) -> Item:
        del self.ready_steps[key]
        self.busy.add(key)
        return self.queues[key].popleft()

    def _mark_ready(self, key: Key) -> None:
        (self.ready_runs if self.queues[key][0].simple else self.ready_steps)[key] = None

    def finish(self, unit: Unit) -> None:
        for item in unit.items:
            self._finished.add(item.record.offset)
        self.buffered -= len(unit.items)
        self._release(unit.keys)

    def _release(self, keys: list[Key]) -> None:
        for key in keys:
            self.busy.discard(key)
            if self.queues.get(key):
                self._mark_ready(key)
            else:
                self.queues.pop(key, None)
