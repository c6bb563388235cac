"""The console shows minor units as major units with the currency, zero-decimal ones as is."""

from __future__ import annotations

import pytest

from ops.entrypoints.console_finance import money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (123456, "usd", "1,234.56 USD"),
        (5, "eur", "0.05 EUR"),
        (-1200, "usd", "-12.00 USD"),
        (500, "jpy", "500 JPY"),
        (None, "usd", "—"),
    ],
)
def test_minor_units_read_as_money(amount: int | None, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown
