"""Use cases of Linked Booking Groups: the checkout and the legs' outcomes (`checkout.py`),
payments' facts about the group's one payment (`payments.py`). The hold's timer is
`features/groups/timers.py`."""

from booking.features.groups.service.checkout import (
    CheckoutTimes,
    Failure,
    Groups,
    LegRequest,
    PlaceGroup,
    place_group,
)
from booking.features.groups.service.payments import GroupPayments

__all__ = [
    "CheckoutTimes",
    "Failure",
    "GroupPayments",
    "Groups",
    "LegRequest",
    "PlaceGroup",
    "place_group",
]
