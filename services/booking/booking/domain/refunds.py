"""Cancellation policies (versioned data) and the refund kernel (one pure function).

A policy is a list of bands, "cancelled at least N hours before the start: refund P %",
plus a grace period and a rule for the guest service fee. It is snapshotted on each booking
(or leg) at checkout, so a later change of the policy never alters an existing booking.

`refund_for` computes, from a booking's quote, its policy snapshot, who cancels and when, the
refund per line item and how it splits between the host's share and the platform's (fees and
tax), so finance can reverse exactly what was booked. Rounding: half up, per line; a tax line
is refunded in proportion to the refunded amount of the lines it taxed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from booking.domain.quote import BPS, HOST_LINES, LineKind, Quote, div_half_up, share


class Canceller(StrEnum):
    GUEST = "guest"
    HOST = "host"
    ADMIN = "admin"


class ServiceFeeRefund(StrEnum):
    GRACE_ONLY = "grace_only"  # refunded only within the grace period (the default)
    WITH_BANDS = "with_bands"  # refunded at the band's percentage, like the stay
    NEVER = "never"


@dataclass(frozen=True)
class Band:
    hours_before: int  # cancelled at least this long before the start...
    refund_bps: int  # ...refunds this share of the refundable lines

    def __post_init__(self) -> None:
        if self.hours_before < 0 or not 0 <= self.refund_bps <= BPS:
            raise ValueError(f"invalid band {self}")


@dataclass(frozen=True)
class Policy:
    name: str
    version: int
    bands: tuple[Band, ...]
    grace_hours: int = 24  # a full refund within this long of booking...
    grace_min_lead_hours: int = 48  # ...when the start is at least this far away
    service_fee: ServiceFeeRefund = ServiceFeeRefund.GRACE_ONLY
    host_penalty_bps: int = 1000  # of the host's lines, when the host cancels

    def __post_init__(self) -> None:
        hours = [b.hours_before for b in self.bands]
        if len(set(hours)) != len(hours):
            raise ValueError(f"policy {self.name}: two bands start at the same hour")
        ordered = sorted(self.bands, key=lambda b: -b.hours_before)
        refunds = [b.refund_bps for b in ordered]
        if refunds != sorted(refunds, reverse=True):
            raise ValueError(f"policy {self.name}: a later band cannot refund more")
        object.__setattr__(self, "bands", tuple(ordered))

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "bands": [
                {"hours_before": b.hours_before, "refund_bps": b.refund_bps} for b in self.bands
            ],
            "grace_hours": self.grace_hours,
            "grace_min_lead_hours": self.grace_min_lead_hours,
            "service_fee": self.service_fee.value,
            "host_penalty_bps": self.host_penalty_bps,
        }

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Policy:
        return cls(
            name=d["name"],
            version=d["version"],
            bands=tuple(Band(b["hours_before"], b["refund_bps"]) for b in d["bands"]),
            grace_hours=d.get("grace_hours", 24),
            grace_min_lead_hours=d.get("grace_min_lead_hours", 48),
            service_fee=ServiceFeeRefund(d.get("service_fee", "grace_only")),
            host_penalty_bps=d.get("host_penalty_bps", 1000),
        )


PRESETS: tuple[Policy, ...] = (
    Policy("flexible", 1, (Band(24, BPS),)),
    Policy("moderate", 1, (Band(5 * 24, BPS), Band(24, 5000))),
    Policy("strict", 1, (Band(14 * 24, BPS), Band(7 * 24, 5000))),
)


class Basis(StrEnum):
    """Why the refund is what it is."""

    GRACE = "grace"
    BAND = "band"
    NO_BAND = "no_band"  # too close to the start for any band
    STARTED = "started"  # cancelled at or after the start
    HOST_CANCELLED = "host_cancelled"
    FORCE_MAJEURE = "force_majeure"


@dataclass(frozen=True)
class RefundLine:
    code: str
    kind: LineKind
    amount: int


@dataclass(frozen=True)
class RefundDecision:
    basis: Basis
    refund_bps: int  # the share applied to the refundable host lines
    lines: tuple[RefundLine, ...]
    host_amount: int  # taken back from the host's share
    platform_fee: int  # taken back from what the platform kept (fees and tax)
    tax: int  # of which tax
    host_penalty: int

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis.value,
            "refund_bps": self.refund_bps,
            "amount": self.amount,
            "lines": [{"code": r.code, "amount": r.amount} for r in self.lines],
            "host_amount": self.host_amount,
            "platform_fee": self.platform_fee,
            "tax": self.tax,
            "host_penalty": self.host_penalty,
        }


def _band_bps(policy: Policy, lead: timedelta) -> tuple[Basis, int]:
    for band in policy.bands:  # from the earliest band to the latest
        if lead >= timedelta(hours=band.hours_before):
            return Basis.BAND, band.refund_bps
    return Basis.NO_BAND, 0


def _rates(
    policy: Policy, by: Canceller, full_refund: bool, *, lead: timedelta, since: timedelta
) -> tuple[Basis, int, int]:
    """(basis, refund bps of the host lines, refund bps of the guest service fee); `lead`: how
    long before the start, `since`: how long after booking the cancellation comes."""
    if full_refund:
        basis = Basis.HOST_CANCELLED if by is Canceller.HOST else Basis.FORCE_MAJEURE
        return basis, BPS, BPS
    if lead <= timedelta(0):
        return Basis.STARTED, 0, 0
    if since <= timedelta(hours=policy.grace_hours) and lead >= timedelta(
        hours=policy.grace_min_lead_hours
    ):
        return Basis.GRACE, BPS, 0 if policy.service_fee is ServiceFeeRefund.NEVER else BPS
    basis, bps = _band_bps(policy, lead)
    return basis, bps, bps if policy.service_fee is ServiceFeeRefund.WITH_BANDS else 0


def _tax_refunds(
    quote: Quote,
    taxable_total: Mapping[str, int],
    taxable_refunded: Mapping[str, int],
    left: Mapping[str, int],
) -> list[RefundLine]:
    """Each tax line back in proportion to its taxable lines refunded, capped at what is left."""
    refunds: list[RefundLine] = []
    for line in quote.lines:
        if line.kind is not LineKind.TAX:
            continue
        code = line.code.removeprefix("tax:")
        base = taxable_total.get(code, 0)
        amount = div_half_up(line.amount * taxable_refunded.get(code, 0), base) if base else 0
        amount = min(amount, line.amount - left.get(line.code, 0))
        if amount:
            refunds.append(RefundLine(line.code, line.kind, amount))
    return refunds


def refund_for(
    quote: Quote,
    policy: Policy,
    *,
    booked_at: datetime,
    starts_at: datetime,
    cancelled_at: datetime,
    by: Canceller,
    force_majeure: bool = False,
    already_refunded: Mapping[str, int] | None = None,
) -> RefundDecision:
    """The refund of cancelling this booking now. `already_refunded` (code -> amount) caps
    each line at what is left of it (after an amendment's partial refund, say)."""
    full_refund = by is Canceller.HOST or (by is Canceller.ADMIN and force_majeure)
    basis, bps, fee_bps = _rates(
        policy, by, full_refund, lead=starts_at - cancelled_at, since=cancelled_at - booked_at
    )
    everything = full_refund or basis is Basis.GRACE  # the grace period is a full refund
    left = dict(already_refunded or {})
    refunds: list[RefundLine] = []
    taxable_refunded: dict[str, int] = {}
    taxable_total: dict[str, int] = {}
    host_refunded = 0
    platform_fee = 0
    for line in quote.lines:
        if line.kind is LineKind.TAX:
            continue
        if line.tax_code is not None:
            taxable_total[line.tax_code] = taxable_total.get(line.tax_code, 0) + line.amount
        if line.kind in HOST_LINES:  # non-refundable lines come back only in a full refund
            rate = bps if (line.refundable or everything) else 0
        else:  # the guest service fee
            rate = fee_bps
        amount = min(share(line.amount, rate), line.amount - left.get(line.code, 0))
        if line.tax_code is not None:
            taxable_refunded[line.tax_code] = taxable_refunded.get(line.tax_code, 0) + amount
        if amount:
            refunds.append(RefundLine(line.code, line.kind, amount))
            if line.kind in HOST_LINES:
                host_refunded += amount
            else:
                platform_fee += amount
    # The host fee withheld is given back in proportion to the host lines refunded, computed
    # once on their sum, so a full refund reverses it exactly.
    fee_part = div_half_up(quote.host_fee * host_refunded, quote.subtotal) if quote.subtotal else 0
    host_amount = host_refunded - fee_part
    platform_fee += fee_part
    tax_lines = _tax_refunds(quote, taxable_total, taxable_refunded, left)
    refunds.extend(tax_lines)
    tax = sum(line.amount for line in tax_lines)
    penalty = share(quote.subtotal, policy.host_penalty_bps) if by is Canceller.HOST else 0
    return RefundDecision(
        basis=basis,
        refund_bps=bps,
        lines=tuple(refunds),
        host_amount=host_amount,
        platform_fee=platform_fee + tax,
        tax=tax,
        host_penalty=penalty,
    )


@dataclass(frozen=True)
class RefundPiece:
    """The part of a refund one payment gives back."""

    payment_index: int
    amount: int
    platform_fee: int
    host_amount: int
    tax: int


@dataclass(frozen=True)
class Paid:
    """What one payment of a booking can give back, split as it was paid: the guest's amount,
    of which the platform's fees and tax (`platform_fee`, tax included) and tax; the rest is
    the host's share."""

    amount: int
    platform_fee: int
    tax: int

    @property
    def host_amount(self) -> int:
        return self.amount - self.platform_fee

    def part(self, amount: int) -> Paid:
        """The first `amount` of it, split in the same proportions (half up)."""
        if amount >= self.amount:
            return self
        fee = min(div_half_up(self.platform_fee * amount, self.amount), amount)
        return Paid(amount, fee, min(div_half_up(self.tax * amount, self.amount), fee))


def allocate(decision: RefundDecision, paid: list[Paid]) -> list[RefundPiece]:
    """Spread a refund over the payments that paid the booking, in order (the checkout payment,
    then extra charges). Each part of the refund (the host's share, the platform's fees, tax)
    is taken from each payment up to what that payment itself paid of it, so a full refund
    gives every payment back exactly what it took, and no payment gives back more of a part
    than it paid. What rounding leaves over (the decision's parts priced on the whole booking,
    the payments' on their own amounts) goes where a payment still has room, so the pieces
    sum to the decision exactly and none exceeds its payment."""
    if decision.amount > sum(p.amount for p in paid):
        raise ValueError(
            f"refund {decision.amount} exceeds what was paid {sum(p.amount for p in paid)}"
        )
    tax = _greedy(decision.tax, [p.tax for p in paid])
    fee = _greedy(
        decision.platform_fee - decision.tax,
        [p.platform_fee - t for p, t in zip(paid, tax, strict=True)],
    )
    fee = [f + t for f, t in zip(fee, tax, strict=True)]
    host = _greedy(decision.host_amount, [p.host_amount for p in paid])
    room = [p.amount - f - h for p, f, h in zip(paid, fee, host, strict=True)]
    fee = _spill(decision.platform_fee - sum(fee), fee, room)
    host = _spill(decision.host_amount - sum(host), host, room)
    tax = _spill(decision.tax - sum(tax), tax, [f - t for f, t in zip(fee, tax, strict=True)])
    return [
        RefundPiece(index, f + h, f, h, t)
        for index, (f, h, t) in enumerate(zip(fee, host, tax, strict=True))
        if f + h
    ]


def _greedy(total: int, limits: list[int]) -> list[int]:
    """`total` taken from each in order, up to its limit."""
    taken = []
    for limit in limits:
        take = min(total, max(limit, 0))
        taken.append(take)
        total -= take
    return taken


def _spill(left: int, parts: list[int], room: list[int]) -> list[int]:
    """`left` added to `parts` in order, up to each one's `room` (which shrinks by as much)."""
    parts = list(parts)
    for i, space in enumerate(room):
        add = min(left, max(space, 0))
        parts[i] += add
        room[i] -= add
        left -= add
    if left:
        raise ValueError(f"{left} of the refund fits no payment")
    return parts


@dataclass(frozen=True)
class CancellationRefund:
    """What a cancellation decided to give back, as it is kept (booking.refunds)."""

    refund_id: str  # the cancellation's, which the first request carries
    cancelled_by: Canceller
    policy: str  # the policy's label, name@version
    currency: str
    decision: RefundDecision
    requested: tuple[str, ...]  # one refund id per payment it is taken from, in order


@dataclass(frozen=True)
class RefundProgress:
    """The refunds payments was asked for (in order) and those it made (in its answers' order)."""

    requested: tuple[str, ...]
    succeeded: tuple[str, ...]

    def awaits(self, refund_id: str) -> bool:
        """An answer still expected: a redelivered one, or one for another refund, is not."""
        return refund_id in self.requested and refund_id not in self.succeeded

    def done_with(self, refund_id: str) -> bool:
        """Every request has succeeded once this one has."""
        return {*self.succeeded, refund_id} == set(self.requested)
