"""The daily close, as pure rules: business days, tie-outs and what blocks a close.

A business day starts at the cutoff (a UTC time of day, midnight by default): an instant
belongs to the day `(instant - cutoff).date()`. A day closes once per currency. The close ties
the ledger out to three outside figures; every difference, and every open reconciliation
exception, blocks it until finance acknowledges it with a note. An acknowledgement names the
difference *and its amount*: a difference that grows after it was acknowledged blocks again.

Tie-outs (ledger figure − outside figure = difference):
- `stripe_pending`, `stripe_available`: the ledger's Stripe balance accounts against Stripe's
  `GET /v1/balance` (both as of the close: Stripe reports only its current balance);
- `host_payables`: what the ledger owes hosts (`liability:host_payable:*`) against the payout
  queue's unpaid total;
- `captured_net`: captured minus refunded as payments' facts report it against the ledger's
  capture and refund journals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

CHECKS = ("stripe_pending", "stripe_available", "host_payables", "captured_net")


def parse_cutoff(text: str) -> time:
    """`HH:MM` (UTC) → a time of day; raises ValueError otherwise."""
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


def business_date(instant: datetime, cutoff: time) -> date:
    offset = timedelta(hours=cutoff.hour, minutes=cutoff.minute)
    return (instant.astimezone(UTC) - offset).date()


def day_ends_at(day: date, cutoff: time) -> datetime:
    """The instant a business day ends (the next day's cutoff)."""
    return datetime.combine(day + timedelta(days=1), cutoff, tzinfo=UTC)


@dataclass(frozen=True)
class TieOut:
    check: str
    ledger: int
    outside: int

    @property
    def difference(self) -> int:
        return self.ledger - self.outside


@dataclass(frozen=True)
class Blocker:
    """Something that keeps a day open: a tie-out difference or an open exception."""

    item: str  # the tie-out's check, or `exception:<id>`
    amount: int
    detail: str


@dataclass(frozen=True)
class Acknowledgement:
    item: str
    amount: int
    note: str
    actor: str


def blockers(
    tieouts: Iterable[TieOut], open_exceptions: Iterable[tuple[int, str, str]]
) -> list[Blocker]:
    """Tie-outs that do not tie, then open exceptions (id, kind, detail)."""
    found = [
        Blocker(t.check, t.difference, f"ledger {t.ledger}, outside {t.outside}")
        for t in tieouts
        if t.difference
    ]
    found += [
        Blocker(f"exception:{eid}", 0, f"{kind}: {detail}") for eid, kind, detail in open_exceptions
    ]
    return found


def unacknowledged(found: Iterable[Blocker], acks: Iterable[Acknowledgement]) -> list[Blocker]:
    """The blockers no acknowledgement covers (same item, same amount)."""
    covered = {(a.item, a.amount) for a in acks}
    return [b for b in found if (b.item, b.amount) not in covered]


class CloseRefused(Exception):
    """A close that cannot proceed (not a difference: those are a failed close's result)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def summary(movements: Iterable[dict[str, int | str]]) -> dict[str, int]:
    """The report's headline figures from a day's movements by account."""
    figures = {
        "stripe_fees": 0,
        "platform_fees": 0,
        "platform_payouts": 0,
        "host_transfers": 0,
        "reserves_held": 0,
        "reserves_released": 0,
        "dispute_fees": 0,
        "dispute_losses": 0,
    }
    for m in movements:
        account, debits, credits = str(m["account"]), int(m["debits"]), int(m["credits"])
        if account == "expense:stripe_fees":
            figures["stripe_fees"] += debits - credits
        elif account == "revenue:platform_fees":
            figures["platform_fees"] += credits - debits
        elif account == "asset:platform_bank":
            figures["platform_payouts"] += debits - credits
        elif account == "expense:stripe_dispute_fees":
            figures["dispute_fees"] += debits - credits
        elif account == "expense:dispute_losses":
            figures["dispute_losses"] += debits - credits
        elif account.startswith("liability:host_reserve:"):
            figures["reserves_held"] += credits
            figures["reserves_released"] += debits
    return figures
