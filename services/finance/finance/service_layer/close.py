"""Close a business day, per currency: reconcile, tie out, freeze, lock, report, announce.

Stripe is read (a reconciliation round and `GET /v1/balance`) before the close's transaction;
the transaction holds the currency's books lock, so the snapshot, the tie-outs and the
`day_closes` row agree with each other. A day closes in order (every earlier day with
journals first); closing a closed day returns its stored report unchanged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg

from eventkit.fields import MAX_ROW_ID
from eventkit.outbox import Outbox
from finance.adapters import close_repository as close_db
from finance.adapters import recon_repository as recon_db
from finance.adapters.stripe_balance import StripeBalance
from finance.domain.close import (
    CHECKS,
    Acknowledgement,
    CloseRefused,
    TieOut,
    blockers,
    business_date,
    summary,
    unacknowledged,
)
from finance.service_layer.reconcile import Reconciler
from marketplace_contracts.events.finance_books import AccountBalance, DayClosedV1

log = logging.getLogger("finance.close")
_NS = uuid.UUID("0b7e4c39-31f4-4b8e-9f55-7d2d0c6a1f00")  # day-closed correlation ids


@dataclass(frozen=True)
class CloseOutcome:
    business_date: date
    currency: str
    closed: bool
    report: dict[str, Any]


class DailyClose:
    def __init__(
        self,
        stripe: StripeBalance,
        now: Callable[[], datetime],
        cutoff: time,
        outbox: Outbox,
        reconciler: Reconciler | None = None,
    ) -> None:
        self.stripe = stripe
        self.now = now
        self.cutoff = cutoff
        self.outbox = outbox
        self.reconciler = reconciler

    def today(self) -> date:
        return business_date(self.now(), self.cutoff)

    def yesterday(self) -> date:
        """The day a close by hand closes unless told otherwise."""
        return self.today() - timedelta(days=1)

    async def close(
        self, pool: asyncpg.Pool, day: date, currency: str | None = None
    ) -> list[CloseOutcome]:
        """Close `day` for one currency, or for every currency the books know."""
        if day >= self.today():
            raise CloseRefused("day_not_over", f"{day} is not over yet (today is {self.today()})")
        # What refuses the close (a day locked or before the books, an earlier day open, a
        # currency never held) refuses before the full round, which can take a minute; it is
        # checked again under the books' lock after the round. A day closed already answers
        # its report, as it did.
        held = await self.stripe.balance()
        async with pool.acquire() as conn:
            for c in [currency] if currency else await close_db.currencies(conn):
                await self._closed_or_closable(conn, day, c, any(held.get(c, {}).values()))
        if self.reconciler is not None:
            await self.reconciler.run(pool, full=True)
        stripe_balance = await self.stripe.balance()
        async with pool.acquire() as conn:
            wanted = [currency] if currency else await close_db.currencies(conn)
        outcomes = []
        for c in wanted:
            at_stripe = stripe_balance.get(c, {"pending": 0, "available": 0})
            outcomes.append(await self._close_currency(pool, day, c, at_stripe))
        return outcomes

    async def close_due(
        self, pool: asyncpg.Pool, currency: str | None = None
    ) -> list[CloseOutcome]:
        """The scheduled close (and `close-day` without a date): every open day before today,
        oldest first, per currency (`currency` only, if given); a day that fails stops its
        currency there (the next round tries again)."""
        outcomes: list[CloseOutcome] = []
        async with pool.acquire() as conn:
            known = await close_db.currencies(conn)
        for c in (c for c in known if currency in (None, c)):
            while True:
                async with pool.acquire() as conn:
                    day = await close_db.first_open_day(conn, c)
                if day is None or day >= self.today():
                    break
                [outcome] = await self.close(pool, day, c)
                outcomes.append(outcome)
                if not outcome.closed:
                    break
        return outcomes

    async def acknowledge(
        self, pool: asyncpg.Pool, day: date, currency: str, ack: Acknowledgement
    ) -> None:
        """A known difference, recorded before (or after) a close that it lets through. Only
        what a close can block on (a tie-out check or `exception:<id>`), and only for a day
        still open: a closed day's report is final."""
        if day > self.today():
            raise CloseRefused("day_not_over", f"{day} has not begun (today is {self.today()})")
        async with pool.acquire() as conn:
            if ack.item not in CHECKS and not await _exception_item(conn, ack.item, currency):
                known = ", ".join(CHECKS)
                raise CloseRefused(
                    "unknown_close_item",
                    f"{ack.item!r} is not {known} or exception:<id> of a {currency} exception",
                )
            last = await close_db.last_closed(conn, currency)
            if last is not None and day <= last:
                raise CloseRefused("day_locked", f"{currency}: {last} is closed, so {day} is final")
            await _check_begun(conn, day, currency)
            await close_db.acknowledge(conn, day, currency, ack)

    async def _close_currency(
        self, pool: asyncpg.Pool, day: date, currency: str, at_stripe: dict[str, int]
    ) -> CloseOutcome:
        async with pool.acquire() as conn, conn.transaction():
            await close_db.lock_books(conn, currency)
            done = await self._closed_or_closable(conn, day, currency, any(at_stripe.values()))
            if done is not None:
                return CloseOutcome(day, currency, True, done["report"])
            report, left, acked = await self._report(conn, day, currency, at_stripe)
            closed = not left
            report["status"] = "closed" if closed else "failed"
            stored = await close_db.save_close(
                conn,
                day,
                currency,
                closed=closed,
                blockers=[b.__dict__ for b in left],
                report=report,
                at=datetime.fromisoformat(report["closed_at"]),
            )
            assert stored is not None  # the books' lock is held and the day was not closed
            if closed:
                await self._announce(conn, day, currency, report, acked)
        log.info("close %s %s: %s", day, currency, report["status"])
        return CloseOutcome(day, currency, closed, stored)

    async def _closed_or_closable(
        self, conn: asyncpg.Connection, day: date, currency: str, at_stripe: bool
    ) -> asyncpg.Record | None:
        """The day's close if it is closed already (a close again answers its report); else
        None, once `_check_order` lets the day close (or raises why it cannot)."""
        done = await close_db.get_close(conn, day, currency)
        if done is not None and done["status"] == "closed":
            return done
        await self._check_order(conn, day, currency, at_stripe)
        return None

    @staticmethod
    async def _check_order(
        conn: asyncpg.Connection, day: date, currency: str, at_stripe: bool
    ) -> None:
        last = await close_db.last_closed(conn, currency)
        if last is not None and day < last:
            raise CloseRefused("day_locked", f"{currency}: {last} is closed, so {day} is locked")
        await _check_begun(conn, day, currency, at_stripe=at_stripe)
        first = await close_db.first_open_day(conn, currency)
        if first is not None and first < day:
            raise CloseRefused(
                "earlier_day_open", f"{currency}: close {first} before {day} (days close in order)"
            )

    async def _report(
        self, conn: asyncpg.Connection, day: date, currency: str, at_stripe: dict[str, int]
    ) -> tuple[dict[str, Any], list[Any], int]:
        ledger = await close_db.ledger_now(conn, currency)
        tieouts = [
            TieOut("stripe_pending", ledger["pending"], at_stripe.get("pending", 0)),
            TieOut("stripe_available", ledger["available"], at_stripe.get("available", 0)),
            TieOut("host_payables", ledger["payables"], await close_db.queue_owed(conn, currency)),
            TieOut(
                "captured_net",
                ledger["captured_net"],
                await close_db.payments_captured_net(conn, currency),
            ),
        ]
        exceptions = await recon_db.open_exceptions(conn, currency)
        found = blockers(
            tieouts,
            [
                (e["exception_id"], e["kind"], f"{e['object_id']}: {e['detail']}")
                for e in exceptions
            ],
        )
        acks = await close_db.acknowledgements(conn, day, currency)
        left = unacknowledged(found, acks)
        moved = await close_db.movements(conn, currency, day)
        kinds = await close_db.journals_by_kind(conn, currency, day)
        figures = summary(moved)
        figures["host_transfers"] = sum(k["amount"] for k in kinds if k["kind"] == "host_transfer")
        report = {
            "business_date": day.isoformat(),
            "currency": currency,
            "cutoff": self.cutoff.strftime("%H:%M"),
            "closed_at": self.now().isoformat(),
            "figures": figures,
            "balances": await close_db.balances_as_of(conn, currency, day),
            "movements": moved,
            "journals_by_kind": kinds,
            "adjustments": await close_db.adjustments(conn, currency, day),
            "tieouts": [{**t.__dict__, "difference": t.difference} for t in tieouts],
            "exceptions": [
                {**dict(e), "raised_at": e["raised_at"].isoformat()} for e in exceptions
            ],
            "blockers": [b.__dict__ for b in left],
            "acknowledged": [a.__dict__ for a in acks],
        }
        return report, left, len(found) - len(left)

    async def _announce(
        self,
        conn: asyncpg.Connection,
        day: date,
        currency: str,
        report: dict[str, Any],
        acknowledged: int,
    ) -> None:
        event = DayClosedV1(
            business_date=day,
            currency=currency,
            closed_at=self.now(),
            trial_balance=[
                AccountBalance(account=a, balance=v) for a, v in report["balances"].items()
            ],
            acknowledged=acknowledged,
            open_exceptions=len(report["exceptions"]),
        )
        key = f"{day.isoformat()}:{currency}"
        await self.outbox.add(conn, event, key=key, correlation_id=uuid.uuid5(_NS, key))


async def _check_begun(
    conn: asyncpg.Connection, day: date, currency: str, *, at_stripe: bool = False
) -> None:
    """A day before the currency's books begin has nothing to close; nor has a currency that
    neither the books nor Stripe's balance (`at_stripe`: it holds some now) ever held: a typo
    would otherwise close, and lock, its days."""
    began = await close_db.first_day(conn, currency)
    if began is not None and day < began:
        raise CloseRefused("before_first_day", f"{currency}: the books begin on {began}")
    if began is None and not at_stripe and not await close_db.ever_held(conn, currency):
        raise CloseRefused(
            "before_first_day",
            f"{currency}: the books hold nothing in this currency (no journal, no Stripe "
            "balance transaction)",
        )


async def _exception_item(conn: asyncpg.Connection, item: str, currency: str) -> bool:
    """`exception:<id>` naming a reconciliation exception of `currency`."""
    kind, _, number = item.partition(":")
    if kind != "exception" or not number.isdigit() or not 0 < int(number) <= MAX_ROW_ID:
        return False
    found = await recon_db.get_exception(conn, int(number))
    return found is not None and found["currency"] == currency
