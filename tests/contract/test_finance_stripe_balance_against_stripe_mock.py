"""Finance's read of Stripe's balance (`SdkStripeBalance`) against stripe-mock: the requests
validate against Stripe's OpenAPI spec and the answers parse into the domain's shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from finance.adapters.stripe_balance import SdkStripeBalance
from tests.contract.test_stripe_gateway_against_stripe_mock import (  # noqa: F401 (fixture)
    API_KEY,
    stripe_mock_base,
)

pytestmark = [
    pytest.mark.stripe_mock,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture
async def balance(stripe_mock_base: str) -> AsyncIterator[SdkStripeBalance]:  # noqa: F811
    adapter = SdkStripeBalance(API_KEY, stripe_mock_base)
    yield adapter
    await adapter.close()


async def test_balance_transactions_list_with_a_created_filter(balance: SdkStripeBalance) -> None:
    found = [bt async for bt in balance.list_since(datetime(2009, 1, 1, tzinfo=UTC))]
    assert found, "stripe-mock answers its fixture transaction"
    bt = found[0]
    assert bt.txn_id.startswith("txn_") and bt.source and bt.source.startswith("ch_")
    assert bt.net == bt.amount - bt.fee
    assert bt.status in ("pending", "available") and bt.created.tzinfo is not None


async def test_the_balance_parses_per_currency(balance: SdkStripeBalance) -> None:
    found = await balance.balance()
    assert set(found["usd"]) == {"pending", "available"}
