"""A transition table as data: (state, trigger) -> (next state, event it emits).

Booking's aggregates each keep their own richer table (guards per mode, group legs); this is
the small generic form for an aggregate whose transitions need no guard beyond the state.
An illegal transition is a domain error with a code (`illegal_transition`), never an assert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S", bound=str)
T = TypeVar("T", bound=str)

ILLEGAL_TRANSITION = "illegal_transition"


class IllegalTransition(Exception):
    code = ILLEGAL_TRANSITION

    def __init__(self, state: str, trigger: str) -> None:
        super().__init__(f"`{trigger}` is not allowed from `{state}`")
        self.state = state
        self.trigger = trigger


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    target: S
    emits: tuple[str, ...] = ()


class TransitionTable(Generic[S, T]):
    def __init__(self, rows: Mapping[tuple[S, T], Transition[S]]) -> None:
        self.rows = dict(rows)

    def apply(self, state: S, trigger: T) -> Transition[S]:
        """The transition `trigger` takes from `state`; raises IllegalTransition."""
        found = self.rows.get((state, trigger))
        if found is None:
            raise IllegalTransition(state, trigger)
        return found

    def allows(self, state: S, trigger: T) -> bool:
        return (state, trigger) in self.rows

    def states(self) -> set[str]:
        return {s for s, _ in self.rows} | {t.target for t in self.rows.values()}

    def triggers_from(self, state: S) -> Iterable[T]:
        return [t for s, t in self.rows if s == state]
