"""Constrained field types of the gateway's request bodies, parameters and headers.

Everything a client sends is bounded here, at the edge, and documented in OpenAPI: strings
have a maximum length and no control characters (PostgreSQL refuses NUL; nothing shows the
others), counts and amounts are integers (a float or a numeric string is refused, not rounded)
with an upper bound far below int64, and times are aware and within the years 2000-2199 (an
offset at year 9999 cannot even be converted to UTC). Refusals are 422 `validation_failed`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field, Strict, StringConstraints

from eventkit.fields import MAX_AMOUNT, SINGLE_LINE, BoundedInstant, bounded_text
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN

# Ids clients name (listings, guests, payment methods, extras): printable ASCII without spaces.
IDENT = ID_PATTERN

Ident = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=IDENT)]
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=IDENT)]
PaymentMethodId = Annotated[
    str,
    StringConstraints(min_length=3, max_length=255, pattern=IDENT),
    Field(description="Stripe PaymentMethod id. Test ids: pm_card_visa, pm_card_chargeDeclined."),
]
ExtraCode = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=IDENT)]


Reason = Annotated[str, bounded_text(500)]
Note = Annotated[str, bounded_text(2000)]
Description = Annotated[str, bounded_text(5000, min_length=1)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=SINGLE_LINE)]

# A JSON integer only: 2.0, "2" and true are refused rather than coerced.
Guests = Annotated[int, Strict(), Field(ge=1, le=1000)]
ExtraQuantity = Annotated[int, Strict(), Field(ge=1, le=100)]
Extras = Annotated[
    dict[ExtraCode, ExtraQuantity],
    Field(
        max_length=20,
        description="Listing extras to book: code -> quantity 1 to 100 (per-hour and per-guest "
        "extras take their quantity from the time and the guests; give 1).",
        examples=[{"lights": 1}],
    ),
]
# MAX_AMOUNT (eventkit.fields): the per-currency ceiling (422 `amount_too_large`,
# domainkit.money) is checked where the currency is known.
Amount = Annotated[int, Strict(), Field(ge=1, le=MAX_AMOUNT, description="Minor units.")]


# Aware, in the years 2000-2199 (an offset at year 9999 cannot even be converted to UTC).
Instant = BoundedInstant
