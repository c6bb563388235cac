"""Constrained field types every service's HTTP edge shares (docs/api-errors.md, "Input limits");
`eventkit.cli.cli_type` / `cli_model` hold a command line to the same types.

Text has a maximum length and no control characters but tabs and line breaks (PostgreSQL cannot
store NUL; nothing shows the others); integers are JSON integers only (`2.0`, `"2"` and `true`
are refused, not coerced) with bounds far inside int64; dates lie in the years 2000 to 2199.
A value outside them is refused with 422 `validation_failed` before any handler runs, so no
database error ever reaches a caller as a 500. The gateway's own types build on these
(booking/entrypoints/fields.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

# One line of text: no control characters (C0, DEL, C1).
SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Free text (reasons, notes, descriptions): tabs and line breaks, no other control characters.
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# Far below int64 (9.2e18), above every processor's single-charge ceiling (domainkit.money).
MAX_AMOUNT = 10**12
# A database id (bigserial) in a path or a cursor: at most int64's largest.
MAX_ROW_ID = 2**63 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2199


def bounded_text(max_length: int, min_length: int = 0) -> StringConstraints:
    """Free text of `min_length` to `max_length` characters (MULTI_LINE)."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=MULTI_LINE)


def one_line(max_length: int, min_length: int = 0) -> StringConstraints:
    """One line of `min_length` to `max_length` characters (SINGLE_LINE)."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=SINGLE_LINE)


Note = Annotated[str, bounded_text(2000)]
RequiredNote = Annotated[str, bounded_text(2000, min_length=1)]
Currency = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{3}$"), Field(description="ISO 4217, lower case.")
]
# A JSON integer of minor units; `SignedAmount` for a difference, which may be negative.
Amount = Annotated[int, Strict(), Field(ge=0, le=MAX_AMOUNT, description="Minor units.")]
SignedAmount = Annotated[
    int, Strict(), Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="Minor units.")
]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


def _sane_date(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a date between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _sane_instant(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"a time between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


BusinessDate = Annotated[
    date,
    AfterValidator(_sane_date),
    Field(description=f"ISO 8601 date, years {FIRST_YEAR} to {LAST_YEAR}."),
]


def _not_a_number(value: object) -> object:
    # Lax parsing reads a JSON number as Unix seconds; a time here is ISO 8601 with its offset.
    if isinstance(value, int | float):
        raise ValueError("an ISO 8601 time with its UTC offset, not a number")
    return value


BoundedInstant = Annotated[
    AwareDatetime,
    BeforeValidator(_not_a_number),
    AfterValidator(_sane_instant),
    Field(description=f"ISO 8601 with a UTC offset, years {FIRST_YEAR} to {LAST_YEAR}."),
]


class RequestBody(BaseModel):
    """A request body: a field it does not declare is refused (422 `validation_failed`), not
    silently dropped (a misspelt field would otherwise leave its default to act)."""

    model_config = ConfigDict(extra="forbid")
