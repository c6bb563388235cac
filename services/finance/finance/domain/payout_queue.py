"""The payout queue: one entry per host payable, its states, its holds and its transition table
(pure).

An entry is `scheduled` until its due time (the booking's start plus the host's payout delay),
`held` while any hold reason stands (every reason is kept; the last one cleared puts it back on
schedule), `releasable` when due but below the minimum payout (it waits for more of the host's
money, or a release by staff), `released` once `finance.payout_released` asked payments for the
transfer, then `transferred` or `failed` (a failed transfer is retried, by the scheduler with
backoff or by staff), and `reversed` when nothing is left to pay (refunded, returned) or the
transfer came back in full. An entry whose whole amount recovers what the host owes is
`transferred` with nothing sent (`netted` = its amount).

`apply(entry, trigger)` returns the entry after the transition and the names of the events it
emits; the service layer turns them into `finance.payout_*` events in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from domainkit.transitions import IllegalTransition, Transition, TransitionTable


class StaleEntry(Exception):
    """The entry changed under us (compare-and-set lost): the caller's transaction must roll
    back (the scheduler retries the job; the API answers 409)."""


class State(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    RELEASABLE = "releasable"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    FAILED = "failed"
    REVERSED = "reversed"


class Trigger(StrEnum):
    HOLD = "hold"  # a reason is added
    UNHOLD = "unhold"  # a reason is removed, others remain
    CLEAR = "clear"  # the last reason is removed: back on schedule
    BELOW_MINIMUM = "below_minimum"  # due, but less than the minimum payout
    RELEASE = "release"  # due (or staff: release now)
    NETTED = "netted"  # due, and all of it recovered what the host owes
    NOTHING_OWED = "nothing_owed"  # refunded or returned before it was paid
    TRANSFERRED = "transferred"
    TRANSFER_FAILED = "transfer_failed"
    RETRY = "retry"
    REVERSED = "reversed"
    # `python -m finance release-payout`: ops pay a booking outside the queue's timing (the
    # legacy command; holds other than the booking's start and the bank-debit window refuse it)
    OVERRIDE = "override"


class Hold(StrEnum):
    """Why an entry waits (a dispute's reason is `dispute:<dispute id>`)."""

    AWAITING_BOOKING = "awaiting_booking"  # booking's facts (its start) not received yet
    BANK_DEBIT = "bank_debit_return_window"
    DISPUTE = "dispute"
    RESERVE = "reserve"  # all of it went to the host's reserve
    PAYOUTS_DISABLED = "payouts_disabled"
    MANUAL = "manual"


def dispute_hold(dispute_id: str) -> str:
    return f"{Hold.DISPUTE}:{dispute_id}"


S, H = State, Trigger
_OPEN = (S.SCHEDULED, S.HELD, S.RELEASABLE)
_DUE = (S.SCHEDULED, S.RELEASABLE)
_ROWS: dict[tuple[State, Trigger], Transition[State]] = {
    **{(s, H.HOLD): Transition(S.HELD, ("payout_held",)) for s in (*_OPEN, S.FAILED)},
    (S.HELD, H.UNHOLD): Transition(S.HELD),
    (S.HELD, H.CLEAR): Transition(S.SCHEDULED, ("payout_scheduled",)),
    (S.SCHEDULED, H.BELOW_MINIMUM): Transition(S.RELEASABLE),
    **{(s, H.RELEASE): Transition(S.RELEASED, ("payout_released",)) for s in _DUE},
    **{(s, H.OVERRIDE): Transition(S.RELEASED, ("payout_released",)) for s in _OPEN},
    **{
        (s, H.NETTED): Transition(S.TRANSFERRED, ("payout_transferred",)) for s in (*_DUE, S.FAILED)
    },
    **{(s, H.NOTHING_OWED): Transition(S.REVERSED) for s in (*_OPEN, S.FAILED)},
    (S.RELEASED, H.TRANSFERRED): Transition(S.TRANSFERRED, ("payout_transferred",)),
    (S.RELEASED, H.TRANSFER_FAILED): Transition(S.FAILED, ("payout_failed",)),
    (S.FAILED, H.RETRY): Transition(S.RELEASED, ("payout_released",)),
    (S.TRANSFERRED, H.REVERSED): Transition(S.REVERSED),
}
TABLE: TransitionTable[State, Trigger] = TransitionTable(_ROWS)
OPEN_STATES = frozenset(_OPEN)


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: str
    host_account_id: str
    currency: str
    state: State = State.SCHEDULED
    due_at: datetime | None = None
    holds: frozenset[str] = field(default_factory=frozenset)

    def due(self, now: datetime) -> bool:
        return self.due_at is not None and self.due_at <= now


def apply(entry: Entry, trigger: Trigger, *, reason: str | None = None) -> tuple[Entry, list[str]]:
    """The entry after `trigger` (with `reason` for a hold or unhold) and the events it emits;
    raises IllegalTransition (409 `illegal_transition`)."""
    holds = entry.holds
    if trigger in (Trigger.HOLD, Trigger.UNHOLD):
        if reason is None:
            raise ValueError(f"{trigger} needs a reason")
        if trigger is Trigger.UNHOLD:
            if reason not in holds:
                raise IllegalTransition(entry.state, f"unhold {reason}")
            holds = holds - {reason}
            if not holds:
                trigger = Trigger.CLEAR
        else:
            if reason in holds:  # already held for it: nothing changes
                return entry, []
            holds = holds | {reason}
    step = TABLE.apply(entry.state, trigger)
    return replace(entry, state=step.target, holds=holds), list(step.emits)


@dataclass(frozen=True, slots=True)
class Netting:
    """What an entry pays once what the host owes is recovered from it."""

    amount: int  # before netting
    recovered: int  # taken from the host's receivable
    pays: int  # what is transferred


def net(amount: int, receivable: int) -> Netting:
    """Recover what the host owes (`receivable` > 0) from `amount` first."""
    if amount < 0:
        raise ValueError(f"negative payout amount {amount}")
    recovered = min(amount, max(receivable, 0))
    return Netting(amount, recovered, amount - recovered)


def release_trigger(netting: Netting, minimum: int) -> Trigger:
    """What a due entry does: nothing left (all recovered, or nothing owed), below the minimum
    payout, or released."""
    if netting.amount == 0:
        return Trigger.NOTHING_OWED
    if netting.pays == 0:
        return Trigger.NETTED
    if netting.pays < minimum:
        return Trigger.BELOW_MINIMUM
    return Trigger.RELEASE
