"""A host payable joins the payout queue (docs/finance.md): its reserve split off under the
host's policy and held, its due time set from the booking's start (or held until booking's
facts arrive), and every hold that already applies recorded, all in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from eventkit import scheduler
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.adapters import reserves_repository as reserves_db
from finance.domain import reserves
from finance.domain.host_journals import reserve_held
from finance.domain.payout_queue import Hold, State
from finance.service_layer.payout_queue import (
    DEBIT_WINDOW,
    RESERVE_RELEASE,
    SCHEMA,
    SYSTEM,
    Queue,
    scheduled_event,
)
from marketplace_contracts.events.finance import PayoutHeldV1, ReserveHeldV1


async def enqueue(
    queue: Queue, conn: asyncpg.Connection, payable: dict[str, Any], purpose: str | None
) -> None:
    """A new payable joins the queue: its reserve split off under the host's policy, its due
    time set from the booking's start (or held until booking's facts arrive), every hold that
    already applies recorded."""
    now = queue.now()
    account, currency = payable["host_account_id"], payable["currency"]
    host = await queue_db.lock_host(conn, account)
    policy = reserves.resolve(
        await reserves_db.assigned(conn, account, host["risk_tier"]), account, host["risk_tier"]
    )
    held = await reserves_db.held(conn, account, currency)
    part = reserves.split(payable["host_amount"], currency, policy, held=held, now=now)
    entry_id = f"{payable['payment_id']}:{payable['booking_id']}"
    delay = (
        timedelta(seconds=host["payout_delay_seconds"])
        if host["payout_delay_seconds"] is not None
        else queue.settings.delay
    )
    holds, due_at = await _holds_and_due(queue, conn, payable, purpose, delay, host, now)
    if part.reserve and not part.releasable:
        holds.append(Hold.RESERVE)
    row = {
        "entry_id": entry_id,
        "payment_id": payable["payment_id"],
        "booking_id": payable["booking_id"],
        "group_id": payable.get("group_id"),
        "purpose": purpose,
        "host_account_id": account,
        "currency": currency,
        "gross": payable["host_amount"],
        "reserve_amount": part.reserve,
        "policy_id": policy.policy_id if part.reserve else None,
        "policy_version": policy.version if part.reserve else None,
        "state": (State.HELD if holds else State.SCHEDULED).value,
        "holds": sorted(set(holds)),
        "due_at": due_at,
    }
    if not await queue_db.add_entry(conn, row):
        return
    await _announce(queue, conn, row, now)
    if part.reserve:
        await _hold_reserve(queue, conn, row, part)


async def _announce(
    queue: Queue, conn: asyncpg.Connection, row: dict[str, Any], now: datetime
) -> None:
    """The new entry's history row and events; its due timer unless it is held."""
    entry_id = row["entry_id"]
    await queue_db.record(
        conn,
        entry_id,
        from_state=None,
        to_state=row["state"],
        trigger="enqueue",
        actor=SYSTEM,
        at=now,
        reason=",".join(row["holds"]) or None,
    )
    await queue.emit(conn, scheduled_event(row), entry_id)
    if row["holds"]:
        await queue.emit(
            conn,
            PayoutHeldV1(
                entry_id=entry_id,
                host_account_id=row["host_account_id"],
                booking_id=row["booking_id"],
                reasons=row["holds"],
                actor=SYSTEM,
            ),
            entry_id,
        )
    else:
        await queue.schedule_due(conn, entry_id, row["due_at"])


async def _holds_and_due(
    queue: Queue,
    conn: asyncpg.Connection,
    payable: dict[str, Any],
    purpose: str | None,
    delay: timedelta,
    host: asyncpg.Record,
    now: datetime,
) -> tuple[list[str], datetime | None]:
    holds: list[str] = []
    due_at: datetime | None
    await queue_db.hold_booking(conn, payable["booking_id"])
    starts_at = await queue_db.start_of(conn, payable["booking_id"])
    if purpose == "deposit_claim":
        due_at = now  # a damage claim is decided after the stay: nothing left to wait for
    elif starts_at is not None:
        due_at = starts_at + delay
    else:
        due_at = None
        holds.append(Hold.AWAITING_BOOKING)
    hold_until = payable.get("hold_until")
    if hold_until is not None and hold_until > now:
        holds.append(Hold.BANK_DEBIT)
        await scheduler.schedule(
            conn,
            SCHEMA,
            DEBIT_WINDOW,
            f"{payable['payment_id']}:{payable['booking_id']}",
            hold_until,
        )
    if not host["payouts_enabled"]:
        holds.append(Hold.PAYOUTS_DISABLED)
    return holds, due_at


async def _hold_reserve(
    queue: Queue, conn: asyncpg.Connection, row: dict[str, Any], part: reserves.Split
) -> None:
    assert part.release_at is not None
    reserve_id = f"rsv_{row['entry_id']}"
    await queue.post(
        conn,
        reserve_held(
            amount=part.reserve, host_account_id=row["host_account_id"], currency=row["currency"]
        ),
        reserve_id,
        row["booking_id"],
    )
    await payables_db.add_to(conn, "reserved", row["payment_id"], row["booking_id"], part.reserve)
    await reserves_db.add_reserve(
        conn,
        {
            "reserve_id": reserve_id,
            "entry_id": row["entry_id"],
            "host_account_id": row["host_account_id"],
            "currency": row["currency"],
            "amount": part.reserve,
            "policy_id": part.policy.policy_id,
            "policy_version": part.policy.version,
            "release_at": part.release_at,
        },
    )
    await scheduler.schedule(conn, SCHEMA, RESERVE_RELEASE, reserve_id, part.release_at)
    await queue.emit(
        conn,
        ReserveHeldV1(
            reserve_id=reserve_id,
            entry_id=row["entry_id"],
            host_account_id=row["host_account_id"],
            amount=part.reserve,
            currency=row["currency"],
            release_at=part.release_at,
            policy_id=part.policy.policy_id,
            policy_version=part.policy.version,
        ),
        reserve_id,
        row["entry_id"],
    )
