"""The generic transition table: plain rows, guarded alternatives, declared events."""

from __future__ import annotations

from enum import StrEnum

import pytest

from domainkit.transitions import IllegalTransition, Transition, TransitionTable


class State(StrEnum):
    OPEN = "open"
    WAITING = "waiting"
    DONE = "done"


class Trigger(StrEnum):
    FINISH = "finish"
    REOPEN = "reopen"


def test_a_plain_row_applies_and_declares_its_events() -> None:
    table = TransitionTable({(State.OPEN, Trigger.FINISH): Transition(State.DONE, ("finished",))})
    step = table.apply(State.OPEN, Trigger.FINISH)
    assert (step.target, step.emits) == (State.DONE, ("finished",))
    assert table.rows == {(State.OPEN, Trigger.FINISH): step}
    assert table.states() == {"open", "done"}
    assert list(table.triggers_from(State.OPEN)) == [Trigger.FINISH]


def test_an_undeclared_transition_is_a_coded_domain_error() -> None:
    table = TransitionTable({(State.OPEN, Trigger.FINISH): Transition(State.DONE)})
    assert not table.allows(State.DONE, Trigger.REOPEN)
    with pytest.raises(IllegalTransition) as raised:
        table.apply(State.DONE, Trigger.REOPEN)
    assert raised.value.code == "illegal_transition"
    assert (raised.value.state, raised.value.trigger) == ("done", "reopen")


def test_the_first_alternative_whose_guard_holds_applies() -> None:
    def needs_host(context: dict[str, bool]) -> bool:
        return context["request"]

    table = TransitionTable(
        {
            (State.OPEN, Trigger.FINISH): (
                Transition(State.WAITING, ("host_asked",), guard=needs_host),
                Transition(State.DONE, ("finished",)),
            )
        }
    )
    assert table.apply(State.OPEN, Trigger.FINISH, {"request": True}).target is State.WAITING
    assert table.apply(State.OPEN, Trigger.FINISH, {"request": False}).emits == ("finished",)
    assert table.states() == {"open", "waiting", "done"}
    with pytest.raises(TypeError):
        _ = table.rows  # alternatives have no single row to hand out


def test_no_alternative_holding_is_an_illegal_transition() -> None:
    table = TransitionTable(
        {(State.OPEN, Trigger.FINISH): [Transition(State.DONE, guard=lambda ctx: ctx == "ok")]}
    )
    assert table.allows(State.OPEN, Trigger.FINISH, "ok")
    assert not table.allows(State.OPEN, Trigger.FINISH, "no")
    with pytest.raises(IllegalTransition):
        table.apply(State.OPEN, Trigger.FINISH, "no")


def test_a_row_without_a_transition_is_refused() -> None:
    with pytest.raises(ValueError):
        TransitionTable({(State.OPEN, Trigger.FINISH): ()})


class Busy:
    """A guard that names itself in diagrams, as booking's guard enums do."""

    def __call__(self, context: object) -> bool:
        return bool(context)

    def __str__(self) -> str:
        return "busy"


def test_the_diagram_shows_every_candidate_with_its_guard_and_events_and_the_ends() -> None:
    table = TransitionTable(
        {
            (State.OPEN, Trigger.FINISH): (
                Transition(State.WAITING, guard=Busy()),
                Transition(State.DONE, ("finished", "closed")),
            ),
        }
    )
    diagram = table.mermaid([(State.OPEN, "created", "opened")], joiner=" + ", nothing="-")
    assert diagram.splitlines() == [
        "stateDiagram-v2",
        "    [*] --> open: created / opened",
        "    open --> waiting: finish [busy] / -",
        "    open --> done: finish / finished + closed",
        "    done --> [*]",
        "    waiting --> [*]",
    ]
    assert "    open --> waiting: finish [busy] / \n" in table.mermaid()
    assert "    open --> waiting: finish [busy]\n" in table.mermaid(nothing=None)
    assert "    open --> done: finish / finished, closed\n" in table.mermaid()
