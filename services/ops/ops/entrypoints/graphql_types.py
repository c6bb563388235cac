"""The staff GraphQL types of ops' own parts (timelines, stuck sagas, dead letters, audit), and
how the service layer's results become them."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum

import strawberry

from domainkit.rows import from_attrs
from ops.domain.dead_letters import DeadLetter as Letter
from ops.service_layer.dead_letter_ops import Decision, Plan
from ops.service_layer.timelines import Entry, Saga


@strawberry.enum(description="What a timeline entry is.")
class EntryKind(Enum):
    EVENT = "event"
    DEAD_LETTER = "dead_letter"


@strawberry.type(description="An id found in an event's payload, by its field name.")
class IdRef:
    field: str
    value: str


@strawberry.type(description="One event of a saga, or a dead letter on its way.")
class TimelineEntry:
    kind: EntryKind
    at: datetime
    service: str = strawberry.field(
        description="The producer of an event; the consumer that failed, for a dead letter."
    )
    type: str | None
    event_id: str | None
    causation_id: str | None
    key: str | None
    topic: str
    hop_ms: int | None = strawberry.field(
        description="Milliseconds since the event that caused this one (on this timeline)."
    )
    ids: list[IdRef]
    replayed_from: str | None = strawberry.field(
        description="Set when this copy was re-published from a dead-letter topic."
    )
    error_type: str | None
    error_message: str | None
    attempts: int | None = strawberry.field(description="Attempts before it was dead-lettered.")
    retries: int = strawberry.field(description="Attempts beyond the first.")
    partition: int | None
    offset: int | None


@strawberry.type(description="Every event of one saga (one correlation id), in order.")
class SagaTimeline:
    correlation_id: str
    saga_type: str
    dead_letters: int
    entries: list[TimelineEntry]


@strawberry.type(description="A saga waiting longer than its type's limit.")
class StuckSaga:
    correlation_id: str
    saga_type: str
    step: str = strawberry.field(description="The step it waits on.")
    waiting_since: datetime
    waited_seconds: int
    limit_seconds: int
    detected_at: datetime


@strawberry.type
class StuckSagaPage:
    items: list[StuckSaga]
    has_more: bool


@strawberry.type(description="A message a service could not handle, and what staff decided.")
class DeadLetter:
    service: str
    topic: str
    partition: int
    offset: int
    key: str
    event_id: str | None
    event_type: str | None
    correlation_id: str | None
    original_topic: str | None
    error_type: str | None
    error_message: str | None
    attempts: int | None
    failed_at: datetime | None
    value: str = strawberry.field(description="The message body, first 500 bytes.")
    state: str = strawberry.field(description="open, replayed or skipped.")
    note: str | None
    decided_by: str | None


@strawberry.type
class DeadLetterPage:
    items: list[DeadLetter]
    total: int


@strawberry.type(description="What a replay would do (a dry run changes nothing).")
class ReplayPlan:
    dead_letter: DeadLetter
    target_topic: str
    would_replay: bool
    reason: str


@strawberry.type(description="The result of a replay or a skip.")
class DeadLetterAction:
    target: str
    state: str
    topic: str | None
    note: str | None


@strawberry.type(description="One staff mutation as the audit log keeps it.")
class AuditRecord:
    actor: str
    role: str
    action: str
    target: str
    before: str | None = strawberry.field(description="JSON")
    after: str | None = strawberry.field(description="JSON")
    at: datetime


@strawberry.type(description="Who is signed in.")
class Me:
    sub: str
    role: str


def entry(e: Entry) -> TimelineEntry:
    return TimelineEntry(
        kind=EntryKind(e.kind), at=e.at, service=e.service, type=e.type,
        event_id=str(e.event_id) if e.event_id else None,
        causation_id=str(e.causation_id) if e.causation_id else None, key=e.key, topic=e.topic,
        hop_ms=e.hop_ms, ids=[IdRef(field=f, value=v) for f, vs in e.ids.items() for v in vs],
        replayed_from=e.replayed_from, error_type=e.error_type, error_message=e.error_message,
        attempts=e.attempts, retries=max((e.attempts or 1) - 1, 0), partition=e.partition,
        offset=e.offset,
    )  # fmt: skip


def saga(s: Saga) -> SagaTimeline:
    return SagaTimeline(
        correlation_id=str(s.correlation_id),
        saga_type=s.saga_type,
        dead_letters=s.dead_letters,
        entries=[entry(e) for e in s.entries],
    )


def letter(x: Letter, d: Decision | None) -> DeadLetter:
    """The letter as Kafka holds it, with what staff decided (ops' record, else eventkit's)."""
    return from_attrs(
        DeadLetter, x, state=d.state if d else "open", note=d.note if d else None,
        decided_by=d.actor if d else None,
    )  # fmt: skip


def plan(p: Plan) -> ReplayPlan:
    skipped = p.decision is not None and p.decision.state == "skipped"
    again = p.decision is not None and p.decision.state == "replayed"
    reason = (
        "It was skipped; a skipped dead letter is not replayed."
        if skipped
        else f"It would be re-published to {p.target_topic}"
        + (" again (it was replayed before; the inbox drops a duplicate)." if again else ".")
    )
    return ReplayPlan(
        dead_letter=letter(p.letter, p.decision),
        target_topic=p.target_topic,
        would_replay=not skipped,
        reason=reason,
    )


def audit_record(r: dict[str, object]) -> AuditRecord:
    def text(v: object) -> str | None:
        """The state as JSON text: the schema's field is a string (the pool decoded it)."""
        return None if v is None else json.dumps(v, ensure_ascii=False)

    return AuditRecord(
        actor=str(r["actor"]), role=str(r["role"]), action=str(r["action"]),
        target=str(r["target"]), before=text(r["before"]), after=text(r["after"]),
        at=r["at"],  # type: ignore[arg-type]
    )  # fmt: skip
