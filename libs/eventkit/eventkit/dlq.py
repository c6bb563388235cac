"""Dead letters for ops, as a Python API: list (filters, pagination), replay (dry run), skip.

`python -m eventkit.admin dlq list|replay|skip` is a thin CLI over these functions and the ops
service calls them directly. Each takes the broker address and the failing service's name
(`payments`), whose dead-letter topic `<service>.dlt` is read on every partition::

    from eventkit import dlq

    page = await dlq.list_dead_letters(
        bootstrap, "payments", dlq.Filters(error_type="KeyError", state="pending"), limit=20
    )
    page.items         # [DeadLetter], newest first; page.total matched the filters
    page.next_cursor   # pass as cursor= for the next (older) page; None on the last one
    plan = await dlq.replay(bootstrap, "payments", ids=["0:12", "2:7"], dry_run=True)
    done = await dlq.replay(bootstrap, "payments", pending=True, filters=f, actor="ana")
    done.replayed, done.refused    # [DeadLetter], [Refusal(letter, code, reason)]
    gone = await dlq.skip(bootstrap, "payments", ids=["0:13"], note="poison", actor="ana")

A dead letter is named by its id `PARTITION:OFFSET` in `<service>.dlt` (a bare `OFFSET` is
accepted while the topic has one partition). Its `state` is `pending`, `replayed` or `skipped`
(with `note`: who, when and, for a skip, the operator's text).

Replay writes the original bytes, key and headers to `<service>.retry`, read by that service's
consumer alone (eventkit.runtime subscribes every service to its own retry topic, with the same
routes and inbox): the other services consuming the original topic never see it again. The
inbox (UNIQUE event_id) drops the replay of an event handled meanwhile, so a replay after a fix
is handled exactly once. Each replayed dead letter then gets a `replayed` note in
`<service>.dlt-notes` (see eventkit.dlq_store), so `pending=True` never replays one twice, on
any partition. A dry run selects and checks exactly as a replay does and writes nothing.

Refusals raise AdminError(code, message) before anything is written: `topic_missing`,
`no_such_dead_letter`, `ambiguous_offset`, `nothing_selected`, `note_required`, `bad_cursor`.
A record without `dlt.original.topic` (not written by a consumer) is refused per record
(`not_a_dead_letter`) in the result. Kafka failures raise aiokafka's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from eventkit import dlq_store as store
from eventkit.dead_letters import (
    H_ATTEMPTS,
    H_ERROR_MESSAGE,
    H_ERROR_TYPE,
    H_OFFSET,
    H_PARTITION,
    H_REPLAY_OFFSET,
    H_REPLAY_PARTITION,
    H_REPLAY_TOPIC,
    H_REPLAYED_FROM,
    H_TOPIC,
)
from eventkit.dlq_store import PENDING, REPLAYED, SKIPPED, STATES, AdminError, Note
from marketplace_contracts import dead_letter_notes_topic, dead_letter_topic, retry_topic

__all__ = [
    "PENDING",
    "REPLAYED",
    "SKIPPED",
    "STATES",
    "AdminError",
    "DeadLetter",
    "Filters",
    "Note",
    "Page",
    "Refusal",
    "ReplayResult",
    "SkipResult",
    "list_dead_letters",
    "replay",
    "skip",
]

Progress = Callable[[int, int], None]  # (done, total)
CHUNK = 20  # records sent before waiting for the broker's acks (and reporting progress)


@dataclass(frozen=True)
class DeadLetter:
    id: str  # PARTITION:OFFSET in <service>.dlt
    partition: int
    offset: int
    key: str
    dead_lettered_at: datetime
    state: str  # pending | replayed | skipped
    note: Note | None
    original_topic: str | None
    error_type: str | None
    error_message: str | None
    attempts: int | None
    event_type: str | None  # None when the value is not an envelope (a poison message)
    event_id: str | None
    headers: dict[str, str]
    record: ConsumerRecord = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.record.topic}[{self.partition}]@{self.offset}"

    def as_dict(self, value_limit: int | None = 500) -> dict[str, Any]:
        """JSON-ready; `value` cut at `value_limit` bytes (None: whole)."""
        note = self.note
        return {
            "id": self.id,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "state": self.state,
            "dead_lettered_at": self.dead_lettered_at.isoformat(),
            "original_topic": self.original_topic,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "error_type": self.error_type,
            "attempts": self.attempts,
            "note": note.note if note else None,
            "decided_by": note.actor if note else None,
            "decided_at": note.at.isoformat() if note else None,
            "headers": self.headers,
            "value": store.as_text(self.record.value, value_limit),
        }


@dataclass(frozen=True)
class Filters:
    """Every given field must match; `since` inclusive, `until` exclusive (dead-letter time)."""

    event_type: str | None = None
    error_type: str | None = None
    key: str | None = None
    topic: str | None = None  # the original topic
    since: datetime | None = None
    until: datetime | None = None
    state: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        wanted = (
            (self.event_type, letter.event_type),
            (self.error_type, letter.error_type),
            (self.key, letter.key),
            (self.topic, letter.original_topic),
            (self.state, letter.state),
        )
        if any(want is not None and want != got for want, got in wanted):
            return False
        at = letter.dead_lettered_at
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


@dataclass(frozen=True)
class Page:
    items: list[DeadLetter]
    total: int  # dead letters matching the filters, on every page
    next_cursor: str | None


@dataclass(frozen=True)
class Refusal:
    letter: DeadLetter
    code: str
    reason: str


@dataclass(frozen=True)
class ReplayResult:
    dry_run: bool
    target: str  # <service>.retry
    replayed: list[DeadLetter]  # (dry run: would be)
    refused: list[Refusal]


@dataclass(frozen=True)
class SkipResult:
    dry_run: bool
    skipped: list[DeadLetter]
    note: str


async def load(bootstrap: str, service: str) -> list[DeadLetter]:
    """Every dead letter of `service` with its state, oldest first."""
    records = await store.read_topic(bootstrap, dead_letter_topic(service))
    notes = await store.read_notes(bootstrap, dead_letter_notes_topic(service))
    letters = [_letter(record, notes) for record in records]
    return sorted(letters, key=lambda d: (d.record.timestamp, d.partition, d.offset))


def _letter(record: ConsumerRecord, notes: dict[str, Note]) -> DeadLetter:
    headers = store.header_map(record)
    envelope = store.envelope_fields(record.value)
    note = notes.get(store.note_key(record.partition, record.offset))
    if note is not None and note.letter_timestamp not in (None, record.timestamp):
        note = None  # a note about a record of an earlier topic of the same name
    attempts = headers.get(H_ATTEMPTS, "")
    return DeadLetter(
        id=store.note_key(record.partition, record.offset),
        partition=record.partition,
        offset=record.offset,
        key=store.as_text(record.key),
        dead_lettered_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        state=note.state if note else PENDING,
        note=note,
        original_topic=headers.get(H_TOPIC),
        error_type=headers.get(H_ERROR_TYPE),
        error_message=headers.get(H_ERROR_MESSAGE),
        attempts=int(attempts) if attempts.isdigit() else None,
        event_type=_text_or_none(envelope.get("type")),
        event_id=_text_or_none(envelope.get("event_id")),
        headers=headers,
        record=record,
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def list_dead_letters(
    bootstrap: str,
    service: str,
    filters: Filters | None = None,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Dead letters matching `filters`, newest first, `limit` per page after `cursor`."""
    wanted = filters or Filters()
    letters = [d for d in reversed(await load(bootstrap, service)) if wanted.matches(d)]
    start = 0
    if cursor is not None:
        ids = [d.id for d in letters]
        if cursor not in ids:
            raise AdminError("bad_cursor", f"{cursor!r} is not a dead letter of this listing")
        start = ids.index(cursor) + 1
    items = letters[start : start + limit]
    more = start + limit < len(letters)
    return Page(items, len(letters), items[-1].id if more and items else None)


