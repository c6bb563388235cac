"""The payment processor's smallest and largest single charge per currency (pure data).

A fact about the processor that booking's domain checks before it holds or asks for anything,
and payments' Stripe adapter before it calls: one table, in the package every domain may
import (a domain imports no wire contracts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChargeLimits:
    """The smallest and largest single charge the payment processor takes, in minor units."""

    minimum: int
    maximum: int

    def refusal(self, amount: int) -> str | None:
        """`amount_too_small`, `amount_too_large`, or None when a charge of `amount` is fine."""
        if amount < self.minimum:
            return AMOUNT_TOO_SMALL
        if amount > self.maximum:
            return AMOUNT_TOO_LARGE
        return None


AMOUNT_TOO_SMALL = "amount_too_small"
AMOUNT_TOO_LARGE = "amount_too_large"
# Stripe takes amounts of at most eight digits in minor units (99999999: $999,999.99 in usd) and
# refuses charges below a minimum per currency (docs.stripe.com/currencies, "Minimum and maximum
# charge amounts"). One table for every service (a fact about the processor, so it sits with the
# shared money types rather than in one service): booking refuses a checkout, quote, invite,
# amendment or claim that could not be charged before it holds or asks for anything, so no
# guest is told "accepted" for a charge Stripe would then refuse.
STRIPE_MAX_AMOUNT = 99_999_999
CHARGE_LIMITS: dict[str, ChargeLimits] = {
    "usd": ChargeLimits(50, STRIPE_MAX_AMOUNT),
    "eur": ChargeLimits(50, STRIPE_MAX_AMOUNT),
    "cad": ChargeLimits(50, STRIPE_MAX_AMOUNT),
    "aud": ChargeLimits(50, STRIPE_MAX_AMOUNT),
    "chf": ChargeLimits(50, STRIPE_MAX_AMOUNT),
    "gbp": ChargeLimits(30, STRIPE_MAX_AMOUNT),
    "jpy": ChargeLimits(50, STRIPE_MAX_AMOUNT),  # zero-decimal: ¥50 to ¥99,999,999
}
# A currency missing from the table: the eight-digit ceiling, and at least one minor unit.
DEFAULT_CHARGE_LIMITS = ChargeLimits(1, STRIPE_MAX_AMOUNT)


def charge_limits(currency: str) -> ChargeLimits:
    return CHARGE_LIMITS.get(currency.lower(), DEFAULT_CHARGE_LIMITS)
