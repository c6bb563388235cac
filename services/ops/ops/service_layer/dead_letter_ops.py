"""Dead letters for staff: list with what was decided about each, dry-run, replay, skip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from eventkit.auth import Principal
from ops.adapters import dead_letter_actions as actions
from ops.adapters import dead_letters as kafka
from ops.domain.dead_letters import Filters
from ops.domain.errors import OpsError, check_page, invalid
from ops.service_layer.mutations import Outcome, Record, once

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
    pool: asyncpg.Pool,
    bootstrap: str,
    principal: Principal,
    token: str,
    service: str,
    partition: int,
    offset: int,
) -> dict[str, Any]:
    kafka.check_service(service)
    target = f"{kafka.dead_letter_topic(service)}[{partition}]@{offset}"

    async def act() -> Outcome:
        plan = await dry_run(pool, bootstrap, service, partition, offset)
        if plan.decision is not None and plan.decision.state == "skipped":
            raise OpsError("dead_letter_skipped", f"{target} was skipped; it is not replayed.")
        sent_to = await kafka.replay(bootstrap, plan.letter, principal.actor)
        before = {"state": plan.decision.state if plan.decision else "open"}
        return Outcome(
            {"target": target, "state": "replayed", "topic": sent_to, "note": None},
            before=before,
            after={"state": "replayed", "topic": sent_to},
            record=_remember(plan.letter, "replayed", None, principal.actor),
        )

    return await once(
        pool,
        token=token,
        principal=principal,
        action="dead_letter.replay",
        target=target,
        request={"service": service, "partition": partition, "offset": offset},
        act=act,
    )


async def skip(
    pool: asyncpg.Pool,
    bootstrap: str,
    principal: Principal,
    token: str,
    service: str,
    partition: int,
    offset: int,
    note: str,
) -> dict[str, Any]:
    kafka.check_service(service)
    if not note.strip():
        raise invalid("A skip needs a note saying why the dead letter needs no replay.")
    if len(note) > NOTE_MAX:
        raise invalid(f"A note is at most {NOTE_MAX} characters.")
    target = f"{kafka.dead_letter_topic(service)}[{partition}]@{offset}"

    async def act() -> Outcome:
        plan = await dry_run(pool, bootstrap, service, partition, offset)
        before = {"state": plan.decision.state if plan.decision else "open"}
        if before["state"] == "skipped":  # its note stays the one that decided it
            raise OpsError("dead_letter_skipped", f"{target} was skipped already.")
        await kafka.skip(bootstrap, plan.letter, note, principal.actor)
        return Outcome(
            {"target": target, "state": "skipped", "topic": None, "note": note},
            before=before,
            after={"state": "skipped", "note": note},
            record=_remember(plan.letter, "skipped", note, principal.actor),
        )

    return await once(
        pool,
        token=token,
        principal=principal,
        action="dead_letter.skip",
        target=target,
        request={"service": service, "partition": partition, "offset": offset, "note": note},
        act=act,
    )


def _remember(letter: kafka.DeadLetter, state: str, note: str | None, actor: str) -> Record:
    async def write(conn: asyncpg.Connection) -> None:
        place = (letter.topic, letter.partition, letter.offset, letter.record_ts)
        await actions.remember(conn, place, state, note, actor)

    return write
