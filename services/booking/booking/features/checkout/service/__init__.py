"""The checkout's use cases (a package: they pass ~400 lines together): placing one leg
(`place`, with what a new booking row is made of in `leg_terms`), and the payment's answers to
it: money secured (`secured`) and a 3-D Secure step (`card_actions`), each on booking's unit of
work (its SQL through `uow.checkout`; pricing and the lifecycle's events, kernel modules, on
the same unit). Other features and the kernel's dispatch import them from here (and
`checkout_requested`, from `messages`)."""

from booking.features.checkout.messages import checkout_requested
from booking.features.checkout.service.card_actions import on_payment_action_required
from booking.features.checkout.service.place import (
    AUTHORIZATION_HORIZON,
    CREATE_ENVELOPE,
    DEFAULT_BANK_DEBIT_LEAD,
    PlaceBooking,
    hold_slot,
    new_leg,
    place_booking,
    request_payment,
    request_signatures,
)
from booking.features.checkout.service.secured import Secured, checkout_charged, payment_secured

__all__ = [
    "AUTHORIZATION_HORIZON",
    "CREATE_ENVELOPE",
    "DEFAULT_BANK_DEBIT_LEAD",
    "PlaceBooking",
    "Secured",
    "checkout_charged",
    "checkout_requested",
    "hold_slot",
    "new_leg",
    "on_payment_action_required",
    "payment_secured",
    "place_booking",
    "request_payment",
    "request_signatures",
]
