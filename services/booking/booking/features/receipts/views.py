"""Receipts' read side: a receipt (as `service.get_for` returns it) as a printable page
(templates/receipt.html)."""

from __future__ import annotations

from typing import Any

from booking.entrypoints.pages import render

# Bank debits' pure rules (another feature's domain, which imports nothing back).
from booking.features.bank_debits.domain import US_BANK_ACCOUNT

RECEIPT_TITLES = {
    "payment": "Receipt",
    "extra_charge": "Receipt (extra charge)",
    "refund": "Refund",
}
CLAIM_TITLE = "Receipt (damage claim against the security deposit)"


def receipt_html(receipt: dict[str, Any]) -> str:
    """A receipt (as `service.get_for` returns it) as a printable page."""
    method = receipt["payment_method"]
    paid_with = f"{method.get('brand') or 'card'} ending {method.get('last4') or '----'}"
    if method.get("type") == US_BANK_ACCOUNT:  # a bank debit (ACH)
        paid_with = (
            f"{method.get('bank_name') or 'bank'} account ending {method.get('last4') or '----'}"
        )
    title = RECEIPT_TITLES[receipt["kind"]]
    if receipt["kind"] == "extra_charge" and any(
        line.get("code") == "deposit_claim" for line in receipt["lines"]
    ):
        title = CLAIM_TITLE
    return render(
        "receipt.html", receipt=receipt, title=title, method=paid_with, cur=receipt["currency"]
    )
