import pytest

from finance.domain.ledger import Journal, UnbalancedJournal, guest_payment_captured


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
