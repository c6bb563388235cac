"""The liability policy: who bears a lost dispute, in shares that sum exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from disputes.domain.liability import POLICY_VERSION, Leg, allocate, decide

LEGS = [
    Leg("bk_a", "acct_A", 20_000, 17_000),
    Leg("bk_b", "acct_B", 12_001, 10_201),
    Leg("bk_c", "acct_A", 7_999, 6_799),
]


def shares(decision) -> dict[tuple[str, str | None, str | None], int]:  # type: ignore[no-untyped-def]
    return {(s.party, s.host_account_id, s.booking_id): s.amount for s in decision.shares}


def test_fraud_on_a_3ds_payment_is_the_platforms() -> None:
    d = decide("fraudulent", 40_000, LEGS, three_d_secure=True, host_at_fault=False)
    assert (d.rule, shares(d), d.policy_version) == (
        "fraud_with_3ds",
        {("platform", None, None): 40_000},
        POLICY_VERSION,
    )


def test_fraud_without_3ds_is_split_like_the_payment() -> None:
    d = decide("fraudulent", 40_000, LEGS, three_d_secure=False, host_at_fault=False)
    assert d.rule == "fraud_shared"
    assert shares(d) == {
        ("platform", None, None): 3_000 + 1_800 + 1_200,
        ("host", "acct_A", "bk_a"): 17_000,
        ("host", "acct_B", "bk_b"): 10_201,
        ("host", "acct_A", "bk_c"): 6_799,
    }


def test_not_as_described_is_the_hosts_when_at_fault_else_the_platforms() -> None:
    at_fault = decide(
        "product_unacceptable", 40_000, LEGS, three_d_secure=False, host_at_fault=True
    )
    assert at_fault.rule == "host_at_fault"
    assert shares(at_fault) == {
        ("host", "acct_A", "bk_a"): 20_000,
        ("host", "acct_B", "bk_b"): 12_001,
        ("host", "acct_A", "bk_c"): 7_999,
    }
    not_at_fault = decide(
        "product_not_received", 40_000, LEGS, three_d_secure=False, host_at_fault=False
    )
    assert (not_at_fault.rule, shares(not_at_fault)) == (
        "platform_service",
        {("platform", None, None): 40_000},
    )


def test_duplicates_are_the_platforms_even_with_a_host_at_fault() -> None:
    d = decide("duplicate", 500, LEGS, three_d_secure=False, host_at_fault=True)
    assert (d.rule, shares(d)) == ("platform_processing", {("platform", None, None): 500})


def test_a_partial_dispute_is_spread_pro_rata_and_sums_exactly() -> None:
    d = decide("credit_not_processed", 10_001, LEGS, three_d_secure=False, host_at_fault=False)
    assert d.rule == "refund_per_policy"
    assert sum(s.amount for s in d.shares) == 10_001
    assert all(s.amount > 0 for s in d.shares)


def test_no_legs_known_the_platform_bears_it() -> None:
    d = decide("general", 999, [], three_d_secure=False, host_at_fault=False)
    assert shares(d) == {("platform", None, None): 999}


def test_allocate_uses_largest_remainders() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 0]) == [10, 0]


reasons = st.sampled_from(
    [
        "fraudulent",
        "unrecognized",
        "product_not_received",
        "product_unacceptable",
        "credit_not_processed",
        "subscription_canceled",
        "duplicate",
        "general",
    ]
)
legs = st.lists(st.tuples(st.integers(1, 10**7), st.integers(0, 100)), min_size=1, max_size=6).map(
    lambda ts: [
        Leg(f"bk_{i}", f"acct_{i % 2}", amount, amount * pct // 100)
        for i, (amount, pct) in enumerate(ts)
    ]
)


@given(reasons, legs, st.data(), st.booleans(), st.booleans())
def test_shares_always_sum_to_the_disputed_amount(reason, legs, data, tds, fault) -> None:  # type: ignore[no-untyped-def]
    total = sum(leg.amount for leg in legs)
    amount = data.draw(st.integers(1, total))
    d = decide(reason, amount, legs, three_d_secure=tds, host_at_fault=fault)
    assert sum(s.amount for s in d.shares) == amount
    assert all(s.amount > 0 for s in d.shares)
    for leg, part in zip(legs, allocate(amount, [leg.amount for leg in legs]), strict=True):
        borne = sum(
            s.amount for s in d.shares if s.booking_id == leg.booking_id and s.party == "host"
        )
        assert borne <= part  # a host never bears more than its booking's part


def test_legs_refunded_in_full_leave_the_loss_to_the_platform_and_bear_no_share() -> None:
    """payments names each leg with what it still holds after refunds: a refunded leg is 0."""
    refunded = [Leg("bk_a", "acct_A", 0, 0), Leg("bk_b", "acct_B", 0, 0)]
    for at_fault in (False, True):
        d = decide("product_not_received", 5_000, refunded, three_d_secure=False,
                   host_at_fault=at_fault)  # fmt: skip
        assert shares(d) == {("platform", None, None): 5_000}
    one_left = [Leg("bk_a", "acct_A", 20_000, 17_000), Leg("bk_b", "acct_B", 0, 0)]
    d = decide("fraudulent", 20_000, one_left, three_d_secure=False, host_at_fault=False)
    assert shares(d) == {("platform", None, None): 3_000, ("host", "acct_A", "bk_a"): 17_000}
