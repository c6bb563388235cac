"""A dict that remembers which keys were touched, so persistence and timers see only those.

Handlers mutate objects in place (``pi.update(status=...)``, ``charge["refunds"] = ...``)
after fetching them by id; they never write through an iterator over all objects. So "every
key read or written since the last look" is a superset of what changed, and its size follows
the requests served, not the history kept: a snapshot writes only these keys, and the timers
re-examine only these intents. Reads mark too, which costs a set insert per lookup.

With a ``loader`` (the state file), memory holds at most ``limit`` entries: after a snapshot
has written them, ``evict`` drops the oldest clean ones (neither dirty nor touched: the store
holds them as they are, the timers have seen them), and a lookup of a dropped key loads it
back from the store, so a caller never tells an evicted key from one in memory. Measured
before the bound: ~24 KB resident per PaymentIntent (with its charge, PaymentMethod, events
and idempotency records), 2.4 GB after 101,000 checkouts (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

Loader = Callable[[str], dict[str, Any] | None]


class TrackedDict(dict[str, dict[str, Any]]):
    """``dirty``: keys touched since persistence last took them; ``touched``: since the timers
    last took them. A key that is no longer present when taken was deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty: set[str] = set()
        self.touched: set[str] = set()
        self.loader: Loader | None = None  # where evicted entries are found again
        self.limit: int | None = None  # entries kept in memory once written (None: all)

    def _mark(self, key: str) -> None:
        self.dirty.add(key)
        self.touched.add(key)

    def _present(self, key: str) -> bool:
        """Whether ``key`` is in memory, after loading it back if it was evicted."""
        if super().__contains__(key):
            return True
        found = None if self.loader is None else self.loader(key)
        if found is not None:
            super().__setitem__(key, found)
        return found is not None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._present(key)

    def __getitem__(self, key: str) -> dict[str, Any]:
        self._mark(key)
        self._present(key)
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self._mark(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._mark(key)
        self._present(key)
        super().__delitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._mark(key)
        return super().get(key, default) if self._present(key) else default

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._mark(key)
        self._present(key)
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self._mark(key)
        self._present(key)
        return super().pop(key, *default)

    def peek(self, key: str) -> dict[str, Any] | None:
        """Read without marking (persistence, index maintenance)."""
        return super().get(key) if self._present(key) else None

    def peek_stored(self, key: str) -> dict[str, Any] | None:
        """``peek`` that leaves an evicted entry in the store: for the timers' first look at
        every object after a restart, which would otherwise pull the whole history back in."""
        found = super().get(key)
        if found is None and self.loader is not None:
            found = self.loader(key)
        return found

    def in_memory(self) -> int:
        return super().__len__()

    def load(self, items: dict[str, dict[str, Any]]) -> None:
        """Fill from a store: nothing is dirty, everything is for the timers to look at."""
        super().update(items)
        self.touched.update(items)

    def evict(self, *, keep_touched: bool = True) -> int:
        """Drop the oldest entries beyond ``limit`` that the store holds as they are (not
        dirty; with ``keep_touched``, seen by the timers too); how many were dropped."""
        if self.loader is None or self.limit is None:
            return 0
        excess = super().__len__() - self.limit
        if excess <= 0:
            return 0
        pinned = self.dirty | self.touched if keep_touched else self.dirty
        oldest = (key for key in dict.__iter__(self) if key not in pinned)
        victims = list(islice(oldest, excess))
        for key in victims:
            super().__delitem__(key)
        return len(victims)

    def clear(self) -> None:
        super().clear()
        self.dirty.clear()
        self.touched.clear()

    def take_dirty(self) -> set[str]:
        taken, self.dirty = self.dirty, set()
        return taken

    def take_touched(self) -> set[str]:
        taken, self.touched = self.touched, set()
        return taken
