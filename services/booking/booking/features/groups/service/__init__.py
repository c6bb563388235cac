"""Use cases of Linked Booking Groups: the checkout and the legs' outcomes (`checkout.py`),
payments' facts about the group's one payment and the hold's timer (`payments.py`)."""

from booking.features.groups.service.checkout import (
    GROUP_HOLD_EXPIRY,
    CheckoutTimes,
    Groups,
    LegRequest,
    PlaceGroup,
    place_group,
)
from booking.features.groups.service.payments import GroupPayments

__all__ = [
    "GROUP_HOLD_EXPIRY",
    "CheckoutTimes",
    "GroupPayments",
    "Groups",
    "LegRequest",
    "PlaceGroup",
    "place_group",
]
