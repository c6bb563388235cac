"""A dict that remembers which keys were touched, so persistence and timers see only those.

Handlers mutate objects in place (``pi.update(status=...)``, ``charge["refunds"] = ...``)
after fetching them by id; they never write through an iterator over all objects. So "every
key read or written since the last look" is a superset of what changed, and its size follows
the requests served, not the history kept: a snapshot writes only these keys, and the timers
re-examine only these intents. Reads mark too, which costs a set insert per lookup.
"""

from __future__ import annotations

from typing import Any


class TrackedDict(dict[str, dict[str, Any]]):
    """``dirty``: keys touched since persistence last took them; ``touched``: since the timers
    last took them. A key that is no longer present when taken was deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty: set[str] = set()
        self.touched: set[str] = set()

    def _mark(self, key: str) -> None:
        self.dirty.add(key)
        self.touched.add(key)

    def __getitem__(self, key: str) -> dict[str, Any]:
        self._mark(key)
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self._mark(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._mark(key)
        super().__delitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._mark(key)
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._mark(key)
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self._mark(key)
        return super().pop(key, *default)

    def peek(self, key: str) -> dict[str, Any] | None:
        """Read without marking (persistence, index maintenance)."""
        return super().get(key)

    def load(self, items: dict[str, dict[str, Any]]) -> None:
        """Fill from a store: nothing is dirty, everything is for the timers to look at."""
        super().update(items)
        self.touched.update(items)

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
