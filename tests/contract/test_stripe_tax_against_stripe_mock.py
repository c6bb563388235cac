"""The Stripe Tax adapter's calculation request, checked by Stripe's own stripe-mock: the
parameters the real API would reject are caught here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from booking.adapters.tax import StripeTax, TaxTable, address_of
from booking.domain.quote import ExtraPrice, ExtraUnit, LineKind, Pricing, quote
from tests.contract.test_stripe_gateway_against_stripe_mock import API_KEY, stripe_mock_base

__all__ = ["stripe_mock_base"]
pytestmark = pytest.mark.stripe_mock
START = datetime(2030, 1, 1, 10, tzinfo=UTC)
QUOTE = quote(
    Pricing(
        "usd",
        6_000,
        cleaning_fee=3_500,
        guest_service_fee_bps=1000,
        extras={"lights": ExtraPrice("lights", "Lights", ExtraUnit.PER_BOOKING, 2_500)},
    ),
    START,
    START + timedelta(hours=2),
    extras={"lights": 1},
)


@pytest.fixture
async def stripe_tax(stripe_mock_base: str) -> AsyncIterator[StripeTax]:
    adapter = StripeTax(API_KEY, stripe_mock_base)
    yield adapter
    await adapter.close()


async def test_stripe_mock_accepts_the_calculation_request(stripe_tax: StripeTax) -> None:
    taxes, version = await stripe_tax.taxes(None, QUOTE, "us-ny-nyc")  # type: ignore[arg-type]
    assert version.startswith("stripe_tax:taxcalc_")
    assert set(taxes) == set(QUOTE.taxable())  # one answer per tax code asked about
    assert all(amount >= 0 for amount in taxes.values())
    taxed = QUOTE.with_taxes({"space_rental": 1_050}, version)
    assert [line.amount for line in taxed.lines if line.kind is LineKind.TAX] == [1_050]
    assert taxed.total == QUOTE.total + 1_050


def test_jurisdictions_become_addresses() -> None:
    assert address_of("us-ny-nyc") == {"country": "US", "state": "NY", "city": "nyc"}
    assert address_of("fr") == {"country": "FR"}
    assert isinstance(TaxTable(), TaxTable)
