"""Events produced by the disputes service on `disputes.events`, keyed by dispute id."""

from typing import ClassVar

from pydantic import Field

from marketplace_contracts.envelope import EventModel


class PayoutHoldChangedV1(EventModel):
    """A dispute opened (`held`) or closed (not `held`) on a charge: finance holds, or stops
    holding, the payouts of what the charge paid for (every booking of `payment_id`; of
    `booking_id` only when given). Each dispute is its own hold reason (`dispute:<id>`), so
    two disputes on one charge both have to close."""

    TYPE: ClassVar[str] = "disputes.payout_hold_changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "disputes.events"

    dispute_id: str = Field(examples=["dp_1Abc"])
    payment_id: str
    charge_id: str | None = Field(default=None, examples=["ch_1Abc"])
    booking_id: str | None = None
    host_account_id: str | None = None
    held: bool
    reason: str = Field(default="", examples=["fraudulent", "product_not_received", "won", "lost"])
