"""The console's claim form: what staff type, in major units, to the minor units charged."""

from __future__ import annotations

import pytest

from ops.entrypoints.console_trust_bookings import minor_units


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("12.50", "usd", 1250), ("12.50", "EUR", 1250), ("500", "jpy", 500), ("500", "KRW", 500)],
)
def test_a_typed_amount_is_the_currencys_minor_units(typed: str, currency: str, minor: int) -> None:
    assert minor_units(typed, currency) == minor


@pytest.mark.parametrize("typed", ["abc", "", "inf", "-inf", "1e400", "nan"])
def test_what_is_not_a_finite_number_is_refused(typed: str) -> None:
    with pytest.raises((ValueError, OverflowError)):
        minor_units(typed, "usd")
