"""The one place ops calls eventkit.dlq: read a service's dead letters, replay or skip one.

Everything ops needs from Kafka's dead letters goes through these functions. eventkit.dlq
reads `<service>.dlt` on every partition with each letter's state from `<service>.dlt-notes`
(pending, replayed or skipped, with who and the note), so the console and
`python -m eventkit.admin dlq ...` see the same states. A replay goes to `<service>.retry`:
only the failing service's consumer reads it. Filtering and paging are done here on what
eventkit.dlq reads (a dead-letter topic is small: what failed in 30 days).
"""

from __future__ import annotations

from domainkit.rows import from_attrs
from eventkit import dlq
from marketplace_contracts.topics import SERVICES, dead_letter_topic, retry_topic
from ops.domain.dead_letters import DeadLetter
from ops.domain.errors import OpsError, invalid, not_found
from ops.domain.timeline import dead_letter_facts, read_envelope


def check_service(service: str) -> str:
    if service not in SERVICES:
        raise invalid(f"Unknown service {service!r}: one of {', '.join(SERVICES)}.")
    return service


def _letter(service: str, found: dlq.DeadLetter) -> DeadLetter:
    record = found.record
    env = read_envelope(record.value)
    facts = dead_letter_facts(dead_letter_topic(service), record.headers or ())
    return from_attrs(
        DeadLetter,
        found,
        service=service,
        topic=dead_letter_topic(service),
        correlation_id=str(env.correlation_id) if env.correlation_id else None,
        failed_at=facts.failed_at or found.dead_lettered_at,
        value=found.as_dict(value_limit=None)["value"] or "",
        record_ts=record.timestamp,
        note=found.note.note if found.note else None,
        decided_by=found.note.actor if found.note else None,
        decided_at=found.note.at if found.note else None,
    )


async def read_letters(bootstrap: str, service: str) -> list[DeadLetter]:
    """Every dead letter of the service, oldest first."""
    check_service(service)
    try:
        found = await dlq.load(bootstrap, service)
    except dlq.AdminError as exc:
        raise OpsError(exc.code, str(exc)) from None
    return [_letter(service, d) for d in found]


async def find(bootstrap: str, service: str, partition: int, offset: int) -> DeadLetter:
    for letter in await read_letters(bootstrap, service):
        if (letter.partition, letter.offset) == (partition, offset):
            return letter
    raise not_found(f"{dead_letter_topic(service)} has no dead letter {partition}:{offset}.")


def replay_target(letter: DeadLetter) -> str:
    return retry_topic(letter.service)


async def replay(bootstrap: str, letter: DeadLetter, actor: str) -> str:
    """Re-deliver one dead letter to its service alone; the topic it went to."""
    try:
        done = await dlq.replay(
            bootstrap, letter.service, ids=[f"{letter.partition}:{letter.offset}"], actor=actor
        )
    except dlq.AdminError as exc:
        raise OpsError(exc.code, str(exc)) from None
    if done.refused:
        refusal = done.refused[0]
        raise OpsError(refusal.code, refusal.reason)
    return done.target


async def skip(bootstrap: str, letter: DeadLetter, note: str, actor: str) -> None:
    """Mark one dead letter handled without a replay, with the operator's note."""
    try:
        await dlq.skip(
            bootstrap,
            letter.service,
            ids=[f"{letter.partition}:{letter.offset}"],
            note=note,
            actor=actor,
        )
    except dlq.AdminError as exc:
        raise OpsError(exc.code, str(exc)) from None
