"""The refund kernel: a hand-computed decision table, and properties over random bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.domain.quote import ExtraPrice, ExtraUnit, LineKind, Pricing, Quote, quote
from booking.domain.refunds import (
    PRESETS,
    Band,
    Basis,
    Canceller,
    Policy,
    RefundDecision,
    ServiceFeeRefund,
    refund_for,
)

START = datetime(2030, 6, 1, 12, tzinfo=UTC)
POLICIES = {p.name: p for p in PRESETS}
CUSTOM = Policy(
    "custom", 3, (Band(72, 7500), Band(12, 2500)), service_fee=ServiceFeeRefund.WITH_BANDS
)
NO_FEE_REFUND = Policy("nofee", 1, (Band(24, 10_000),), service_fee=ServiceFeeRefund.NEVER)
# Base 10,000 (taxed 10 %: 1,000), cleaning 2,000 (untaxed), guest service fee 10 % of 12,000
# = 1,200; the guest pays 14,200; the host fee is 10 % of 12,000 = 1,200.
PRICING = Pricing(
    currency="usd", rate=2_500, cleaning_fee=2_000, guest_service_fee_bps=1000, host_fee_bps=1000
)
RATES = {"space_rental": 1000}
QUOTE = quote(PRICING, START, START + timedelta(hours=4), tax_rates=lambda c: RATES.get(c, 0))
H = timedelta(hours=1)
S = timedelta(seconds=1)

# policy, who, force majeure, booked (before start), cancelled (before start), basis, refund
TABLE = [
    ("flexible", "guest", False, 1000 * H, 25 * H, Basis.BAND, 13_000),
    ("flexible", "guest", False, 1000 * H, 24 * H, Basis.BAND, 13_000),  # the edge counts
    ("flexible", "guest", False, 1000 * H, 24 * H - S, Basis.NO_BAND, 0),
    ("flexible", "guest", False, 1000 * H, 1 * H, Basis.NO_BAND, 0),
    ("flexible", "guest", False, 1000 * H, 0 * H, Basis.STARTED, 0),
    ("flexible", "guest", False, 1000 * H, -1 * H, Basis.STARTED, 0),
    ("flexible", "guest", False, 72 * H, 60 * H, Basis.GRACE, 14_200),
    ("flexible", "guest", False, 100 * H, 76 * H, Basis.GRACE, 14_200),  # 24 h after booking
    ("flexible", "guest", False, 100 * H, 76 * H - S, Basis.BAND, 13_000),  # grace over
    ("flexible", "guest", False, 50 * H, 47 * H, Basis.BAND, 13_000),  # start too near for grace
    ("flexible", "guest", False, 50 * H, 48 * H, Basis.GRACE, 14_200),  # exactly 48 h away
    ("moderate", "guest", False, 1000 * H, 121 * H, Basis.BAND, 13_000),
    ("moderate", "guest", False, 1000 * H, 120 * H, Basis.BAND, 13_000),
    ("moderate", "guest", False, 1000 * H, 120 * H - S, Basis.BAND, 6_500),
    ("moderate", "guest", False, 1000 * H, 24 * H, Basis.BAND, 6_500),
    ("moderate", "guest", False, 1000 * H, 24 * H - S, Basis.NO_BAND, 0),
    ("moderate", "guest", False, 1000 * H, 2 * H, Basis.NO_BAND, 0),
    ("moderate", "guest", False, 200 * H, 190 * H, Basis.GRACE, 14_200),
    ("strict", "guest", False, 1000 * H, 400 * H, Basis.BAND, 13_000),
    ("strict", "guest", False, 1000 * H, 336 * H, Basis.BAND, 13_000),
    ("strict", "guest", False, 1000 * H, 336 * H - S, Basis.BAND, 6_500),
    ("strict", "guest", False, 1000 * H, 168 * H, Basis.BAND, 6_500),
    ("strict", "guest", False, 1000 * H, 168 * H - S, Basis.NO_BAND, 0),
    ("strict", "guest", False, 1000 * H, 30 * H, Basis.NO_BAND, 0),
    ("strict", "guest", False, 500 * H, 490 * H, Basis.GRACE, 14_200),
    ("flexible", "host", False, 1000 * H, 1 * H, Basis.HOST_CANCELLED, 14_200),
    ("strict", "host", False, 1000 * H, 500 * H, Basis.HOST_CANCELLED, 14_200),
    ("strict", "host", False, 1000 * H, -2 * H, Basis.HOST_CANCELLED, 14_200),
    ("strict", "admin", True, 1000 * H, 2 * H, Basis.FORCE_MAJEURE, 14_200),
    ("moderate", "admin", False, 1000 * H, 50 * H, Basis.BAND, 6_500),
    ("flexible", "admin", False, 1000 * H, 30 * H, Basis.BAND, 13_000),
    ("flexible", "admin", True, 1000 * H, -5 * H, Basis.FORCE_MAJEURE, 14_200),
    # custom: 75 % from 72 h, 25 % from 12 h, service fee refunded at the band's share
    ("custom", "guest", False, 1000 * H, 80 * H, Basis.BAND, 7_500 + 1_500 + 900 + 750),
    ("custom", "guest", False, 1000 * H, 12 * H, Basis.BAND, 2_500 + 500 + 300 + 250),
    ("custom", "guest", False, 1000 * H, 12 * H - S, Basis.NO_BAND, 0),
    ("nofee", "guest", False, 72 * H, 60 * H, Basis.GRACE, 13_000),  # grace, fee kept
]


def _policy(name: str) -> Policy:
    return {"custom": CUSTOM, "nofee": NO_FEE_REFUND}.get(name) or POLICIES[name]


def cancel(
    q: Quote, policy: Policy, booked: timedelta, cancelled: timedelta, by: Canceller, **options: Any
) -> RefundDecision:
    """`refund_for` a booking that starts at START, booked and cancelled that long before it."""
    return refund_for(
        q,
        policy,
        booked_at=START - booked,
        starts_at=START,
        cancelled_at=START - cancelled,
        by=by,
        **options,
    )


@pytest.mark.parametrize(("policy", "by", "force", "booked", "cancelled", "basis", "amount"), TABLE)
def test_decision_table(
    policy: str,
    by: str,
    force: bool,
    booked: timedelta,
    cancelled: timedelta,
    basis: Basis,
    amount: int,
) -> None:
    assert QUOTE.total == 14_200 and QUOTE.host_fee == 1_200  # the table's premise
    decision = cancel(QUOTE, _policy(policy), booked, cancelled, Canceller(by), force_majeure=force)
    assert (decision.basis, decision.amount) == (basis, amount)
    assert decision.host_amount + decision.platform_fee == decision.amount
    assert decision.host_penalty == (1_200 if by == "host" else 0)


def test_the_table_has_at_least_thirty_cases() -> None:
    assert len(TABLE) >= 30


def test_a_full_refund_reverses_the_host_fee_and_the_tax_exactly() -> None:
    decision = cancel(QUOTE, POLICIES["strict"], 1000 * H, H, Canceller.HOST)
    assert decision.amount == QUOTE.total
    assert decision.host_amount == QUOTE.host_payout
    assert decision.platform_fee == QUOTE.platform_fee and decision.tax == QUOTE.tax


def test_a_non_refundable_extra_is_kept_unless_the_refund_is_full() -> None:
    pricing = Pricing(
        currency="usd",
        rate=1_000,
        extras={
            "lights": ExtraPrice("lights", "Lights", ExtraUnit.PER_BOOKING, 500, refundable=False)
        },
    )
    q = quote(pricing, START, START + H, extras={"lights": 1})
    by_guest = cancel(q, POLICIES["flexible"], 1000 * H, 30 * H, Canceller.GUEST)
    assert [(r.code, r.amount) for r in by_guest.lines] == [("base", 1_000)]
    by_host = cancel(q, POLICIES["flexible"], 1000 * H, 30 * H, Canceller.HOST)
    assert by_host.amount == q.total == 1_500
    in_grace = cancel(q, POLICIES["flexible"], 100 * H, 90 * H, Canceller.GUEST)
    assert (in_grace.basis, in_grace.amount) == (Basis.GRACE, 1_500)  # a full refund


def test_already_refunded_parts_are_not_refunded_again() -> None:
    first = cancel(QUOTE, POLICIES["flexible"], 1000 * H, 30 * H, Canceller.GUEST)
    again = cancel(
        QUOTE,
        POLICIES["flexible"],
        1000 * H,
        30 * H,
        Canceller.HOST,
        already_refunded={r.code: r.amount for r in first.lines},
    )
    assert first.amount + again.amount == QUOTE.total  # only the service fee was left


def test_policies_refuse_bands_that_refund_more_later() -> None:
    with pytest.raises(ValueError):
        Policy("odd", 1, (Band(48, 5000), Band(24, 10_000)))
    assert Policy.of(CUSTOM.as_dict()) == CUSTOM  # the snapshot round-trips


bookings = st.builds(
    lambda rate, hours, cleaning, fee, host_fee, tax: quote(
        Pricing(
            currency="usd",
            rate=rate,
            cleaning_fee=cleaning,
            guest_service_fee_bps=fee,
            host_fee_bps=host_fee,
        ),
        START,
        START + timedelta(minutes=15 * hours),
        tax_rates=lambda code: tax if code in ("space_rental", "cleaning") else 0,
    ),
    st.integers(1, 500_000),
    st.integers(4, 4 * 24 * 3),
    st.integers(0, 100_000),
    st.integers(0, 3000),
    st.integers(0, 5000),
    st.integers(0, 3000),
)
policies = st.sampled_from([*PRESETS, CUSTOM, NO_FEE_REFUND])


@settings(max_examples=300, deadline=None)
@given(
    q=bookings,
    policy=policies,
    booked_h=st.integers(0, 2000),
    earlier_s=st.integers(-3600 * 100, 3600 * 2000),
    later_by_s=st.integers(0, 3600 * 500),
    by=st.sampled_from([Canceller.GUEST, Canceller.ADMIN]),
)
def test_refunds_never_exceed_what_was_paid_and_never_grow_nearer_the_start(
    q, policy, booked_h, earlier_s, later_by_s, by
) -> None:  # type: ignore[no-untyped-def]
    booked_at = START - timedelta(hours=booked_h)
    earlier = max(booked_at, START - timedelta(seconds=earlier_s))
    later = earlier + timedelta(seconds=later_by_s)
    kw = {"booked_at": booked_at, "starts_at": START, "by": by}
    first = refund_for(q, policy, cancelled_at=earlier, **kw)  # type: ignore[arg-type]
    second = refund_for(q, policy, cancelled_at=later, **kw)  # type: ignore[arg-type]
    paid = {line.code: line.amount for line in q.lines}
    for decision in (first, second):
        assert 0 <= decision.amount <= q.total
        assert all(0 < r.amount <= paid[r.code] for r in decision.lines)
        assert decision.host_amount + decision.platform_fee == decision.amount
        assert 0 <= decision.host_amount <= q.host_payout
        assert 0 <= decision.tax <= q.tax
    assert second.amount <= first.amount
    mine = {r.code: r.amount for r in second.lines}
    assert all(mine.get(r.code, 0) <= r.amount for r in first.lines)  # per line too


def test_the_migration_seeds_the_presets_as_the_code_defines_them() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "booking/migrations/versions"
    spec = importlib.util.spec_from_file_location("m0011", next(path.glob("0011_*.py")))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seeded = [Policy.of({**p, **module.PRESET_RULES}) for p in module.PRESETS]
    assert seeded == list(PRESETS)


paid_parts = st.builds(
    lambda amount, fee_bps, tax_bps: _paid(amount, fee_bps, tax_bps),
    st.integers(0, 2_000_000),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
)


def _paid(amount: int, fee_bps: int, tax_bps: int):  # type: ignore[no-untyped-def]
    from booking.domain.refunds import Paid

    fee = amount * fee_bps // 10_000
    return Paid(amount, fee, fee * tax_bps // 10_000)


@settings(max_examples=300, deadline=None)
@given(q=bookings, paid=st.lists(paid_parts, min_size=1, max_size=4))
def test_a_refund_spread_over_payments_sums_exactly(q, paid) -> None:  # type: ignore[no-untyped-def]
    from booking.domain.refunds import allocate

    decision = cancel(q, POLICIES["flexible"], 1000 * H, 30 * H, Canceller.HOST)
    if decision.amount > sum(p.amount for p in paid):
        with pytest.raises(ValueError):
            allocate(decision, paid)
        return
    pieces = allocate(decision, paid)
    assert sum(p.amount for p in pieces) == decision.amount
    assert sum(p.platform_fee for p in pieces) == decision.platform_fee
    assert sum(p.tax for p in pieces) == decision.tax
    for piece in pieces:
        assert 0 < piece.amount <= paid[piece.payment_index].amount
        assert piece.amount == piece.platform_fee + piece.host_amount
        assert 0 <= piece.tax <= piece.platform_fee <= piece.amount
    fits = (
        decision.host_amount <= sum(p.host_amount for p in paid)
        and decision.platform_fee <= sum(p.platform_fee for p in paid)
        and decision.tax <= sum(p.tax for p in paid)
    )
    if fits:  # no payment gives back more of a part than it paid of it
        for piece in pieces:
            mine = paid[piece.payment_index]
            assert piece.host_amount <= mine.host_amount
            assert piece.platform_fee <= mine.platform_fee
            assert piece.tax <= mine.tax


@settings(max_examples=200, deadline=None)
@given(paid=st.lists(paid_parts, min_size=1, max_size=4))
def test_a_full_refund_gives_every_payment_back_exactly_what_it_took(paid) -> None:  # type: ignore[no-untyped-def]
    from booking.domain.refunds import Basis, RefundDecision, RefundLine, allocate

    decision = RefundDecision(
        basis=Basis.GRACE,
        refund_bps=10_000,
        lines=(RefundLine("base", LineKind.BASE, sum(p.amount for p in paid)),),
        host_amount=sum(p.host_amount for p in paid),
        platform_fee=sum(p.platform_fee for p in paid),
        tax=sum(p.tax for p in paid),
        host_penalty=0,
    )
    pieces = {piece.payment_index: piece for piece in allocate(decision, paid)}
    for index, mine in enumerate(paid):
        if not mine.amount:
            assert index not in pieces
            continue
        piece = pieces[index]
        assert (piece.amount, piece.platform_fee, piece.tax) == (
            mine.amount,
            mine.platform_fee,
            mine.tax,
        )


def test_an_amended_bookings_full_refund_is_split_as_each_payment_was() -> None:
    """The checkout payment took 30,266 (host 22,950, fees 7,316 of which tax 1,706), the
    amendment's extra charge 10,605 (host 8,100, fees 2,505, tax 525). Spreading the fees in
    proportion to the amounts gave the checkout's host 22,993 back and the extra charge's
    8,057: the host's payables went to -43 and +43, and 43 was released for a booking
    refunded in full."""
    from booking.domain.refunds import Basis, Paid, RefundDecision, RefundLine, allocate

    decision = RefundDecision(
        basis=Basis.GRACE,
        refund_bps=10_000,
        lines=(RefundLine("base", LineKind.BASE, 40_871),),
        host_amount=31_050,
        platform_fee=9_821,
        tax=2_231,
        host_penalty=0,
    )
    checkout, extra = allocate(decision, [Paid(30_266, 7_316, 1_706), Paid(10_605, 2_505, 525)])
    assert (checkout.host_amount, checkout.platform_fee, checkout.tax) == (22_950, 7_316, 1_706)
    assert (extra.host_amount, extra.platform_fee, extra.tax) == (8_100, 2_505, 525)
