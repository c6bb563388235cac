"""What sim time brings about (lapsed authorizations, settled bank debits), found without
looking at every intent: a heap of due times, kept from the intents requests touched.

Every change to an intent goes through ``state.objects`` (see ``tracking``), so the intents
touched since the last run are the only ones whose due time may have changed. Each run
re-reads those, then pops what is due; a popped entry is acted on only if the intent is
still due (a captured authorization leaves a stale entry, dropped when it comes up).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from stripesim.resources import ach, payment_intents
from stripesim.state import Ctx

AUTHORIZATION = "authorization"
SETTLEMENT = "settlement"
_RULES: dict[str, Callable[[Ctx, dict[str, Any]], int | None]] = {
    AUTHORIZATION: lambda _ctx, pi: payment_intents.authorization_expires_at(pi),
    SETTLEMENT: ach.settles_at,
}


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str, str]] = []
        self._due: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self._due)

    def clear(self) -> None:
        self._heap.clear()
        self._due.clear()

    def _refresh(self, ctx: Ctx) -> None:
        objects = ctx.state.objects
        for object_id in objects.take_touched():
            obj = objects.peek(object_id)
            if obj is None or obj.get("object") != "payment_intent":
                continue
            for kind, rule in _RULES.items():
                key, due = (kind, object_id), rule(ctx, obj)
                if due is None:
                    self._due.pop(key, None)
                elif self._due.get(key) != due:
                    self._due[key] = due
                    heapq.heappush(self._heap, (due, kind, object_id))

    def _pop_due(self, now: int) -> dict[str, list[str]]:
        due: dict[str, list[str]] = {kind: [] for kind in _RULES}
        while self._heap and self._heap[0][0] <= now:
            when, kind, object_id = heapq.heappop(self._heap)
            if self._due.get((kind, object_id)) == when:
                del self._due[(kind, object_id)]
                due[kind].append(object_id)
        return due

    def run(self, ctx: Ctx) -> dict[str, list[str]]:
        """Apply what is due; the ids of the intents that ``expired`` and ``settled``."""
        self._refresh(ctx)
        due = self._pop_due(ctx.now())
        expired = payment_intents.expire_authorizations(ctx, due[AUTHORIZATION])
        settled = ach.settle_due(ctx, due[SETTLEMENT])
        return {"expired": expired, "settled": settled}
