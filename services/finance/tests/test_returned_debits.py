"""A bank debit returned after its host was paid: the journals that take the host's share back
leave the host payable at zero and move the Stripe balance only as Stripe did."""

from collections import Counter

import pytest

from finance.domain.host_journals import penalty_receivable, recovered
from finance.domain.ledger import (
    STRIPE_PENDING,
    Journal,
    Share,
    UnbalancedJournal,
    guest_payment_split,
    host_payable,
    host_receivable,
)
from finance.domain.payouts import (
    debit_return_recovery,
    debit_return_reversal_failed,
    debit_return_reversed,
    host_transfer,
    payment_returned,
    return_recovery,
)

HOST = "acct_1"
RECOVERY = f"asset:dispute_recovery:{HOST}"


def totals(*journals: Journal) -> Counter[str]:
    found: Counter[str] = Counter()
    for journal in journals:
        for account, amount in journal.postings:
            found[account] += amount
    return found


def paid_then_returned(netted: int = 0) -> list[Journal]:
    """10 000 captured (1 500 fee), the host paid 8 500 (`netted` of it recovered a penalty
    the host owed), the debit returned."""
    journals = [
        guest_payment_split(
            amount=10_000,
            platform_fee=1_500,
            shares=[Share(HOST, 10_000, 1_500, 8_500)],
            currency="usd",
        ),
        host_transfer(amount=8_500 - netted, host_account_id=HOST, currency="usd"),
        payment_returned(
            amount=10_000, platform_fee=1_500, tax=0, host_account_id=HOST, currency="usd"
        ),
    ]
    if netted:
        journals += [
            penalty_receivable(penalty=netted, host_account_id=HOST, currency="usd"),
            recovered(amount=netted, host_account_id=HOST, currency="usd"),
        ]
    return journals


def test_the_return_alone_leaves_the_paid_host_owing_on_its_payable() -> None:
    assert totals(*paid_then_returned())[host_payable(HOST)] == 8_500


def test_a_reversed_transfer_empties_the_payable_and_gives_stripe_its_share_back() -> None:
    recovery = return_recovery(reversible=8_500, netted=0)
    books = [
        *paid_then_returned(),
        debit_return_recovery(recovery, host_account_id=HOST, currency="usd"),
        debit_return_reversed(amount=8_500, host_account_id=HOST, currency="usd"),
    ]
    final = totals(*books)
    assert final[host_payable(HOST)] == 0
    assert final[RECOVERY] == 0
    # Stripe: +10 000 captured, -8 500 transferred, -10 000 returned, +8 500 reversed
    assert final[STRIPE_PENDING] == 0


def test_a_failed_reversal_and_a_netted_payout_are_owed_by_the_host() -> None:
    recovery = return_recovery(reversible=6_500, netted=2_000)
    assert (recovery.reverse, recovery.owed, recovery.share) == (6_500, 2_000, 8_500)
    journal = debit_return_recovery(recovery, host_account_id=HOST, currency="usd")
    failed = debit_return_reversal_failed(amount=6_500, host_account_id=HOST, currency="usd")
    final = totals(*paid_then_returned(netted=2_000), journal, failed)
    assert final[host_payable(HOST)] == 0
    assert final[RECOVERY] == 0
    assert final[host_receivable(HOST)] == 8_500
    assert final[STRIPE_PENDING] == -6_500  # what the host kept


def test_nothing_to_recover_is_no_journal() -> None:
    with pytest.raises(UnbalancedJournal):
        debit_return_recovery(
            return_recovery(reversible=-5, netted=0), host_account_id=HOST, currency="usd"
        )
    with pytest.raises(UnbalancedJournal):
        debit_return_reversed(amount=0, host_account_id=HOST, currency="usd")
