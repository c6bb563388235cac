"""An extra charge of a confirmed booking: an accepted amendment that costs more, or overtime.

Booking asks for it with `booking.charge_requested`, naming the booking's checkout payment: its
customer and the card saved with it are charged off-session. The charge is a payment of its own
(`charge_payment_id`, purpose `charge:<charge_request_id>`), captured at once, and paid out like
every payment: a separate charge without destination or application fee, of the transfer group
of the booking (a single booking's id, a group leg's group id); finance releases the host's
share as a transfer. Also the extra charge of a booking whose checkout was a destination charge
(made before separate charges replaced them): the charge is a payment of its own. It is an
`extra_charge`, or a `deposit_claim` when booking asks for a damage claim (`payment_purpose`).

A request that cannot be charged (no such payment, a payment that does not pay for the booking,
another currency, amounts that do not add up, no card saved) is refused with a machine-readable
code before any Stripe call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from domainkit.rows import from_attrs
from payments.domain.checkout import DEPOSIT_CLAIM, EXTRA_CHARGE, Split, with_group
from payments.domain.ids import charge_payment_id
from payments.domain.refusals import PAYMENT_NOT_FOUND, Refused

# Refusal codes (payment_failed `code`; Stripe's own codes pass through unchanged).
INVALID_CHARGE_REQUEST: Final = "invalid_charge_request"
NO_SAVED_PAYMENT_METHOD: Final = "no_saved_payment_method"
DEPOSIT_CLAIM_REASON: Final = "deposit_claim"
"""`booking.charge_requested` `reason` of a damage claim against a security deposit."""


class ChargeRefused(Refused):
    """The extra charge cannot be made as asked: answer payment_failed now (no retry helps)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeTerms:
    """What an extra charge asks for, as booking asked it: the money, the host, the reason."""

    amount: int
    currency: str
    platform_fee: int
    tax: int
    host_account_id: str
    reason: str
    subject_id: str | None = None
    """The amendment or claim the charge pays for, as booking named it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeRequest(ChargeTerms):
    """The command: charge a booking's saved card off-session (`booking.charge_requested`,
    mapped by the subscriber)."""

    charge_request_id: str
    booking_id: str
    group_id: str | None
    payment_id: str
    """The booking's checkout payment: whose customer and card to use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtraCharge(ChargeTerms):
    """One charge request, with what its booking's checkout payment lends it."""

    charge_request_id: str
    booking_id: str
    group_id: str | None
    source_payment_id: str
    guest_id: str
    customer_id: str
    payment_method: str

    @property
    def payment_id(self) -> str:
        return charge_payment_id(self.charge_request_id)

    @property
    def purpose(self) -> str:
        return f"charge:{self.charge_request_id}"

    @property
    def payment_purpose(self) -> str:
        return DEPOSIT_CLAIM if self.reason == DEPOSIT_CLAIM_REASON else EXTRA_CHARGE

    @property
    def transfer_group(self) -> str:
        """The group's transfer group for a group leg, else the booking's."""
        return self.group_id or self.booking_id

    @property
    def split(self) -> Split:
        return Split(
            self.booking_id, self.host_account_id, self.amount, self.platform_fee, self.tax
        )

    @property
    def stripe_metadata(self) -> dict[str, str]:
        metadata = {
            "booking_id": self.booking_id,
            "payment_id": self.payment_id,
            "charge_request_id": self.charge_request_id,
            "reason": self.reason,
        }
        return with_group(metadata, self.group_id)


def charge_purpose(event: ChargeRequest) -> str:
    """`deposit_claim` for a damage claim, else `extra_charge` (amendment, overtime, ...)."""
    return DEPOSIT_CLAIM if event.reason == DEPOSIT_CLAIM_REASON else EXTRA_CHARGE


def plan_charge(event: ChargeRequest, source: Any | None) -> ExtraCharge:
    """The charge to make for `event` with `source`, the booking's checkout payment (a
    `payments.payments` row, or None if there is none). Raises ChargeRefused."""
    what = f"charge request {event.charge_request_id}"
    if event.amount <= 0:
        raise ChargeRefused(INVALID_CHARGE_REQUEST, f"{what}: nothing to charge ({event.amount})")
    if not 0 <= event.tax <= event.platform_fee <= event.amount:
        raise ChargeRefused(
            INVALID_CHARGE_REQUEST,
            f"{what}: platform fee {event.platform_fee} (tax {event.tax}) does not fit in "
            f"{event.amount}",
        )
    if source is None:
        raise ChargeRefused(PAYMENT_NOT_FOUND, f"{what}: payment {event.payment_id} not found")
    if source["currency"] != event.currency:
        raise ChargeRefused(
            INVALID_CHARGE_REQUEST,
            f"{what} is in {event.currency}, payment {event.payment_id} in {source['currency']}",
        )
    group_id = source["group_id"]
    if event.group_id is not None and event.group_id != group_id:
        raise ChargeRefused(
            INVALID_CHARGE_REQUEST,
            f"{what}: payment {event.payment_id} is not group {event.group_id}'s payment",
        )
    if event.booking_id not in _bookings_of(source):
        raise ChargeRefused(
            INVALID_CHARGE_REQUEST,
            f"{what}: payment {event.payment_id} does not pay for booking {event.booking_id}",
        )
    customer, card = source["customer_id"], source["saved_payment_method"]
    if not customer or not card:
        raise ChargeRefused(
            NO_SAVED_PAYMENT_METHOD,
            f"{what}: payment {event.payment_id} saved no card to charge off-session",
        )
    return from_attrs(
        ExtraCharge,
        event,
        group_id=group_id,
        source_payment_id=event.payment_id,
        guest_id=source["guest_id"],
        customer_id=customer,
        payment_method=card,
    )


def _bookings_of(source: Any) -> set[str]:
    """The bookings a checkout payment pays for: its booking, or its group's legs."""
    if source["group_id"] is None:
        return {source["booking_id"]}
    return {split["booking_id"] for split in source["splits"] or ()}
