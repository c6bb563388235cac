"""A dispute's posting rules: what each movement books, and how a lost dispute's host shares
are recovered."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from finance.domain import disputes as rules
from finance.domain.ledger import STRIPE_PENDING, UnbalancedJournal
from finance.domain.reconciliation import (
    BALANCE_AVAILABLE,
    STRIPE_FEE,
    BalanceTransaction,
    import_journals,
)


def totals(*journals: rules.Journal) -> Counter[str]:
    found: Counter[str] = Counter()
    for journal in journals:
        for account, amount in journal.postings:
            found[account] += amount
    return found


def test_a_withdrawal_and_its_fee_leave_the_balance_and_the_import_makes_them_available() -> None:
    """The sim's withdrawal: amount -5000, fee 1500, available at once. The fact's journals
    plus the import's leave the ledger's pending untouched and its available 6500 lower, as
    Stripe's balance."""
    bt = BalanceTransaction(
        txn_id="txn_1",
        type="adjustment",
        source="du_1",
        amount=-5_000,
        fee=1_500,
        net=-6_500,
        currency="usd",
        status="available",
        created=datetime(2026, 12, 5, tzinfo=UTC),
        reporting_category="dispute",
    )
    imported = list(import_journals(bt))
    assert [j.kind for j in imported] == [rules.DISPUTE_FEE, BALANCE_AVAILABLE]
    assert imported[0] == rules.dispute_fee(fee=1_500, currency="usd")  # the fact's, the same
    books = totals(rules.funds_withdrawn(amount=5_000, currency="usd"), *imported)
    assert books[STRIPE_PENDING] == 0
    assert books["asset:stripe_balance:available"] == -6_500
    assert books[rules.DISPUTED_FUNDS] == 5_000
    assert books[rules.DISPUTE_FEES] == 1_500
    assert books["expense:stripe_fees"] == 0  # not a processing fee


def test_a_charge_fee_is_still_a_processing_fee() -> None:
    bt = BalanceTransaction(
        "txn_2", "charge", "ch_1", 10_000, 320, 9_680, "usd", "pending", datetime.now(UTC)
    )
    assert [j.kind for j in import_journals(bt)] == [STRIPE_FEE]


def test_a_won_dispute_leaves_nothing_withdrawn_and_the_fee_spent() -> None:
    books = totals(
        rules.funds_withdrawn(amount=5_000, currency="usd"),
        rules.dispute_fee(fee=1_500, currency="usd"),
        rules.funds_reinstated(amount=5_000, currency="usd"),
    )
    assert books[rules.DISPUTED_FUNDS] == 0
    assert books[STRIPE_PENDING] == -1_500
    assert books[rules.DISPUTE_FEES] == 1_500


def test_a_returned_fee_credits_the_fee_account() -> None:
    assert rules.dispute_fee(fee=-1_500, currency="usd").postings == (
        (rules.DISPUTE_FEES, -1_500),
        (STRIPE_PENDING, 1_500),
    )


def test_a_loss_is_borne_by_its_shares_and_empties_the_disputed_funds() -> None:
    paid = rules.Paid("tr_1", reversible=2_000)
    host_a = rules.HostShare("acct_a", "bk_a", 3_000)  # paid 2 000: reverse it, net the rest
    host_b = rules.HostShare("acct_b", "bk_b", 1_000)  # not paid yet: netted
    charges = [
        rules.Charge(rules.PLATFORM, 6_000),
        *rules.recovery(host_a, paid),
        *rules.recovery(host_b, None),
    ]
    assert [(c.how, c.amount, c.transfer_id) for c in charges[1:]] == [
        ("reversal", 2_000, "tr_1"),
        ("receivable", 1_000, None),
        ("receivable", 1_000, None),
    ]
    journal = rules.loss(amount=10_000, currency="usd", charges=charges)
    assert dict(journal.postings) == {
        rules.DISPUTED_FUNDS: -10_000,
        rules.DISPUTE_LOSSES: 6_000,
        "asset:dispute_recovery:acct_a": 2_000,
        "asset:host_receivable:acct_a": 1_000,
        "asset:host_receivable:acct_b": 1_000,
    }


def test_a_host_share_within_the_transfer_is_all_reversed() -> None:
    [charge] = rules.recovery(rules.HostShare("acct_a", "bk", 4_000), rules.Paid("tr", 8_500))
    assert (charge.how, charge.amount) == ("reversal", 4_000)


def test_a_reversal_outcome_moves_the_share_back_or_to_what_the_host_owes() -> None:
    loss = rules.loss(
        amount=4_000,
        currency="usd",
        charges=[rules.Charge(rules.REVERSAL, 4_000, "acct_a", "bk", "tr")],
    )
    back = rules.recovery_reversed(amount=4_000, host_account_id="acct_a", currency="usd")
    assert totals(loss, back)["asset:dispute_recovery:acct_a"] == 0
    assert totals(loss, back)[STRIPE_PENDING] == 4_000
    failed = rules.recovery_failed(amount=4_000, host_account_id="acct_a", currency="usd")
    assert totals(loss, failed)["asset:dispute_recovery:acct_a"] == 0
    assert totals(loss, failed)["asset:host_receivable:acct_a"] == 4_000


@pytest.mark.parametrize(
    ("platform", "host"),
    [(5_000, 4_000), (-1, 10_001)],
)
def test_shares_that_do_not_add_up_to_the_disputed_amount_are_refused(
    platform: int, host: int
) -> None:
    with pytest.raises(UnbalancedJournal):
        rules.check_shares(10_000, platform, [rules.HostShare("acct_a", "bk", host)])


def test_nothing_withdrawn_or_reinstated_is_refused() -> None:
    with pytest.raises(UnbalancedJournal):
        rules.funds_withdrawn(amount=0, currency="usd")
    with pytest.raises(UnbalancedJournal):
        rules.dispute_fee(fee=0, currency="usd")
