import pytest

from finance.domain.ledger import (
    Journal,
    Share,
    UnbalancedJournal,
    guest_payment_captured,
    guest_payment_split,
)


def test_captured_payment_splits_into_cash_fee_and_host_payable() -> None:
    journal = guest_payment_captured(
        amount=13500, platform_fee=2025, host_account_id="acct_1", currency="usd"
    )
    assert dict(journal.postings) == {
        "asset:stripe_balance": 13500,
        "revenue:platform_fees": -2025,
        "liability:host_payable:acct_1": -11475,
    }


def test_a_zero_fee_leaves_no_zero_posting() -> None:
    journal = guest_payment_captured(
        amount=100, platform_fee=0, host_account_id="a", currency="usd"
    )
    assert all(amount != 0 for _, amount in journal.postings)


def test_unbalanced_or_single_line_journals_cannot_exist() -> None:
    with pytest.raises(UnbalancedJournal):
        Journal("x", "usd", (("a", 10), ("b", -9)))
    with pytest.raises(UnbalancedJournal):
        Journal("x", "usd", (("a", 0),))


# -- a payment covering several bookings (payment_captured v2) ---------------------------------
GROUP = (
    Share("acct_A", 20_000, 3_000, 17_000),
    Share("acct_B", 16_000, 2_400, 13_600),
    Share("acct_A", 12_000, 1_800, 10_200),
)


def test_a_split_payment_owes_each_host_the_sum_of_its_bookings() -> None:
    journal = guest_payment_split(amount=48_000, platform_fee=7_200, shares=GROUP, currency="usd")
    assert journal.kind == "guest_payment_captured"
    assert journal.postings == (
        ("asset:stripe_balance", 48_000),
        ("revenue:platform_fees", -7_200),
        ("liability:host_payable:acct_A", -27_200),
        ("liability:host_payable:acct_B", -13_600),
    )
    assert sum(amount for _, amount in journal.postings) == 0


def test_the_fees_of_a_split_payment_are_the_sum_of_its_bookings_fees() -> None:
    journal = guest_payment_split(amount=48_000, platform_fee=7_200, shares=GROUP, currency="usd")
    fees = -dict(journal.postings)["revenue:platform_fees"]
    assert fees == sum(share.platform_fee for share in GROUP)
    owed = -sum(v for a, v in journal.postings if a.startswith("liability:host_payable:"))
    assert owed == sum(share.host_amount for share in GROUP) == 48_000 - fees


def test_one_split_posts_what_a_v1_capture_posts() -> None:
    single = guest_payment_split(
        amount=13_500,
        platform_fee=2_025,
        shares=[Share("acct_1", 13_500, 2_025, 11_475)],
        currency="usd",
    )
    assert single == guest_payment_captured(
        amount=13_500, platform_fee=2_025, host_account_id="acct_1", currency="usd"
    )


def test_zero_postings_are_left_out_of_a_split_payment() -> None:
    journal = guest_payment_split(
        amount=300,
        platform_fee=100,
        shares=[Share("acct_A", 200, 0, 200), Share("acct_B", 100, 100, 0)],
        currency="usd",
    )
    assert journal.postings == (
        ("asset:stripe_balance", 300),
        ("revenue:platform_fees", -100),
        ("liability:host_payable:acct_A", -200),
    )


@pytest.mark.parametrize(
    ("amount", "platform_fee", "shares"),
    [
        (48_001, 7_200, GROUP),  # the splits do not add up to the payment
        (48_000, 7_000, GROUP),  # nor to its fee
        (1_000, 100, (Share("acct_A", 1_000, 100, 800),)),  # a split that loses 100
    ],
    ids=["amount", "fee", "split"],
)
def test_shares_that_do_not_add_up_are_refused(
    amount: int, platform_fee: int, shares: tuple[Share, ...]
) -> None:
    with pytest.raises(UnbalancedJournal):
        guest_payment_split(amount=amount, platform_fee=platform_fee, shares=shares, currency="usd")
