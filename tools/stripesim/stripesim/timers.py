"""What sim time brings about (lapsed authorizations, settled bank debits, funds becoming
available, payouts made and arriving), found without looking at every object: a heap of due
times, kept from the objects requests touched.

Every change to an object goes through ``state.objects`` (see ``tracking``), so the objects
touched since the last run are the only ones whose due time may have changed. Each run
re-reads those, then pops what is due; a popped entry is acted on only if the object is still
due (a captured authorization leaves a stale entry, dropped when it comes up).

Automatic payouts happen at a time of day, not at an object's due time: a run that finds the
clock past the next payout time first applies everything due up to that time (so the payout
takes exactly what was available by then), makes the payout, and goes on to the next day.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from stripesim.resources import ach, balance, payment_intents, payouts
from stripesim.state import Ctx

AUTHORIZATION = "authorization"
SETTLEMENT = "settlement"
AVAILABLE = "available"
ARRIVAL = "arrival"
Rule = Callable[[Ctx, dict[str, Any]], int | None]
_RULES: dict[str, dict[str, Rule]] = {
    "payment_intent": {
        AUTHORIZATION: lambda _ctx, pi: payment_intents.authorization_expires_at(pi),
        SETTLEMENT: ach.settles_at,
    },
    "balance_transaction": {AVAILABLE: lambda _ctx, txn: balance.available_at(txn)},
    "payout": {ARRIVAL: lambda _ctx, payout: payouts.arrives_at(payout)},
}
TIMED_TYPES = frozenset(_RULES)  # the only objects a restart leaves for the timers to look at
_APPLY: dict[str, Callable[[Ctx, list[str]], list[str]]] = {
    AUTHORIZATION: payment_intents.expire_authorizations,
    SETTLEMENT: ach.settle_due,
    AVAILABLE: balance.make_available,
    ARRIVAL: payouts.arrive,
}
_REPORTED = {AUTHORIZATION: "expired", SETTLEMENT: "settled", AVAILABLE: "available"}


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
            obj = objects.peek_stored(object_id)
            rules = None if obj is None else _RULES.get(str(obj.get("object")))
            if obj is None or rules is None:
                continue
            if obj["object"] == "balance_transaction":
                balance.remember_unpaid(ctx, obj)  # after a restart
            for kind, rule in rules.items():
                key, due = (kind, object_id), rule(ctx, obj)
                if due is None:
                    self._due.pop(key, None)
                elif self._due.get(key) != due:
                    self._due[key] = due
                    heapq.heappush(self._heap, (due, kind, object_id))

    def _pop_due(self, until: int) -> list[tuple[int, str, str]]:
        """The entries due by ``until``, oldest first."""
        due = []
        while self._heap and self._heap[0][0] <= until:
            when, kind, object_id = heapq.heappop(self._heap)
            if self._due.get((kind, object_id)) == when:
                del self._due[(kind, object_id)]
                due.append((when, kind, object_id))
        return due

    def _apply(self, ctx: Ctx, due: list[tuple[int, str, str]], done: dict[str, list[str]]) -> int:
        """Apply each entry at its own time (``SimState.as_of``): what it creates is dated when
        it fell due, not when the clock was moved past it. The number applied."""
        applied = 0
        try:
            for when, kind, object_id in due:
                ctx.state.as_of = when
                found = _APPLY[kind](ctx, [object_id])
                done[_REPORTED.get(kind, "arrived")] += found
                applied += len(found)
        finally:
            ctx.state.as_of = None
        return applied

    def _pay_out(self, ctx: Ctx, at: int) -> list[str]:
        ctx.state.as_of = at
        try:
            return payouts.pay_out_automatic(ctx, at)
        finally:
            ctx.state.as_of = None

    def run(self, ctx: Ctx) -> dict[str, list[str]]:
        """Apply what is due, in time order and day by day; the ids of the intents that
        ``expired`` and ``settled``, the balance transactions now ``available``, the
        ``payouts`` made and those that ``arrived`` (paid or failed)."""
        done: dict[str, list[str]] = {name: [] for name in (*_REPORTED.values(), "payouts")}
        done["arrived"] = []
        while True:
            self._refresh(ctx)
            payout_at = payouts.due_automatic(ctx)
            due = self._pop_due(ctx.now() if payout_at is None else payout_at)
            if self._apply(ctx, due, done):
                continue  # what was just done may have made more due before the payout
            if payout_at is None:
                break
            done["payouts"] += self._pay_out(ctx, payout_at)
        if done["available"]:
            ctx.emit("balance.available", balance.balance_object(ctx))
        return done