def select(
    letters: list[DeadLetter], ids: Sequence[str], pending: bool, filters: Filters | None
) -> list[DeadLetter]:
    """The dead letters named by `ids`, or every pending one (`pending`), narrowed by
    `filters`; AdminError when `ids` name none or nothing was asked for."""
    if not ids and not pending:
        raise AdminError("nothing_selected", "name dead letters by id, or select the pending ones")
    by_id = {d.id: d for d in letters}
    named = dict.fromkeys(_resolve(i, letters) for i in ids)
    chosen = [by_id[i] for i in named]
    if pending:
        chosen += [d for d in letters if d.state == PENDING and d.id not in named]
    wanted = filters or Filters()
    return [d for d in chosen if wanted.matches(d)]


def _resolve(text: str, letters: list[DeadLetter]) -> str:
    partition, _, offset = text.rpartition(":")
    topic = letters[0].record.topic if letters else "the dead-letter topic"
    if not partition:
        partitions = {d.partition for d in letters}
        if len(partitions) > 1:
            raise AdminError(
                "ambiguous_offset",
                f"{topic} has dead letters on {len(partitions)} partitions: give "
                f"PARTITION:{offset} (`dlq list` prints each dead letter's id)",
            )
        partition = str(next(iter(partitions), 0))
    wanted = f"{partition}:{offset}"
    if not any(d.id == wanted for d in letters):
        raise AdminError("no_such_dead_letter", f"{topic} has no dead letter {wanted}")
    return wanted


