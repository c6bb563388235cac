import pytest

from finance.domain.host_journals import penalty_receivable
from finance.domain.ledger import (
    Journal,
    Share,
    UnbalancedJournal,
    guest_payment_captured,
    guest_payment_split,
    guest_refund,
)


def test_captured_payment_splits_into_cash_fee_and_host_payable() -> None:
    journal = guest_payment_captured(
        amount=13500, platform_fee=2025, host_account_id="acct_1", currency="usd"
    )
    assert dict(journal.postings) == {
        "asset:stripe_balance:pending": 13500,
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
        ("asset:stripe_balance:pending", 48_000),
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
        ("asset:stripe_balance:pending", 300),
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


# -- tax: part of the platform's fee, owed rather than earned ---------------------------------
TAXED = (
    Share("acct_A", 20_000, 3_000, 17_000, tax=500),
    Share("acct_B", 16_000, 2_400, 13_600, tax=400),
)


def test_tax_in_the_fees_is_owed_not_earned() -> None:
    journal = guest_payment_split(amount=36_000, platform_fee=5_400, shares=TAXED, currency="usd")
    assert journal.postings == (
        ("asset:stripe_balance:pending", 36_000),
        ("revenue:platform_fees", -(5_400 - 900)),
        ("liability:tax_payable", -900),
        ("liability:host_payable:acct_A", -17_000),
        ("liability:host_payable:acct_B", -13_600),
    )


@pytest.mark.parametrize("tax", [-1, 3_001], ids=["negative", "more_than_the_fee"])
def test_tax_outside_the_fee_is_refused(tax: int) -> None:
    with pytest.raises(UnbalancedJournal):
        guest_payment_split(
            amount=20_000,
            platform_fee=3_000,
            shares=[Share("acct_A", 20_000, 3_000, 17_000, tax=tax)],
            currency="usd",
        )


# -- refunds: the reversal of what the capture booked -----------------------------------------
def refund_of_acct_a(amount: int, *, platform_fee: int, host_amount: int, tax: int) -> Journal:
    return guest_refund(
        amount=amount,
        platform_fee=platform_fee,
        host_amount=host_amount,
        tax=tax,
        host_account_id="acct_A",
        currency="usd",
    )


def test_a_refund_reverses_cash_fee_tax_and_host_share() -> None:
    journal = refund_of_acct_a(8_000, platform_fee=1_200, host_amount=6_800, tax=200)
    assert journal.kind == "guest_refund"
    assert journal.postings == (
        ("asset:stripe_balance:pending", -8_000),
        ("revenue:platform_fees", 1_000),
        ("liability:tax_payable", 200),
        ("liability:host_payable:acct_A", 6_800),
    )


def test_a_full_refund_undoes_its_capture() -> None:
    captured = guest_payment_split(
        amount=20_000,
        platform_fee=3_000,
        shares=[Share("acct_A", 20_000, 3_000, 17_000, tax=500)],
        currency="usd",
    )
    refunded = refund_of_acct_a(20_000, platform_fee=3_000, host_amount=17_000, tax=500)
    balances: dict[str, int] = {}
    for account, amount in (*captured.postings, *refunded.postings):
        balances[account] = balances.get(account, 0) + amount
    assert set(balances) == {
        "asset:stripe_balance:pending",
        "revenue:platform_fees",
        "liability:tax_payable",
        "liability:host_payable:acct_A",
    }
    assert all(balance == 0 for balance in balances.values())


def test_a_refund_without_tax_or_fee_posts_no_zero_line() -> None:
    journal = guest_refund(
        amount=5_000, platform_fee=0, host_amount=5_000, tax=0, host_account_id="a", currency="eur"
    )
    assert journal.postings == (
        ("asset:stripe_balance:pending", -5_000),
        ("liability:host_payable:a", 5_000),
    )


@pytest.mark.parametrize(
    ("amount", "platform_fee", "host_amount", "tax"),
    [
        (8_000, 1_200, 6_700, 0),  # the parts lose 100
        (8_000, 1_200, 6_800, 1_201),  # more tax than fee
        (8_000, 8_100, -100, 0),  # a negative host share
        (0, 0, 0, 0),  # nothing to refund
    ],
    ids=["parts", "tax", "negative_host", "zero"],
)
def test_refunds_that_do_not_add_up_are_refused(
    amount: int, platform_fee: int, host_amount: int, tax: int
) -> None:
    with pytest.raises(UnbalancedJournal):
        refund_of_acct_a(amount, platform_fee=platform_fee, host_amount=host_amount, tax=tax)


# -- host penalties ---------------------------------------------------------------------------
def test_a_host_penalty_is_owed_by_the_host() -> None:
    journal = penalty_receivable(penalty=2_500, host_account_id="acct_B", currency="usd")
    assert (journal.kind, journal.currency) == ("host_penalty", "usd")
    assert journal.postings == (
        ("asset:host_receivable:acct_B", 2_500),
        ("revenue:host_penalties", -2_500),
    )


def test_no_penalty_no_journal() -> None:
    with pytest.raises(UnbalancedJournal):
        penalty_receivable(penalty=0, host_account_id="acct_B", currency="usd")
