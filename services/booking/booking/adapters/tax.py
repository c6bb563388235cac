"""Tax adapters: one contract, two providers.

`taxes(quote, jurisdiction)` answers the tax per tax code of a quote's taxable lines and a
version label recorded on the quote (which table rows, or which provider calculation).

- `TaxTable` (the default): rates per jurisdiction and tax code in booking's database,
  versioned (`booking.tax_rates`); each line is taxed on its own, half up, then summed.
- `StripeTax`: Stripe Tax calculations through the official SDK (`tax.calculations`), one line
  item per tax code, for platforms registered with Stripe Tax.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

import stripe

from booking.domain.quote import Quote, share
from eventkit import stripe_metrics

STRIPE_API_VERSION = "2026-10-28.endive"


class TaxRates(Protocol):
    """Where the table's rates are read (the unit of work's `BookingsRepository`)."""

    async def tax_rates(self, jurisdiction: str) -> tuple[dict[str, int], str]: ...


class TaxAdapter(Protocol):
    async def taxes(
        self, source: TaxRates, quote: Quote, jurisdiction: str
    ) -> tuple[dict[str, int], str]: ...


class TaxTable:
    async def taxes(
        self, source: TaxRates, quote: Quote, jurisdiction: str
    ) -> tuple[dict[str, int], str]:
        rates, version = await source.tax_rates(jurisdiction)
        out: dict[str, int] = {}
        for line in quote.lines:
            if line.tax_code is not None:
                out[line.tax_code] = out.get(line.tax_code, 0) + share(
                    line.amount, rates.get(line.tax_code, 0)
                )
        return out, version


# Our tax codes -> Stripe product tax codes.
STRIPE_TAX_CODES: Mapping[str, str] = {
    "space_rental": "txcd_20030000",  # general services
    "extras": "txcd_99999999",  # general tangible goods
    "cleaning": "txcd_20030000",
    "labour": "txcd_20030000",
    "service_fee": "txcd_10000000",
}


def address_of(jurisdiction: str) -> dict[str, str]:
    """`us-ny-nyc` -> the address Stripe Tax needs (country, state, and a city if given)."""
    parts = jurisdiction.split("-")
    address = {"country": parts[0].upper()}
    if len(parts) > 1:
        address["state"] = parts[1].upper()
    if len(parts) > 2:
        address["city"] = parts[2]
    return address


class StripeTax:
    def __init__(
        self,
        api_key: str,
        api_base: str,
        *,
        postal_codes: Mapping[str, str] | None = None,
    ) -> None:
        self._http = stripe_metrics.http_client("booking")
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            stripe_version=STRIPE_API_VERSION,
            http_client=self._http,
            max_network_retries=2,
        )
        self.postal_codes = dict(postal_codes or {"us-ny-nyc": "10001"})

    async def taxes(
        self, source: TaxRates, quote: Quote, jurisdiction: str
    ) -> tuple[dict[str, int], str]:
        taxable = quote.taxable()
        if not taxable:
            return {}, "stripe_tax:none"
        address = address_of(jurisdiction)
        if jurisdiction in self.postal_codes:
            address["postal_code"] = self.postal_codes[jurisdiction]
        calculation = await self._client.v1.tax.calculations.create_async(
            params={
                "currency": quote.currency,
                "line_items": [
                    {
                        "amount": amount,
                        "reference": code,
                        "tax_code": STRIPE_TAX_CODES.get(code, "txcd_99999999"),
                        "tax_behavior": "exclusive",
                    }
                    for code, amount in sorted(taxable.items())
                ],
                "customer_details": {"address": cast(Any, address), "address_source": "billing"},
                "expand": ["line_items"],
            }
        )
        out = {code: 0 for code in taxable}
        items = calculation.line_items.data if calculation.line_items else []
        for item in items:
            if item.reference in out:
                out[item.reference] = item.amount_tax
        return out, f"stripe_tax:{calculation.id}"

    async def close(self) -> None:
        await self._http.close_async()
