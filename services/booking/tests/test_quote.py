"""Quotes: a hand-computed table, and money properties over random listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import ExtraPrice, ExtraUnit, LineKind, Pricing, RateUnit, quote

START = datetime(2030, 6, 1, 9, tzinfo=UTC)
H = timedelta(hours=1)
EXTRAS = {
    "lights": ExtraPrice("lights", "Lighting kit", ExtraUnit.PER_BOOKING, 2_500),
    "assistant": ExtraPrice("assistant", "Assistant", ExtraUnit.PER_HOUR, 3_000, "labour"),
    "chairs": ExtraPrice("chairs", "Chair", ExtraUnit.PER_GUEST, 150, refundable=False),
}
# Extras, cleaning, a 12 % service fee and a 10 % host fee: the pricing with every part.
WITH_EXTRAS = Pricing(
    "usd", 6_000, cleaning_fee=3_500, guest_service_fee_bps=1200, host_fee_bps=1000, extras=EXTRAS
)
RATES = {"space_rental": 825, "extras": 825, "labour": 0, "cleaning": 825, "service_fee": 0}


def _lines(q) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {line.code: line.amount for line in q.lines}


# Hand-computed: (pricing, hours, guests, extras) -> the lines the guest sees, and the host fee.
CASES = [
    # 2.5 h at 45.00/h = 112.50; nothing else.
    (Pricing("usd", 4_500), 2.5, 1, {}, {"base": 11_250}, 0),
    # 3 h at 45.00, host fee 15 % = 20.25 (withheld, not a guest line).
    (Pricing("usd", 4_500, host_fee_bps=1500), 3, 1, {}, {"base": 13_500}, 2_025),
    # 1.25 h at 33.33: 41.6625 -> 41.66 (half up on the minor unit).
    (Pricing("usd", 3_333), 1.25, 1, {}, {"base": 4_166}, 0),
    # 0.25 h at 0.02: 0.005 -> 0.01 (half up).
    (Pricing("usd", 2, min_units=0), 0.25, 1, {}, {"base": 1}, 0),
    # Daily: 30 h = 2 started days at 200.00.
    (Pricing("usd", 20_000, RateUnit.DAY), 30, 1, {}, {"base": 40_000}, 0),
    # Extras, cleaning, service fee 12 %, tax 8.25 % on space, extras and cleaning:
    # base 2 h x 60.00 = 120.00; lights 25.00; assistant 2 h x 30.00 = 60.00 (untaxed);
    # chairs 10 x 1.50 = 15.00; cleaning 35.00; subtotal 255.00; service fee 30.60;
    # tax: space 9.90 + extras (lights 2.0625 -> 2.06, chairs 1.2375 -> 1.24 = 3.30)
    # + cleaning 2.8875 -> 2.89; host fee 10 % of 255.00 = 25.50.
    (
        WITH_EXTRAS,
        2,
        10,
        {"lights": 1, "assistant": 1, "chairs": 1},
        {
            "base": 12_000,
            "extra:lights": 2_500,
            "extra:assistant": 6_000,
            "extra:chairs": 1_500,
            "cleaning": 3_500,
            "guest_service_fee": 3_060,
            "tax:space_rental": 990,
            "tax:extras": 330,
            "tax:cleaning": 289,
        },
        2_550,
    ),
]


@pytest.mark.parametrize(("pricing", "hours", "guests", "extras", "lines", "host_fee"), CASES)
def test_quotes_match_the_hand_computed_table(
    pricing: Pricing, hours: float, guests: int, extras: dict, lines: dict, host_fee: int
) -> None:
    taxed = any(code.startswith("tax:") for code in lines)  # the untaxed cases use no rates
    q = quote(
        pricing,
        START,
        START + hours * H,
        guests=guests,
        extras=extras,
        tax_rates=lambda c: RATES.get(c, 0) if taxed else 0,
    )
    assert _lines(q) == lines
    assert q.host_fee == host_fee
    assert q.total == sum(lines.values())
    assert q.total == q.host_payout + q.platform_revenue + q.tax


def test_invalid_requests_are_refused_with_codes() -> None:
    pricing = Pricing("usd", 1_000, min_units=2, max_guests=4, extras=EXTRAS)
    with pytest.raises(BookingError) as short:
        quote(pricing, START, START + H)
    assert short.value.code is ErrorCode.BELOW_MINIMUM_DURATION
    for kwargs in ({"guests": 5}, {"extras": {"pool": 1}}, {"extras": {"lights": 0}}):
        with pytest.raises(BookingError) as bad:
            quote(pricing, START, START + 2 * H, **kwargs)  # type: ignore[arg-type]
        assert bad.value.code is ErrorCode.VALIDATION_FAILED
    with pytest.raises(BookingError) as odd:
        quote(pricing, START, START + 2 * H + timedelta(minutes=5))
    assert odd.value.code is ErrorCode.INVALID_TIME_RANGE


@settings(max_examples=400, deadline=None)
@given(
    rate=st.integers(1, 10_000_000),
    quarters=st.integers(1, 4 * 24 * 14),
    daily=st.booleans(),
    cleaning=st.integers(0, 1_000_000),
    fee=st.integers(0, 5000),
    host_fee=st.integers(0, 5000),
    tax=st.integers(0, 3000),
    guests=st.integers(1, 50),
    extra_amounts=st.lists(st.integers(0, 100_000), min_size=3, max_size=3),
)
def test_money_is_neither_created_nor_lost(
    rate, quarters, daily, cleaning, fee, host_fee, tax, guests, extra_amounts
) -> None:  # type: ignore[no-untyped-def]
    extras = {
        code: ExtraPrice(code, code, unit, amount)
        for code, unit, amount in zip(("a", "b", "c"), ExtraUnit, extra_amounts, strict=True)
    }
    pricing = Pricing(
        "usd",
        rate,
        RateUnit.DAY if daily else RateUnit.HOUR,
        1 if daily else 0,
        cleaning,
        fee,
        host_fee,
        50,
        extras,
    )
    q = quote(
        pricing,
        START,
        START + timedelta(minutes=15 * quarters),
        guests=guests,
        extras={"a": 1, "b": 1, "c": 1},
        tax_rates=lambda _c: tax,
    )
    assert all(line.amount >= 0 for line in q.lines)
    assert q.total == sum(line.amount for line in q.lines)
    assert q.total == q.host_payout + q.platform_revenue + q.tax  # to the minor unit
    assert 0 <= q.host_fee <= q.subtotal and q.host_payout >= 0
    assert q.platform_fee == q.total - q.host_payout
    assert sum(1 for line in q.lines if line.kind is LineKind.BASE) == 1


def test_an_invited_price_is_all_inclusive() -> None:
    q = quote(
        WITH_EXTRAS,
        START,
        START + 2 * H,
        extras={"lights": 1},
        base_amount=15_000,
        tax_rates=lambda c: RATES.get(c, 0),
    )
    assert [(line.code, line.amount) for line in q.lines] == [("base", 15_000)]
    assert (q.total, q.host_fee, q.tax) == (15_000, 1_500, 0)
    assert q.taxable() == {}  # nothing for a tax adapter to add
