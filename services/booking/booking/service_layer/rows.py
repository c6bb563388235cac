"""A row's columns as the fields of an event or a view that bear the same names.

Events and views copy most columns as they are; ids (UUID) go out as text and times in ISO 8601.
Naming the columns once, instead of writing `name=row["name"]` for each, keeps the builders
to what differs from the row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

Row = Mapping[str, Any]


def columns(row: Row, names: str) -> dict[str, Any]:
    """The columns `names` (space-separated) of `row`, as they are."""
    return {name: row[name] for name in _split(names)}


def texts(row: Row, names: str) -> dict[str, str | None]:
    """The id or time columns `names` (space-separated) as text: a UUID as `str`, a time in
    ISO 8601; a null stays None."""
    return {name: _text(row[name]) for name in _split(names)}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)  # a datetime is a date


@cache
def _split(names: str) -> tuple[str, ...]:
    return tuple(names.split())  # once per builder: a view is built on every checkout
