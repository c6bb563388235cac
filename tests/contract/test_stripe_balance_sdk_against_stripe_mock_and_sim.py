"""Contract: the calls finance makes with the official ``stripe`` SDK to read the platform's
balance, balance transactions and payouts (and the expansions that show a payment's balance
transaction) are valid requests for Stripe's OpenAPI spec (stripe-mock) AND answered by the
simulator: the same SDK calls, run against both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from stripesim import create_app
from stripesim.testing import serve
from tests.contract.test_stripe_gateway_against_stripe_mock import API_KEY, stripe_mock_base

__all__ = ["stripe_mock_base"]
pytestmark = [
    pytest.mark.stripe_mock,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture(params=["stripe-mock", "stripesim"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, stripe_mock_base: str
) -> Iterator[str]:
    """The global SDK pointed at stripe-mock, or at the simulator (funds available at once, so
    a payout can be made); the backend's name."""
    monkeypatch.setattr(stripe, "api_key", API_KEY)
    if request.param == "stripe-mock":
        monkeypatch.setattr(stripe, "api_base", stripe_mock_base)
        yield request.param
        return
    with serve(create_app(available_delay_seconds=0, automatic_payouts=False)) as base_url:
        monkeypatch.setattr(stripe, "api_base", base_url)
        yield request.param


def _id(value: Any) -> str:
    return value if isinstance(value, str) else str(value.id)


def test_finance_reads_balance_transactions_and_payouts(backend: str) -> None:
    pi = stripe.PaymentIntent.create(
        amount=20_000,
        currency="usd",
        payment_method="pm_card_visa",
        confirm=True,
        expand=["latest_charge.balance_transaction"],
    )
    again = stripe.PaymentIntent.retrieve(pi.id, expand=["latest_charge.balance_transaction"])
    charge = stripe.Charge.retrieve(_id(again.latest_charge), expand=["balance_transaction"])
    assert charge.object == "charge"
    if backend == "stripesim":  # stripe-mock's fixtures do not tie objects together
        assert charge.balance_transaction.source == charge.id
        assert again.latest_charge.balance_transaction.fee == 610

    balance = stripe.Balance.retrieve()
    assert balance.object == "balance"
    assert all(isinstance(a.amount, int) for a in [*balance.available, *balance.pending])

    page = stripe.BalanceTransaction.list(created={"gte": 0}, limit=100)
    assert page.data and all(bt.object == "balance_transaction" for bt in page.data)
    first = page.data[0]
    nxt = stripe.BalanceTransaction.list(created={"gte": 0}, limit=100, starting_after=first.id)
    assert isinstance(nxt.data, list)
    stripe.BalanceTransaction.list(created={"gt": 0, "lte": 4_000_000_000}, limit=10)
    stripe.BalanceTransaction.list(type="charge", currency="usd", source=charge.id, limit=10)
    found = stripe.BalanceTransaction.retrieve(first.id)
    assert (found.object, isinstance(found.net, int)) == ("balance_transaction", True)

    payout = stripe.Payout.create(amount=1_000, currency="usd")
    assert stripe.Payout.retrieve(payout.id).object == "payout"
    listed = stripe.Payout.list(limit=10)
    assert listed.data and all(p.object == "payout" for p in listed.data)
    stripe.Payout.list(limit=10, status="pending", created={"gte": 0})
    if backend == "stripesim":
        assert [p.id for p in listed.data] == [payout.id]
        assert stripe.Balance.retrieve().available[0].amount == 20_000 - 610 - 1_000
    # What an automatic payout paid out (Stripe refuses the filter for a manual payout).
    if backend == "stripe-mock":
        stripe.BalanceTransaction.list(payout=payout.id, limit=100)
    else:
        with pytest.raises(stripe.InvalidRequestError, match="automatic transfers"):
            stripe.BalanceTransaction.list(payout=payout.id, limit=100)
