"""Use cases of Linked Booking Groups, each on booking's unit of work: the checkout
(`checkout.py`), the legs' outcomes and the steps every use case shares (`legs.py`), payments'
facts about the group's one payment and the hold's end (`payments.py`). The hold's timer is
`features/groups/timers.py`."""

from booking.features.groups.service.checkout import (
    CheckoutTimes,
    LegRequest,
    PlaceGroup,
    place_group,
)
from booking.features.groups.service.legs import Failure, leg_accepted, leg_failed, leg_signed
from booking.features.groups.service.payments import GroupPayments

__all__ = [
    "CheckoutTimes",
    "Failure",
    "GroupPayments",
    "LegRequest",
    "PlaceGroup",
    "leg_accepted",
    "leg_failed",
    "leg_signed",
    "place_group",
]
