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
    tp: TopicPartition
    queues: dict[Key, deque[Item]] = field(default_factory=dict)
    ready: dict[Key, None] = field(default_factory=dict)  # queued and not in flight, FIFO
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
            self.queues.setdefault(key, deque()).append(item)
            if key not in self.busy:
                self.ready.setdefault(key)

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
        """The next unit to start: the oldest ready key's head alone if it needs a step of its
        own (a payment-provider call, a poison record), else the run of simple records at the
        head of up to `max_keys` ready keys (`max_items` records at most). With `steps` or
        `runs` False (no slot free for that kind), only a unit of the other kind is taken."""
        if not self.ready:
            return None
        first = next(iter(self.ready))
        if steps and not self.queues[first][0].simple:
            return Unit(self, [self._pop(first)], [first])
        if runs and (unit := self._take_runs(max_items, max_keys)) is not None:
            return unit
        if steps:
            for key in self.ready:
                if not self.queues[key][0].simple:
                    return Unit(self, [self._pop(key)], [key])
        return None

    def _take_runs(self, max_items: int, max_keys: int) -> Unit | None:
        items: list[Item] = []
        keys: list[Key] = []
        for key in list(self.ready):
            queue = self.queues[key]
            if not queue[0].simple:
                continue
            del self.ready[key]
            self.busy.add(key)
            keys.append(key)
            while queue and queue[0].simple and len(items) < max_items:
                items.append(queue.popleft())
            if len(items) >= max_items or len(keys) >= max_keys:
                break
        return Unit(self, items, keys) if items else None

    def _pop(self, key: Key) -> Item:
        del self.ready[key]
        self.busy.add(key)
        return self.queues[key].popleft()

    def finish(self, unit: Unit) -> None:
        for item in unit.items:
            self._finished.add(item.record.offset)
        self.buffered -= len(unit.items)
        self._release(unit.keys)

    def _release(self, keys: list[Key]) -> None:
        for key in keys:
            self.busy.discard(key)
            if self.queues.get(key):
                self.ready.setdefault(key)
            else:
                self.queues.pop(key, None)
