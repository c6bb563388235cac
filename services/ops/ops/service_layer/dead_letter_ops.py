"""Dead letters for staff: list with what was decided about each, dry-run, replay, skip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from ops.adapters import dead_letter_actions as actions
from ops.adapters import dead_letters as kafka
from ops.domain.dead_letters import Filters
from ops.domain.errors import OpsError, check_page, invalid
from ops.service_layer.mutations import Caller, Outcome, Record

NOTE_MAX = 2000


@dataclass(frozen=True)
class Decision:
    state: str  # replayed | skipped
    note: str | None
    actor: str
    at: Any


@dataclass(frozen=True)
class Page:
    items: list[tuple[kafka.DeadLetter, Decision | None]]
    total: int


Place = tuple[int, int, int]  # partition, offset, record timestamp


def _place(letter: kafka.DeadLetter) -> Place:
    return (letter.partition, letter.offset, letter.record_ts)


async def _decisions(pool: asyncpg.Pool, topic: str) -> dict[Place, Decision]:
    rows = await actions.for_topic(pool, topic)
    return {
        (r["partition"], r["offset"], r["record_ts"]): Decision(
            r["state"], r["note"], r["actor"], r["at"]
        )
        for r in rows
    }


async def list_page(
    pool: asyncpg.Pool,
    bootstrap: str,
    service: str,
    filters: Filters,
    state: str | None,
    first: int,
    offset: int,
) -> Page:
    """Newest first. `state`: open (nothing decided), replayed or skipped."""
    check_page(first, offset)
    if state not in (None, "open", "replayed", "skipped"):
        raise invalid("state must be open, replayed or skipped.")
    letters = [x for x in await kafka.read_letters(bootstrap, service) if filters.admit(x)]
    decided = await _decisions(pool, kafka.dead_letter_topic(service))
    rows = [(x, decided.get(_place(x)) or _noted(x)) for x in reversed(letters)]
    if state is not None:
        rows = [(x, d) for x, d in rows if (d.state if d else "open") == state]
    return Page(rows[offset : offset + first], len(rows))


@dataclass(frozen=True)
class Plan:
    letter: kafka.DeadLetter
    target_topic: str
    decision: Decision | None


async def dry_run(
    pool: asyncpg.Pool, bootstrap: str, service: str, partition: int, offset: int
) -> Plan:
    """What a replay would do, and nothing else."""
    letter = await kafka.find(bootstrap, service, partition, offset)
    decided = await _decisions(pool, letter.topic)
    return Plan(letter, kafka.replay_target(letter), decided.get(_place(letter)) or _noted(letter))


def _noted(letter: kafka.DeadLetter) -> Decision | None:
    """What eventkit.dlq's notes say was decided (by the CLI, say), when ops recorded nothing."""
    if letter.state == "pending":
        return None
    return Decision(letter.state, letter.note, letter.decided_by or "", letter.decided_at)


async def replay(
    caller: Caller, bootstrap: str, service: str, partition: int, offset: int
) -> dict[str, Any]:
    kafka.check_service(service)

    async def send(letter: kafka.DeadLetter) -> dict[str, Any]:
        return {"topic": await kafka.replay(bootstrap, letter, caller.principal.actor)}

    where = (service, partition, offset)
    return await _decide(caller, bootstrap, where, "replayed", None, send)


async def skip(
    caller: Caller, bootstrap: str, service: str, partition: int, offset: int, note: str
) -> dict[str, Any]:
    kafka.check_service(service)
    if not note.strip():
        raise invalid("A skip needs a note saying why the dead letter needs no replay.")
    if len(note) > NOTE_MAX:
        raise invalid(f"A note is at most {NOTE_MAX} characters.")

    async def send(letter: kafka.DeadLetter) -> dict[str, Any]:
        await kafka.skip(bootstrap, letter, note, caller.principal.actor)
        return {"note": note}

    where = (service, partition, offset)
    return await _decide(caller, bootstrap, where, "skipped", note, send)


# What a decision is called in the audit, and why a letter skipped already refuses it (a skip's
# note stays the one that decided it).
_ACTIONS = {"replayed": "dead_letter.replay", "skipped": "dead_letter.skip"}
_REFUSALS = {
    "replayed": "{} was skipped; it is not replayed.",
    "skipped": "{} was skipped already.",
}


async def _decide(
    caller: Caller,
    bootstrap: str,
    where: tuple[str, int, int],
    state: str,
    note: str | None,
    send: Callable[[kafka.DeadLetter], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Replay or skip (`state`) one letter once per token; `send` acts on Kafka and says what
    it did (the topic replayed to, or the note)."""
    service, partition, offset = where
    target = f"{kafka.dead_letter_topic(service)}[{partition}]@{offset}"

    async def act() -> Outcome:
        plan = await dry_run(caller.pool, bootstrap, service, partition, offset)
        before = {"state": plan.decision.state if plan.decision else "open"}
        if before["state"] == "skipped":
            raise OpsError("dead_letter_skipped", _REFUSALS[state].format(target))
        after = {"state": state, **await send(plan.letter)}
        return Outcome(
            {"target": target, "state": state, "topic": after.get("topic"), "note": note},
            before=before,
            after=after,
            record=_remember(plan.letter, state, note, caller.principal.actor),
        )

    request: dict[str, Any] = {"service": service, "partition": partition, "offset": offset}
    if note is not None:
        request["note"] = note
    return await caller.once(action=_ACTIONS[state], target=target, request=request, act=act)


def _remember(letter: kafka.DeadLetter, state: str, note: str | None, actor: str) -> Record:
    async def write(conn: asyncpg.Connection) -> None:
        place = (letter.topic, letter.partition, letter.offset, letter.record_ts)
        await actions.remember(conn, place, state, note, actor)

    return write
