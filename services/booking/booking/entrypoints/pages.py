"""HTML pages for people (receipts, the built-in signer's page), rendered from Jinja2 templates
with autoescaping: every value shown is escaped by the template engine. The shared layout
(`base.html`) is in `booking/templates`; each feature's pages are in its own
`features/<feature>/templates`."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

# The packages whose `templates/` folder holds pages (names are unique across them).
TEMPLATES = ("booking", "booking.features.documents", "booking.features.receipts")


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader(package, "templates") for package in TEMPLATES]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
