"""A transition table as data: (state, trigger) -> (next state, events it emits).

A row may hold several candidate transitions, each with a guard over a context the caller
passes (booking's mode and grouping, for example): the first candidate whose guard holds
applies. A row without a guard always applies. An illegal transition is a domain error with a
code (`illegal_transition`), never an assert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S", bound=str)
T = TypeVar("T", bound=str)

ILLEGAL_TRANSITION = "illegal_transition"

# A guard reads the context the caller passes to `apply`; str(guard) names it in diagrams.
Guard = Callable[[Any], bool]


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
    guard: Guard | None = None

    def holds(self, context: Any) -> bool:
        return self.guard is None or self.guard(context)


Row = Transition[S] | Sequence[Transition[S]]


class TransitionTable(Generic[S, T]):
    def __init__(self, rows: Mapping[tuple[S, T], Row[S]]) -> None:
        self.candidates: dict[tuple[S, T], tuple[Transition[S], ...]] = {
            key: (row,) if isinstance(row, Transition) else tuple(row) for key, row in rows.items()
        }
        empty = [key for key, found in self.candidates.items() if not found]
        if empty:
            raise ValueError(f"rows without a transition: {empty}")

    @property
    def rows(self) -> dict[tuple[S, T], Transition[S]]:
        """One transition per (state, trigger); a table with guarded alternatives has none."""
        if any(len(found) > 1 for found in self.candidates.values()):
            raise TypeError("this table has guarded alternatives: read `candidates`")
        return {key: found[0] for key, found in self.candidates.items()}

    def apply(self, state: S, trigger: T, context: Any = None) -> Transition[S]:
        """The transition `trigger` takes from `state` (first guard that holds for `context`);
        raises IllegalTransition."""
        for candidate in self.candidates.get((state, trigger), ()):
            if candidate.holds(context):
                return candidate
        raise IllegalTransition(state, trigger)

    def allows(self, state: S, trigger: T, context: Any = None) -> bool:
        return any(c.holds(context) for c in self.candidates.get((state, trigger), ()))

    def states(self) -> set[str]:
        targets = {c.target for found in self.candidates.values() for c in found}
        return {s for s, _ in self.candidates} | targets

    def triggers_from(self, state: S) -> Iterable[T]:
        return [t for s, t in self.candidates if s == state]

    def mermaid(
        self,
        initials: Iterable[tuple[str, str, str]] = (),
        *,
        joiner: str = ", ",
        nothing: str | None = "",
    ) -> str:
        """The table as a mermaid state diagram. `initials` (state, what creates it, the event
        it emits) enter it; each candidate is an edge ``trigger [guard] / events``, the events
        joined by `joiner` (a transition that emits none shows `nothing`, or no ``/`` at all
        when that is None); the states with no way out end it, sorted."""
        lines = ["stateDiagram-v2"]
        lines += [f"    [*] --> {state}: {label} / {event}" for state, label, event in initials]
        for (source, trigger), candidates in self.candidates.items():
            for t in candidates:
                guard = "" if t.guard is None else f" [{t.guard}]"
                emits = joiner.join(t.emits) if t.emits else nothing
                label = "" if emits is None else f" / {emits}"
                lines.append(f"    {source} --> {t.target}: {trigger}{guard}{label}")
        terminal = self.states() - {source for source, _ in self.candidates}
        lines += [f"    {state} --> [*]" for state in sorted(terminal)]
        return "\n".join(lines) + "\n"
