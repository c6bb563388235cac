"""Releasing queue entries: the scheduler's jobs (an entry due, a failed transfer to retry, a
reserve to release, a bank debit's return window closing) and the staff actions (hold, unhold,
release now, retry).

Why a job per entry (kind `payout_due`, subject the entry id) rather than one recurring batch
job: each entry's due time is known when it is queued, eventkit's scheduler already claims due
jobs with SKIP LOCKED in due order, and one job is one transaction. A poll round releases every
due entry (the batch); a crash or restart mid-batch rolls back only the entry being released,
whose job is still pending, and an entry released before the crash has its job done and its
state `released` (compare-and-set), so no one is paid twice. A job that fails is retried by the
scheduler with backoff.

Lock order, everywhere: the host's settings row (it serialises netting of what the host owes),
then the payable, then the entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domainkit.transitions import IllegalTransition
from eventkit import scheduler
from finance.adapters import payables_repository as payables_db
from finance.adapters import queue_repository as queue_db
from finance.adapters import reserves_repository as reserves_db
from finance.domain.host_journals import recovered, reserve_released
from finance.domain.payout_queue import TABLE, Hold, State, Trigger, net, release_trigger
from finance.domain.payouts import PayoutRefused
from finance.service_layer.payout_queue import (
    PAYOUT_DUE,
    PAYOUT_RETRY,
    SCHEMA,
    SYSTEM,
    Queue,
    record_release,
)
from marketplace_contracts.events.finance import (
    NegativeBalanceRecoveredV1,
    PayoutTransferredV1,
    ReserveReleasedV1,
)

STAFF_HOLD = Hold.MANUAL.value


class Release:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    # -- jobs ---------------------------------------------------------------------------------
    async def due_job(
        self, conn: asyncpg.Connection, entry_id: str, _: dict[str, Any]
    ) -> datetime | None:
        """An entry's due time came: pay it (net of what the host owes) unless it changed."""
        row = await self._lock(conn, entry_id)
        if row is None or row["state"] != State.SCHEDULED:
            return None  # held, released or settled since: nothing to do
        if row["due_at"] is not None and row["due_at"] > self.queue.now():
            return row["due_at"]  # rescheduled later (a new delay): wait
        await self.settle(conn, row, actor=SYSTEM, minimum=self.queue.settings.minimum)
        return None

    async def retry_job(
        self, conn: asyncpg.Connection, entry_id: str, _: dict[str, Any]
    ) -> datetime | None:
        row = await self._lock(conn, entry_id)
        if row is not None and row["state"] == State.FAILED:
            await self.settle(conn, row, actor=SYSTEM, minimum=0, note="automatic retry")
        return None

    async def reserve_job(
        self, conn: asyncpg.Connection, reserve_id: str, _: dict[str, Any]
    ) -> datetime | None:
        """A reserve's time passed: it becomes payable again. The entry it came from pays it
        if that entry was wholly reserved (held for `reserve`); else an entry of its own."""
        reserve = await reserves_db.take(conn, reserve_id, self.queue.now())
        if reserve is None:
            return None
        entry = await queue_db.get(conn, reserve["entry_id"])
        assert entry is not None
        await self.queue.post(
            conn,
            reserve_released(
                amount=reserve["amount"],
                host_account_id=reserve["host_account_id"],
                currency=reserve["currency"],
            ),
            reserve_id,
            entry["booking_id"],
        )
        await payables_db.add_to(
            conn, "reserved", entry["payment_id"], entry["booking_id"], -reserve["amount"]
        )
        paid_by = await self._reserve_entry(conn, entry, reserve)
        await self.queue.emit(
            conn,
            ReserveReleasedV1(
                reserve_id=reserve_id,
                entry_id=paid_by,
                host_account_id=reserve["host_account_id"],
                amount=reserve["amount"],
                currency=reserve["currency"],
            ),
            reserve_id,
        )
        return None

    async def _reserve_entry(
        self, conn: asyncpg.Connection, entry: asyncpg.Record, reserve: asyncpg.Record
    ) -> str:
        if Hold.RESERVE in entry["holds"]:
            locked = await queue_db.get(conn, entry["entry_id"], for_update=True)
            assert locked is not None
            await self.queue.step(
                conn, locked, Trigger.UNHOLD, actor=SYSTEM, reason=Hold.RESERVE.value
            )
            return str(entry["entry_id"])
        entry_id = f"{reserve['reserve_id']}:paid"
        now = self.queue.now()
        await queue_db.add_entry(
            conn,
            {
                "entry_id": entry_id,
                "kind": "reserve",
                "payment_id": entry["payment_id"],
                "booking_id": entry["booking_id"],
                "group_id": entry["group_id"],
                "purpose": entry["purpose"],
                "host_account_id": entry["host_account_id"],
                "currency": entry["currency"],
                "gross": reserve["amount"],
                "policy_id": reserve["policy_id"],
                "policy_version": reserve["policy_version"],
                "state": State.SCHEDULED.value,
                "due_at": now,
            },
        )
        await queue_db.record(
            conn,
            entry_id,
            from_state=None,
            to_state="scheduled",
            trigger="reserve_released",
            actor=SYSTEM,
            at=now,
        )
        await self.queue.schedule_due(conn, entry_id, now)
        return entry_id

    async def debit_window_job(
        self, conn: asyncpg.Connection, subject: str, _: dict[str, Any]
    ) -> datetime | None:
        """The bank debit's return window passed (without `payments.funds_cleared` first)."""
        await self.queue.hold_where(
            conn,
            "entry_id = $1",
            subject,
            reason=Hold.BANK_DEBIT.value,
            hold=False,
            note="return window passed",
        )
        return None

    # -- staff actions ------------------------------------------------------------------------
    async def hold(self, conn: asyncpg.Connection, entry_id: str, actor: str, note: str) -> State:
        row = await self._must(conn, entry_id)
        return await self.queue.step(
            conn, row, Trigger.HOLD, actor=actor, note=note, reason=STAFF_HOLD
        )

    async def unhold(self, conn: asyncpg.Connection, entry_id: str, actor: str, note: str) -> State:
        row = await self._must(conn, entry_id)
        return await self.queue.step(
            conn, row, Trigger.UNHOLD, actor=actor, note=note, reason=STAFF_HOLD
        )

    async def release_now(
        self, conn: asyncpg.Connection, entry_id: str, actor: str, note: str
    ) -> State:
        """Pay a scheduled or releasable entry now (before its due time, below the minimum);
        a held entry must be unheld first (409)."""
        row = await self._must(conn, entry_id)
        if row["state"] == State.FAILED:
            raise IllegalTransition(row["state"], Trigger.RELEASE)
        return await self.settle(conn, row, actor=actor, note=note, minimum=0)

    async def retry(self, conn: asyncpg.Connection, entry_id: str, actor: str, note: str) -> State:
        """Release a failed transfer's entry again."""
        row = await self._must(conn, entry_id)
        if row["state"] != State.FAILED:
            raise IllegalTransition(row["state"], Trigger.RETRY)
        return await self.settle(conn, row, actor=actor, note=note, minimum=0)

    async def _must(self, conn: asyncpg.Connection, entry_id: str) -> asyncpg.Record:
        row = await self._lock(conn, entry_id)
        if row is None:
            raise PayoutRefused("entry_not_found", f"no payout entry {entry_id}")
        return row

    async def _lock(self, conn: asyncpg.Connection, entry_id: str) -> asyncpg.Record | None:
        """The entry, locked after its host and its payable (the lock order)."""
        row = await queue_db.get(conn, entry_id)
        if row is None:
            return None
        await queue_db.lock_host(conn, row["host_account_id"])
        await payables_db.payables_for(conn, row["booking_id"], row["payment_id"], for_update=True)
        return await queue_db.get(conn, entry_id, for_update=True)

    # -- the release --------------------------------------------------------------------------
    async def settle(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        *,
        actor: str,
        minimum: int,
        note: str = "",
    ) -> State:
        """Pay what the entry owes now, less what the host owes; below `minimum`, it waits as
        `releasable` unless the host's releasable entries reach it together."""
        amount = await self._amount(conn, row)
        owed = await queue_db.receivable(conn, row["host_account_id"], row["currency"])
        netting = net(amount, owed)
        trigger = release_trigger(netting, minimum)
        if row["state"] == State.FAILED and trigger in (Trigger.RELEASE, Trigger.BELOW_MINIMUM):
            trigger = Trigger.RETRY
        TABLE.apply(State(row["state"]), trigger)  # refuse before any effect (409)
        if trigger is Trigger.BELOW_MINIMUM:
            if await self._pool_reaches(conn, row, netting.pays, minimum):
                trigger = Trigger.RELEASE
            else:
                return await self.queue.step(conn, row, trigger, actor=actor, note=note)
        if trigger is Trigger.NOTHING_OWED:
            return await self.queue.step(conn, row, trigger, actor=actor, note=note, amount=0)
        if netting.recovered:
            await self._recover(conn, row, netting.recovered, owed)
        if trigger is Trigger.NETTED:
            return await self._netted(conn, row, netting.recovered, actor=actor, note=note)
        released = await record_release(conn, row, netting.pays)
        state = await self.queue.step(
            conn,
            row,
            trigger,
            actor=actor,
            note=note,
            amount=netting.pays,
            netted=row["netted"] + netting.recovered,
            release_id=released.release_id,
            events={"payout_released": released},
        )
        if trigger is Trigger.RELEASE and minimum > 0:
            await self._release_pool(conn, row, actor)
        return state

    async def _netted(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        recovered: int,
        *,
        actor: str,
        note: str,
    ) -> State:
        """What the host owed took the whole entry: nothing is transferred, all of it netted."""
        netted = row["netted"] + recovered
        event = PayoutTransferredV1(
            entry_id=row["entry_id"],
            release_id=None,
            transfer_id=None,
            host_account_id=row["host_account_id"],
            amount=0,
            netted=netted,
            currency=row["currency"],
        )
        return await self.queue.step(
            conn,
            row,
            Trigger.NETTED,
            actor=actor,
            note=note,
            amount=0,
            netted=netted,
            events={"payout_transferred": event},
        )

    async def _amount(self, conn: asyncpg.Connection, row: asyncpg.Record) -> int:
        [payable] = await payables_db.payables_for(conn, row["booking_id"], row["payment_id"])
        now_payable = payables_db.payable(payable).payable_now
        if payable["returned_at"] is not None:
            return 0
        return now_payable if row["kind"] == "payable" else min(row["gross"], now_payable)

    async def _recover(
        self, conn: asyncpg.Connection, row: asyncpg.Record, amount: int, owed: int
    ) -> None:
        number = await payables_db.next_release_number(conn, row["payment_id"], row["booking_id"])
        subject = f"{row['entry_id']}:{number}"
        await self.queue.post(
            conn,
            recovered(
                amount=amount, host_account_id=row["host_account_id"], currency=row["currency"]
            ),
            subject,
            row["booking_id"],
        )
        await payables_db.add_to(conn, "netted", row["payment_id"], row["booking_id"], amount)
        await self.queue.emit(
            conn,
            NegativeBalanceRecoveredV1(
                host_account_id=row["host_account_id"],
                entry_id=row["entry_id"],
                amount=amount,
                currency=row["currency"],
                balance=owed - amount,
            ),
            row["host_account_id"],
        )

    async def _pool_reaches(
        self, conn: asyncpg.Connection, row: asyncpg.Record, pays: int, minimum: int
    ) -> bool:
        total = pays
        for other in await self._releasable(conn, row):
            total += await self._amount(conn, other)
        return total >= minimum

    async def _release_pool(
        self, conn: asyncpg.Connection, row: asyncpg.Record, actor: str
    ) -> None:
        """The host's entries that waited below the minimum go with this one."""
        for other in await self._releasable(conn, row):
            await payables_db.payables_for(
                conn, other["booking_id"], other["payment_id"], for_update=True
            )
            await self.settle(conn, other, actor=actor, minimum=0, note="with a larger payout")

    async def _releasable(self, conn: asyncpg.Connection, row: asyncpg.Record) -> list[Any]:
        return await queue_db.entries_where(
            conn,
            "host_account_id = $1 AND currency = $2 AND state = 'releasable' AND entry_id <> $3",
            row["host_account_id"],
            row["currency"],
            row["entry_id"],
        )

    def retry_at(self, retries: int) -> datetime | None:
        settings = self.queue.settings
        if retries >= settings.max_retries:
            return None
        return self.queue.now() + timedelta(seconds=settings.retry_seconds * 2**retries)

    async def schedule_retry(
        self, conn: asyncpg.Connection, entry_id: str, at: datetime | None
    ) -> None:
        if at is not None:
            await scheduler.schedule(conn, SCHEMA, PAYOUT_RETRY, entry_id, at)


__all__ = ["PAYOUT_DUE", "Release"]
