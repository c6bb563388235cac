"""What payments is asked to take, whichever way it was asked: one booking's checkout, or one
payment for every leg of a Linked Booking Group.

Both requests become a `Checkout`, so authorizing, saving a card and recording the outcome run
the same code. Every payment is a separate charge: it has no destination and no application fee,
the platform keeps the funds, and finance releases each host's share as a transfer of the
payment's `transfer_group` (the booking id of a single booking, the group id of a group), so a
host is paid when the business says (after the stay starts), not when Stripe captures. A group's
payment remembers every leg's `Split`.

Single bookings were destination charges before (Stripe paid the host at capture); their
payment rows have no `transfer_group`, and everything done to them later (a capture, a refund,
a charge of their saved card, a renewal) still treats them as destination charges: see
`is_destination_charge`, which decides from the stored row, never from configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from payments.domain.ids import checkout_payment_id

# What a payment is for (`payments.payment_purpose`, the `purpose` of payment_captured and
# payment_failed). Finance routes on it, never on the shape of an id.
CHECKOUT: Final = "checkout"
GROUP_CHECKOUT: Final = "group_checkout"
EXTRA_CHARGE: Final = "extra_charge"
DEPOSIT_CLAIM: Final = "deposit_claim"

# `payments.payments.payment_method_type`: a card, or an ACH Direct Debit.
CARD: Final = "card"
US_BANK_ACCOUNT: Final = "us_bank_account"


class InvalidCheckout(ValueError):
    """The request cannot be paid as it is (its legs do not add up to its total, ...)."""

    code = "invalid_checkout"


@dataclass(frozen=True, slots=True)
class Split:
    """What one booking contributed to a payment and which host account it owes; `tax` is the
    part of the platform fee that is tax."""

    booking_id: str
    host_account_id: str
    amount: int
    platform_fee: int
    tax: int = 0

    def __post_init__(self) -> None:
        if self.amount < 0 or not 0 <= self.platform_fee <= self.amount:
            raise InvalidCheckout(
                f"split of {self.booking_id}: platform fee {self.platform_fee} is not within "
                f"0..{self.amount}"
            )
        if not 0 <= self.tax <= self.platform_fee:
            raise InvalidCheckout(
                f"split of {self.booking_id}: tax {self.tax} is not within "
                f"0..{self.platform_fee} (the platform fee)"
            )

    @property
    def host_amount(self) -> int:
        return self.amount - self.platform_fee


@dataclass(frozen=True, slots=True)
class Checkout:
    payment_id: str
    booking_id: str
    """The booking, or for a group the group id (what payment events carry as `booking_id`)."""
    group_id: str | None
    guest_id: str
    amount: int
    currency: str
    platform_fee: int
    payment_method: str
    save_for_later: bool
    host_account_id: str | None
    """The single booking's host; None for a group (its splits name the hosts)."""
    splits: tuple[Split, ...] = ()
    """A group's legs; empty for a single booking."""
    tax: int = 0
    """Part of `platform_fee` that is tax (a group's: its legs' taxes)."""
    deposit_amount: int = 0
    """Security deposit of a single booking: its card is saved with a SetupIntent first."""
    payment_method_type: str = CARD
    """`us_bank_account`: an ACH Direct Debit (see `service_layer/bank_debits`)."""
    mandate: tuple[str, str] | None = None
    """A bank debit's online mandate acceptance: the guest's IP address and user agent."""
    capture_at_checkout: bool = False
    """A single Instant Book's card: charged at once (automatic capture), not authorized."""

    def __post_init__(self) -> None:
        if not 0 <= self.tax <= self.platform_fee:
            raise InvalidCheckout(
                f"payment {self.payment_id}: tax {self.tax} is not within 0..{self.platform_fee} "
                "(the platform fee)"
            )

    @property
    def transfer_group(self) -> str:
        """The group's id, or the single booking's: what its hosts' transfers are made of."""
        return self.group_id or self.booking_id

    @property
    def purpose(self) -> str:
        return GROUP_CHECKOUT if self.group_id is not None else CHECKOUT

    @property
    def stripe_metadata(self) -> dict[str, str]:
        return stripe_metadata(self.payment_id, self.booking_id, self.group_id)

    @classmethod
    def for_group(
        cls,
        *,
        group_id: str,
        guest_id: str,
        amount: int,
        currency: str,
        platform_fee: int,
        payment_method: str,
        save_for_later: bool,
        splits: tuple[Split, ...],
    ) -> Checkout:
        """A group's one payment for its legs' `splits`. Raises InvalidCheckout when the legs
        do not add up to the group's totals."""
        if len({s.booking_id for s in splits}) != len(splits):
            raise InvalidCheckout(f"group {group_id}: a leg appears twice")
        check_splits(splits, amount=amount, platform_fee=platform_fee)
        return cls(
            payment_id=checkout_payment_id(group_id),
            booking_id=group_id,
            group_id=group_id,
            guest_id=guest_id,
            amount=amount,
            currency=currency,
            platform_fee=platform_fee,
            payment_method=payment_method,
            save_for_later=save_for_later,
            host_account_id=None,
            splits=splits,
            tax=sum(s.tax for s in splits),
        )


