"""Amounts as Stripe writes them in error messages, and proportional shares."""

from __future__ import annotations

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
_ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf"})


def money(amount: int, currency: str) -> str:
    """An amount as Stripe writes it in error messages: ``$1.00``, ``¥500``, ``10.00 CHF``."""
    text = str(amount) if currency in _ZERO_DECIMAL else f"{amount / 100:.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def share(part: int, of: int, total: int) -> int:
    """``part / of`` of ``total``, rounded half up."""
    return (2 * part * total + of) // (2 * of) if of else 0
