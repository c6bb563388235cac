"""HTML pages for people (receipts, the built-in signer's page), rendered from Jinja2 templates
in `booking/templates` with autoescaping: every value shown is escaped by the template engine."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from booking.features.bank_debits.domain import US_BANK_ACCOUNT

RECEIPT_TITLES = {
    "payment": "Receipt",
    "extra_charge": "Receipt (extra charge)",
    "refund": "Refund",
}
CLAIM_TITLE = "Receipt (damage claim against the security deposit)"


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("booking", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def receipt_html(receipt: dict[str, Any]) -> str:
    """A receipt (as `receipts.get_for` returns it) as a printable page."""
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
