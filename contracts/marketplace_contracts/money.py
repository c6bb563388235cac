"""Shared field types: money is integer minor units plus an ISO 4217 currency. (The payment
processor's smallest and largest single charge per currency: domainkit.money.)"""

from typing import Annotated

from pydantic import Field

MinorUnits = Annotated[int, Field(ge=0, description="Amount in the currency's minor units.")]
Currency = Annotated[
    str,
    Field(
        pattern=r"^[a-z]{3}$", description="ISO 4217 currency code, lower case.", examples=["usd"]
    ),
]
