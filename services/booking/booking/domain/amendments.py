"""Amendments and overtime: their states, their transition table, and the money they move.

A change (time range, extras, guests) is proposed by the guest or the host before the start
and accepted by the other party; overtime is reported by the host after the end and accepted
(or disputed) by the guest. Accepting re-prices the booking: a decrease is applied at once with
a partial refund; an increase is first charged off-session and applied only when the charge
succeeds, so a failed charge leaves the booking as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Quote


class AmendmentStatus(StrEnum):
    PROPOSED = "proposed"
    AWAITING_SIGNATURES = "awaiting_signatures"  # accepted; the guest signs the new terms
    CHARGING = "charging"  # accepted (and signed); the increase is being charged
    APPLIED = "applied"
    REJECTED = "rejected"
    FAILED = "failed"  # the charge failed; the booking is unchanged
    WITHDRAWN = "withdrawn"
    DISPUTED = "disputed"  # overtime the guest contests
    EXPIRED = "expired"  # a change not answered before the start


class AmendmentTrigger(StrEnum):
    ACCEPTED = "accepted"
    SIGNED = "signed"
    SIGNATURES_DECLINED = "signatures_declined"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DISPUTED = "disputed"
    CHARGE_SUCCEEDED = "charge_succeeded"
    CHARGE_FAILED = "charge_failed"
    EXPIRED = "expired"  # a change: the start came; overtime: accepted when not disputed


class AmendmentGuard(StrEnum):
    """`re-sign`: a change of the time range of a listing with documents: the agreement's
    terms change, so the guest signs again before anything moves."""

    ALWAYS = "always"
    COSTS_MORE = "costs more"
    COSTS_THE_SAME_OR_LESS = "costs the same or less"
    RESIGN = "re-sign"
    NO_RESIGN_COSTS_MORE = "no re-sign, costs more"
    NO_RESIGN_COSTS_LESS = "no re-sign, costs the same or less"
    CHANGE = "change"
    OVERTIME = "overtime"

    def holds(self, delta: int, kind: str, resign: bool = False) -> bool:
        return {
            AmendmentGuard.ALWAYS: True,
            AmendmentGuard.COSTS_MORE: delta > 0,
            AmendmentGuard.COSTS_THE_SAME_OR_LESS: delta <= 0,
            AmendmentGuard.RESIGN: resign,
            AmendmentGuard.NO_RESIGN_COSTS_MORE: not resign and delta > 0,
            AmendmentGuard.NO_RESIGN_COSTS_LESS: not resign and delta <= 0,
            AmendmentGuard.CHANGE: kind == "change",
            AmendmentGuard.OVERTIME: kind == "overtime",
        }[self]


@dataclass(frozen=True)
class AmendmentTransition:
    source: AmendmentStatus
    trigger: AmendmentTrigger
    target: AmendmentStatus
    emits: str
    guard: AmendmentGuard = AmendmentGuard.ALWAYS


_P, _C = AmendmentStatus.PROPOSED, AmendmentStatus.CHARGING
_S = AmendmentStatus.AWAITING_SIGNATURES
_DECIDED = "booking.amendment_decided"
_CHARGE = "booking.charge_requested"
AMENDMENT_INITIAL = "booking.amendment_proposed"
AMENDMENT_TRANSITIONS: tuple[AmendmentTransition, ...] = (
    AmendmentTransition(
        _P,
        AmendmentTrigger.ACCEPTED,
        AmendmentStatus.APPLIED,
        _DECIDED,
        AmendmentGuard.NO_RESIGN_COSTS_LESS,
    ),
    AmendmentTransition(
        _P, AmendmentTrigger.ACCEPTED, _C, _CHARGE, AmendmentGuard.NO_RESIGN_COSTS_MORE
    ),
    AmendmentTransition(
        _P, AmendmentTrigger.ACCEPTED, _S, "booking.signatures_requested", AmendmentGuard.RESIGN
    ),
    AmendmentTransition(
        _S,
        AmendmentTrigger.SIGNED,
        AmendmentStatus.APPLIED,
        _DECIDED,
        AmendmentGuard.COSTS_THE_SAME_OR_LESS,
    ),
    AmendmentTransition(_S, AmendmentTrigger.SIGNED, _C, _CHARGE, AmendmentGuard.COSTS_MORE),
    AmendmentTransition(_S, AmendmentTrigger.SIGNATURES_DECLINED, AmendmentStatus.FAILED, _DECIDED),
    AmendmentTransition(_C, AmendmentTrigger.CHARGE_SUCCEEDED, AmendmentStatus.APPLIED, _DECIDED),
    AmendmentTransition(_C, AmendmentTrigger.CHARGE_FAILED, AmendmentStatus.FAILED, _DECIDED),
    AmendmentTransition(_P, AmendmentTrigger.REJECTED, AmendmentStatus.REJECTED, _DECIDED),
    AmendmentTransition(_P, AmendmentTrigger.WITHDRAWN, AmendmentStatus.WITHDRAWN, _DECIDED),
    AmendmentTransition(
        _P,
        AmendmentTrigger.DISPUTED,
        AmendmentStatus.DISPUTED,
        _DECIDED,
        AmendmentGuard.OVERTIME,
    ),
    *(
        AmendmentTransition(
            source,
            AmendmentTrigger.EXPIRED,
            AmendmentStatus.EXPIRED,
            _DECIDED,
            AmendmentGuard.CHANGE,
        )
        for source in (_P, _S)
    ),
)


def amendment_transition(
    current: AmendmentStatus,
    trigger: AmendmentTrigger,
    delta: int,
    kind: str,
    resign: bool = False,
) -> AmendmentTransition:
    for candidate in AMENDMENT_TRANSITIONS:
        if candidate.source == current and candidate.trigger == trigger:
            if candidate.guard.holds(delta, kind, resign):
                return candidate
    raise BookingError(
        ErrorCode.ILLEGAL_TRANSITION, f"cannot apply {trigger} to a {current} amendment"
    )


def amendment_mermaid() -> str:
    lines = [
        "stateDiagram-v2",
        f"    [*] --> proposed: propose or report overtime / {AMENDMENT_INITIAL}",
    ]
    for t in AMENDMENT_TRANSITIONS:
        guard = "" if t.guard is AmendmentGuard.ALWAYS else f" [{t.guard}]"
        lines.append(f"    {t.source} --> {t.target}: {t.trigger}{guard} / {t.emits}")
    terminal = {t.target for t in AMENDMENT_TRANSITIONS} - {t.source for t in AMENDMENT_TRANSITIONS}
    lines += [f"    {s} --> [*]" for s in sorted(terminal)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Difference:
    """What re-pricing moves: `amount` to charge (> 0) or refund (< 0), split like a payment."""

    amount: int
    platform_fee: int  # fees and tax
    host_amount: int
    tax: int
    lines: tuple[tuple[str, int], ...]  # (code, change), for the record


def difference(old: Quote, new: Quote) -> Difference:
    """New minus old, per part. Refused when parts move in opposite directions (say the host
    is paid more while the guest pays less): such a change must be split in two."""
    parts = (
        new.total - old.total,
        new.platform_fee - old.platform_fee,
        new.host_payout - old.host_payout,
        new.tax - old.tax,
    )
    if any(p > 0 for p in parts) and any(p < 0 for p in parts):
        raise BookingError(
            ErrorCode.VALIDATION_FAILED,
            "this change would move money in both directions; propose it as two changes",
        )
    before = {line.code: line.amount for line in old.lines}
    after = {line.code: line.amount for line in new.lines}
    changes = tuple(
        (code, after.get(code, 0) - before.get(code, 0))
        for code in sorted(before.keys() | after.keys())
        if after.get(code, 0) != before.get(code, 0)
    )
    assert sum(amount for _, amount in changes) == parts[0]
    return Difference(parts[0], parts[1], parts[2], parts[3], changes)