def is_destination_charge(payment: Mapping[str, Any]) -> bool:
    """A payment row of a single booking charged to its host's account (Stripe paid the host at
    capture): recorded before separate charges replaced destination charges, it has a host and
    no transfer group. Its refunds reverse Stripe's transfer and application fee themselves."""
    return payment["transfer_group"] is None and payment["host_account_id"] is not None


def stripe_metadata(payment_id: str, booking_id: str, group_id: str | None) -> dict[str, str]:
    """Metadata of every Stripe object of a payment (part of its idempotent requests: a single
    booking's must stay exactly as it has always been)."""
    if group_id is not None:
        return {"group_id": group_id, "payment_id": payment_id}
    return {"booking_id": booking_id, "payment_id": payment_id}


def with_group(metadata: dict[str, str], group_id: str | None) -> dict[str, str]:
    """Stripe metadata of an object of a group's payment names the group too (last: the
    metadata is part of idempotent requests, so its order stays as it has been)."""
    return metadata if group_id is None else {**metadata, "group_id": group_id}


def check_splits(splits: Iterable[Split], *, amount: int, platform_fee: int) -> None:
    """The splits of a payment sum to its amount and its platform fee."""
    splits = tuple(splits)
    total = sum(s.amount for s in splits)
    fees = sum(s.platform_fee for s in splits)
    if (total, fees) != (amount, platform_fee):
        raise InvalidCheckout(
            f"splits sum to {total} (fees {fees}), the payment is {amount} (fees {platform_fee})"
        )


def captured_splits(
    *,
    booking_id: str,
    host_account_id: str | None,
    platform_fee: int,
    captured: int,
    splits: tuple[Split, ...],
    tax: int = 0,
) -> tuple[Split, ...]:
    """Who is owed what of a captured amount: a group's legs as recorded (a group is captured
    in full), or the single booking's host."""
    if splits:
        check_splits(splits, amount=captured, platform_fee=platform_fee)
        return splits
    if host_account_id is None:
        raise InvalidCheckout(f"payment of {booking_id} has neither a host account nor splits")
    return (Split(booking_id, host_account_id, captured, platform_fee, tax),)


def without_refund(
    splits: tuple[Split, ...],
    *,
    booking_id: str,
    host_account_id: str,
    amount: int,
    platform_fee: int,
    tax: int,
) -> tuple[Split, ...]:
    """The splits of a payment once a refund for one of its bookings is taken out of it (what a
    smaller capture takes instead of the whole authorization; a booking refunded in full is left
    out). Raises InvalidCheckout when the booking is not one of them, belongs to another host,
    or paid less than is refunded."""
    found = [s for s in splits if s.booking_id == booking_id]
    if not found:
        raise InvalidCheckout(f"the payment does not pay for booking {booking_id}")
    split = found[0]
    if split.host_account_id != host_account_id:
        raise InvalidCheckout(
            f"booking {booking_id} owes {split.host_account_id}, not {host_account_id}"
        )
    if amount > split.amount:
        raise InvalidCheckout(f"booking {booking_id} paid {split.amount}, {amount} is refunded")
    reduced = Split(
        booking_id,
        host_account_id,
        split.amount - amount,
        split.platform_fee - platform_fee,
        split.tax - tax,
    )
    # A booking refunded in full takes no part in the capture.
    return tuple(reduced if s is split else s for s in splits if s is not split or reduced.amount)
