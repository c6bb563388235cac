"""The events kept in memory: found by id, listed by type (or ``type.*``) newest first.

Stripe keeps events 30 days. Memory keeps at most ``keep`` of them besides (the newest); older
ones stay in the state file, where ``GET /v1/events/{id}`` still finds them (see
``SimState.event``), while lists reach back over the events in memory only.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from stripesim.indexes import SeqLists, contains, list_page

RETENTION_SECONDS = 30 * 24 * 60 * 60
DEFAULT_KEEP_IN_MEMORY = 50_000
ALL = "*"


def type_keys(event_type: str) -> list[str]:
    """The list keys an event of this type is filed under: ``*``, ``charge.*``,
    ``charge.dispute.*`` and ``charge.dispute.created`` for ``charge.dispute.created``."""
    parts = event_type.split(".")
    return [ALL, *(".".join(parts[:i]) + ".*" for i in range(1, len(parts))), event_type]


class EventLog:
    def __init__(self, keep: int = DEFAULT_KEEP_IN_MEMORY) -> None:
        self.keep = keep
        self._by_seq: dict[int, dict[str, Any]] = {}
        self._seq_of: dict[str, int] = {}
        self._lists = SeqLists()
        self.next_seq = 1
        self.unsaved: list[tuple[int, dict[str, Any]]] = []  # appended since the last snapshot

    def __len__(self) -> int:
        return len(self._by_seq)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Oldest first."""
        return iter(list(self._by_seq.values()))

    def append(self, event: dict[str, Any], seq: int | None = None) -> int:
        if seq is None:
            seq = self.next_seq
            self.unsaved.append((seq, event))
        self.next_seq = max(self.next_seq, seq + 1)
        self._by_seq[seq] = event
        self._seq_of[event["id"]] = seq
        for key in type_keys(event["type"]):
            self._lists.add(key, seq)
        return seq

    def get(self, event_id: str) -> dict[str, Any] | None:
        seq = self._seq_of.get(event_id)
        return None if seq is None else self._by_seq[seq]

    def page(
        self, wanted: str | None, limit: int, after: str | None, before: str | None
    ) -> tuple[list[dict[str, Any]], bool] | str:
        """(data, has_more), or the name of the cursor parameter naming an unknown event."""
        seqs = self._lists.get(wanted or ALL)
        cursors: dict[str, int | None] = {}
        for param, cursor in (("starting_after", after), ("ending_before", before)):
            seq = None if cursor is None else self._seq_of.get(cursor)
            if cursor is not None and (seq is None or not contains(seqs, seq)):
                return param
            cursors[param] = seq
        return list_page(
            seqs,
            self._by_seq.get,
            limit=limit,
            after=cursors["starting_after"],
            before=cursors["ending_before"] if after is None else None,
        )

    def prune(self, oldest_created: int) -> int:
        """Drop from memory events created before ``oldest_created`` and all but the newest
        ``keep``; how many were dropped."""
        dropped = 0
        for event in self._by_seq.values():  # oldest first: insertion order
            if len(self._by_seq) - dropped <= self.keep and event["created"] >= oldest_created:
                break
            dropped += 1
        if not dropped:
            return 0
        doomed = list(islice(self._by_seq, dropped))
        for seq in doomed:
            del self._seq_of[self._by_seq.pop(seq)["id"]]
        self._lists.trim(doomed[-1] + 1)
        return dropped

    def take_unsaved(self) -> list[tuple[int, dict[str, Any]]]:
        taken, self.unsaved = self.unsaved, []
        return taken

    def clear(self) -> None:
        self._by_seq.clear()
        self._seq_of.clear()
        self._lists.clear()
        self.unsaved.clear()
        self.next_seq = 1
