"""The payout queue's use cases: every host payable becomes an entry, facts hold and clear it,
and transfers settle it (docs/finance.md). How a payable joins the queue is in
`payout_enqueue.py`; the release itself (the scheduler's jobs and staff actions) is in
`payout_release.py`.

Every change runs in the caller's transaction (a consumed fact's, a job's, a staff request's)
with the entry row locked; the transition comes from the domain's table
(`finance.domain.payout_queue`), is written by compare-and-set, recorded in the entry's history
with its actor and note, and the events the table says it emits go to the outbox in the same
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domainkit.ids import new_uuid
from domainkit.rows import from_row
from eventkit import scheduler
from eventkit.outbox import Outbox
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.domain.ledger import Journal
from finance.domain.payout_queue import State, Trigger, apply
from finance.service_layer.handlers import book
from marketplace_contracts import EventModel
from marketplace_contracts.events.finance import (
    PayoutHeldV1,
    PayoutReleasedV1,
    PayoutScheduledV1,
)

SCHEMA = "finance"
PAYOUT_DUE = "payout_due"
PAYOUT_RETRY = "payout_retry"
RESERVE_RELEASE = "reserve_release"
DEBIT_WINDOW = "bank_debit_window"
SYSTEM = "finance"  # the actor of what finance does by itself
_JOURNALS = uuid.UUID("5f1d9c43-2b51-4c3e-9a57-0c2f1f6f7a11")
_PAYOUTS = uuid.UUID("8c0f3a5e-6d1b-4f0e-b7a2-3e9d4c1b2a60")


@dataclass(frozen=True)
class QueueSettings:
    delay: timedelta
    minimum: int
    max_retries: int
    retry_seconds: float


def payout_correlation(entry_id: str) -> uuid.UUID:
    """The correlation id of one entry's payout: a saga of its own (it runs days after the
    checkout, from a timer), so every event of one payout shares one id, whoever emits it."""
    return uuid.uuid5(_PAYOUTS, entry_id)


def own_event_id(kind: str, subject: str) -> uuid.UUID:
    """The source id of a journal finance books on its own (a reserve, a recovery): one per
    subject and kind, so a re-run job posts nothing twice."""
    return uuid.uuid5(_JOURNALS, f"{kind}:{subject}")


class Queue:
    """The entry's transitions, their history and events; shared by the fact handlers, the
    jobs and the staff actions."""

    def __init__(self, outbox: Outbox, settings: QueueSettings, now: Callable[[], datetime]):
        self.outbox = outbox
        self.settings = settings
        self.now = now

    async def emit(
        self, conn: asyncpg.Connection, event: EventModel, key: str, entry_id: str | None = None
    ) -> None:
        """Write a payout event (keyed by `key`) in the entry's payout saga."""
        correlation = payout_correlation(entry_id or key)
        await self.outbox.add(conn, event, key=key, correlation_id=correlation)

    async def step(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        trigger: Trigger,
        *,
        actor: str,
        note: str = "",
        reason: str | None = None,
        events: dict[str, EventModel | None] | None = None,
        **changes: Any,
    ) -> State:
        """Apply `trigger` to the locked entry `row`: compare-and-set, history, and the events
        the transition emits (`events` supplies those the caller builds). Raises
        IllegalTransition. An event given as None was written by the caller already."""
        before = queue_db.entry(row)
        after, emitted = apply(before, trigger, reason=reason)
        if after == before and not emitted and trigger is Trigger.HOLD:
            return before.state  # already held for that reason
        await queue_db.compare_and_set(conn, row, after, **changes)
        await queue_db.record(
            conn,
            row["entry_id"],
            from_state=before.state.value,
            to_state=after.state.value,
            trigger=trigger.value,
            reason=reason,
            actor=actor,
            note=note,
            at=self.now(),
        )
        given = events or {}
        for name in emitted:
            if name not in given:
                await self.emit(
                    conn, self._event(name, row, after.holds, actor, note, changes), row["entry_id"]
                )
            elif (event := given[name]) is not None:
                # a release keeps the key payments has always read it by
                key = event.release_id if isinstance(event, PayoutReleasedV1) else row["entry_id"]
                await self.emit(conn, event, key, row["entry_id"])
        if before.state is State.HELD and after.state is State.SCHEDULED:  # back on schedule
            await self.schedule_due(conn, row["entry_id"], changes.get("due_at", row["due_at"]))
        return after.state

    def _event(
        self,
        name: str,
        row: asyncpg.Record,
        holds: frozenset[str],
        actor: str,
        note: str,
        changes: dict[str, Any],
    ) -> EventModel:
        if name == "payout_held":
            return PayoutHeldV1(
                entry_id=row["entry_id"],
                host_account_id=row["host_account_id"],
                booking_id=row["booking_id"],
                reasons=sorted(holds),
                actor=actor,
                note=note,
            )
        if name == "payout_scheduled":
            return scheduled_event({**dict(row), **changes})
        raise AssertionError(f"the caller builds `{name}`")

    async def schedule_due(
        self, conn: asyncpg.Connection, entry_id: str, due_at: datetime | None
    ) -> None:
        if due_at is not None:
            await scheduler.schedule(
                conn,
                SCHEMA,
                PAYOUT_DUE,
                entry_id,
                max(due_at, self.now()),
                kept=self.outbox.kept(conn),
            )

    async def post(
        self, conn: asyncpg.Connection, journal: Journal, subject: str, booking_id: str | None
    ) -> None:
        """Book a journal of finance's own (once per subject and kind) and announce it."""
        source = own_event_id(journal.kind, subject)
        await book(conn, self.outbox, journal, source, booking_id, correlation_id=new_uuid())

    async def hold_where(
        self,
        conn: asyncpg.Connection,
        where: str,
        *args: Any,
        reason: str,
        hold: bool,
        note: str = "",
    ) -> int:
        """Hold (or stop holding) for `reason` every open entry matching `where`."""
        # a failed transfer is held too: its automatic retry must wait like a first release
        rows = await queue_db.entries_where(
            conn, f"state IN ('scheduled', 'held', 'releasable', 'failed') AND {where}", *args
        )
        changed = 0
        for row in rows:
            if hold:
                await self.step(conn, row, Trigger.HOLD, actor=SYSTEM, reason=reason, note=note)
            elif reason in row["holds"]:
                await self.step(conn, row, Trigger.UNHOLD, actor=SYSTEM, reason=reason, note=note)
            else:
                continue
            changed += 1
        return changed


def scheduled_event(row: dict[str, Any]) -> PayoutScheduledV1:
    return from_row(
        PayoutScheduledV1,
        row,
        reserve_policy_id=row["policy_id"],
        reserve_policy_version=row["policy_version"],
    )


async def record_release(
    conn: asyncpg.Connection, row: asyncpg.Record, amount: int
) -> PayoutReleasedV1:
    """Count `amount` of the payable of `row` (an entry, or a payable) as released: the release
    row (its id is payments' idempotency key for the transfer) and the event asking for it,
    which the caller announces."""
    number = await payables_db.next_release_number(conn, row["payment_id"], row["booking_id"])
    event = from_row(
        PayoutReleasedV1,
        row,
        release_id=f"rel_{row['payment_id']}_{row['booking_id']}_{number}",
        amount=amount,
    )
    await payables_db.add_release(
        conn,
        {
            "release_id": event.release_id,
            "payment_id": event.payment_id,
            "booking_id": event.booking_id,
            "host_account_id": event.host_account_id,
            "amount": amount,
            "currency": event.currency,
        },
    )
    await payables_db.add_to(conn, "released", row["payment_id"], row["booking_id"], amount)
    return event
