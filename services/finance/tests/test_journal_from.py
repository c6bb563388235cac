"""A rule's journal from a fact's fields of the same names; an unbalanced fact is poison."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eventkit.routing import PermanentError
from finance.domain.ledger import (
    PLATFORM_FEES,
    STRIPE_PENDING,
    TAX_PAYABLE,
    Share,
    guest_payment_split,
    guest_refund,
    host_payable,
)
from finance.service_layer.handlers import journal_from

REFUND = SimpleNamespace(
    refund_id="re_1",
    amount=10_000,
    platform_fee=1_500,
    host_amount=8_500,
    tax=300,
    host_account_id="acct_h",
    currency="usd",
    booking_id="b-1",  # a field the rule does not take: not given to it
)


def test_the_rule_gets_each_of_its_keywords_from_the_fact() -> None:
    journal = journal_from("refund re_1", guest_refund, REFUND)
    assert (journal.kind, journal.currency) == ("guest_refund", "usd")
    assert journal.postings == (
        (STRIPE_PENDING, -10_000),
        (PLATFORM_FEES, 1_200),
        (TAX_PAYABLE, 300),
        (host_payable("acct_h"), 8_500),
    )


def test_a_keyword_given_is_taken_instead_of_the_facts_field() -> None:
    fact = SimpleNamespace(amount=5_000, platform_fee=500, currency="usd", shares="not these")
    shares = [Share("acct_h", 5_000, 500, 4_500, 0)]
    journal = journal_from("payment p", guest_payment_split, fact, shares=shares)
    expected = guest_payment_split(amount=5_000, platform_fee=500, shares=shares, currency="usd")
    assert journal == expected


def test_a_fact_whose_journal_cannot_balance_is_a_permanent_error_naming_it() -> None:
    unbalanced = SimpleNamespace(**vars(REFUND) | {"host_amount": 1})
    with pytest.raises(PermanentError, match=r"^refund re_1: "):
        journal_from("refund re_1", guest_refund, unbalanced)