async def replay(
    bootstrap: str,
    service: str,
    *,
    ids: Sequence[str] = (),
    pending: bool = False,
    filters: Filters | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    on_progress: Progress | None = None,
) -> ReplayResult:
    """Re-deliver the chosen dead letters to `service` alone, through `<service>.retry`."""
    target = retry_topic(service)
    await store.partitions_of(bootstrap, target)  # topic_missing before anything is read
    chosen = select(await load(bootstrap, service), ids, pending, filters)
    refused = [
        Refusal(d, "not_a_dead_letter", f"no {H_TOPIC} header, not a dead letter")
        for d in chosen
        if not d.original_topic
    ]
    ready = [d for d in chosen if d.original_topic]
    if not dry_run:
        async with store.producer_for(bootstrap, f"{service}-dlt-replay") as producer:
            await _send_all(producer, service, ready, REPLAYED, actor, None, on_progress)
    return ReplayResult(dry_run, target, ready, refused)


async def skip(
    bootstrap: str,
    service: str,
    *,
    note: str,
    ids: Sequence[str] = (),
    pending: bool = False,
    filters: Filters | None = None,
    dry_run: bool = False,
    actor: str | None = None,
) -> SkipResult:
    """Mark the chosen dead letters handled without replaying them, keeping `note`."""
    text = note.strip()
    if not text:
        raise AdminError("note_required", "a skip keeps a note saying why: give one")
    chosen = select(await load(bootstrap, service), ids, pending, filters)
    if not dry_run:
        async with store.producer_for(bootstrap, f"{service}-dlt-skip") as producer:
            await _send_all(producer, service, chosen, SKIPPED, actor, text, None)
    return SkipResult(dry_run, chosen, text)


async def _send_all(
    producer: AIOKafkaProducer,
    service: str,
    letters: list[DeadLetter],
    state: str,
    actor: str | None,
    text: str | None,
    on_progress: Progress | None,
) -> None:
    """Per dead letter: the retry record (for a replay) before its note, both acknowledged
    chunk by chunk. A crash between them leaves it pending: replayed again, a duplicate the
    inbox drops; never a note for a replay that was not sent."""
    notes = dead_letter_notes_topic(service)
    for start in range(0, len(letters), CHUNK):
        chunk = letters[start : start + CHUNK]
        if state == REPLAYED:
            sent = [await _send_retry(producer, service, d) for d in chunk]
            for future in sent:
                await future
        acks = []
        for d in chunk:
            note = Note(state, store.now(), actor, text, d.record.timestamp)
            acks.append(await producer.send(notes, note.to_bytes(), key=d.id.encode()))
        for future in acks:
            await future
        if on_progress is not None:
            on_progress(start + len(chunk), len(letters))


async def _send_retry(producer: AIOKafkaProducer, service: str, letter: DeadLetter) -> Any:
    headers = [
        (k, v) for k, v in (letter.record.headers or ()) if not k.startswith(("dlt.", "replay."))
    ]
    headers += [
        (H_REPLAY_TOPIC, (letter.original_topic or "").encode()),
        (H_REPLAY_PARTITION, letter.headers.get(H_PARTITION, "").encode()),
        (H_REPLAY_OFFSET, letter.headers.get(H_OFFSET, "").encode()),
        (H_REPLAYED_FROM, letter.name.encode()),
    ]
    record = letter.record
    return await producer.send(retry_topic(service), record.value, key=record.key, headers=headers)
