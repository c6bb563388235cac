"""Stripe's processing fees, US pricing (https://stripe.com/pricing): what a balance
transaction's ``fee`` and ``fee_details`` say Stripe kept.

- Cards: 2.9 % + 30¢ per successful charge.
- ACH Direct Debit (``us_bank_account``): 0.8 %, capped at $5.00.
- Disputes: $15.00 per dispute (``disputes.DISPUTE_FEE``).

Rounding, as Stripe's support article "What rules do you use for rounding Stripe fees?" states:
the fee is rounded to the nearest unit, halves up (0.025 → 0.03, 0.024 → 0.02); an ACH fee that
would round to 0 is 1 cent. The same numbers apply in every currency (the simulator does not
convert: a eur charge pays 2.9 % + 30 euro cents). Refunds cost nothing, and Stripe keeps the
fee of the refunded charge.
"""

from __future__ import annotations

from typing import Any

CARD_PERCENT_TENTHS = 29  # 2.9 % in tenths of a percent
CARD_FIXED = 30
ACH_PERCENT_TENTHS = 8  # 0.8 %
ACH_CAP = 500


def _percent(amount: int, tenths: int) -> int:
    """``amount`` × ``tenths`` / 1000, rounded half up (amounts are positive)."""
    return (amount * tenths * 2 + 1000) // 2000


def card_fee(amount: int) -> int:
    return _percent(amount, CARD_PERCENT_TENTHS) + CARD_FIXED


def ach_fee(amount: int) -> int:
    return min(ACH_CAP, max(1, _percent(amount, ACH_PERCENT_TENTHS)))


def processing_fee(amount: int, method_type: str) -> int:
    """The fee of a charge of ``amount`` paid with a payment method of ``method_type``."""
    return ach_fee(amount) if method_type == "us_bank_account" else card_fee(amount)


def stripe_fee_details(fee: int, currency: str, description: str) -> list[dict[str, Any]]:
    """``fee_details`` of a balance transaction: one ``stripe_fee`` line, none for no fee."""
    if fee == 0:
        return []
    return [
        {
            "amount": fee,
            "application": None,
            "currency": currency,
            "description": description,
            "type": "stripe_fee",
        }
    ]
