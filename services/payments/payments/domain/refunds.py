"""How a refund request is given back, decided from the state of its payment.

Booking asks for a refund when a confirmed booking (or one leg of a Linked Booking Group) is
cancelled, or when an accepted amendment lowers its price; the request says how much goes back
and how it divides (`amount = platform_fee + host_amount`, `tax` part of the fee). What payments
does depends on its payment:

- captured: a Stripe refund (`refund`), never more than is left of the capture once every
  earlier refund, done or under way, is counted;
- still only authorized: the whole amount voids the authorization (`void`); less captures the
  rest (`partial_capture`), with the refunded booking's split reduced by the refund;
- nothing was ever taken (a saved card not charged, a failed or released payment): nothing to
  give back (`none`). A cancelled booking's saved card will then never be charged; an amended
  booking's will be charged less (its payment is lowered by the refund).

A request that cannot be right (its parts do not add up, another currency, a booking the payment
does not pay for) or asks for more than is left is refused with a machine-readable code; so is
a refund of a captured card payment with an open dispute, or one charged back
(`charge_disputed`, as Stripe would answer; no Stripe call is made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from domainkit.money import AMOUNT_TOO_LARGE
from domainkit.rows import from_row
from payments.domain.checkout import (
    CARD,
    InvalidCheckout,
    Split,
    captured_splits,
    with_group,
    without_refund,
)
from payments.domain.payment import NOT_CHARGED_YET, PaymentStatus
from payments.domain.refusals import PAYMENT_NOT_FOUND, Refused

Method = Literal["refund", "void", "partial_capture", "none"]

REFUND: Final = "refund"
VOID: Final = "void"
PARTIAL_CAPTURE: Final = "partial_capture"
NONE: Final = "none"
MONEY_METHODS: Final = (REFUND, VOID, PARTIAL_CAPTURE)
"""Methods that give money back (and so reserve it while under way)."""
# Methods that took money the host was owed: a Stripe refund, or a smaller capture (the
# payment's recorded splits stay as authorized, so what a smaller capture left out counts here).
HOST_REFUND_METHODS: Final = (REFUND, PARTIAL_CAPTURE)
NOTHING_TAKEN: Final = (
    PaymentStatus.SAVED,
    PaymentStatus.CHARGE_FAILED,
    PaymentStatus.FAILED,
    PaymentStatus.VOIDED,
    PaymentStatus.CANCELLED,
)
"""Payment statuses that hold no money of the guest."""

# What asked for the refund (`payments.refunds.cause`, the `cause` of refund_succeeded and
# refund_failed). Finance routes on it, never on the shape of an id.
GUEST_CANCELLATION: Final = "guest_cancellation"
HOST_CANCELLATION: Final = "host_cancellation"
ADMIN_CANCELLATION: Final = "admin_cancellation"
GROUP_LEG_CANCELLED: Final = "group_leg_cancelled"
AMENDMENT: Final = "amendment"
CHECKOUT_FAILED: Final = "checkout_failed"
DEPOSIT_RELEASE: Final = "deposit_release"
OTHER: Final = "other"
"""A cause payments cannot tell (a refund recorded before causes were)."""


def cancellation_cause(cancelled_by: str, group_id: str | None) -> str:
    """The cause of a cancellation's refund: a host's cancellation (also of a group leg: it may
    carry a penalty) is `host_cancellation`; a group leg cancelled otherwise is
    `group_leg_cancelled`; a single booking's says who cancelled it."""
    if cancelled_by == "host":
        return HOST_CANCELLATION
    if group_id is not None:
        return GROUP_LEG_CANCELLED
    return {"guest": GUEST_CANCELLATION, "admin": ADMIN_CANCELLATION}.get(cancelled_by, OTHER)


# Refusal codes (refund_failed `code`; Stripe's own codes pass through unchanged).
INVALID_REFUND: Final = "invalid_refund"
PAYMENT_NOT_REFUNDABLE: Final = "payment_not_refundable"
PAYMENT_BUSY: Final = "payment_busy"
CHARGE_DISPUTED: Final = "charge_disputed"
"""The charge has an open card dispute (or was charged back): Stripe would refuse the refund
with this code, so it is refused before asking (Stripe's own code, kept)."""


class RefundRefused(Refused):
    """The refund cannot be made as asked: record it failed now (no retry helps)."""


class PaymentBusy(Exception):
    """Another refund of the same authorized payment (a void or a smaller capture) is under
    way; this one can be decided once that one is. Retryable."""

    code: Final = PAYMENT_BUSY

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Refunded:
    """What Stripe gave back of a payment (for one booking, or in all)."""

    amount: int = 0
    platform_fee: int = 0
    tax: int = 0
    host_amount: int = 0

    def __add__(self, other: Refunded) -> Refunded:
        return Refunded(
            self.amount + other.amount,
            self.platform_fee + other.platform_fee,
            self.tax + other.tax,
            self.host_amount + other.host_amount,
        )


@dataclass(frozen=True, slots=True)
class RefundOrder:
    """One refund request, as received (or as stored: the first request of an id wins)."""

    refund_id: str
    payment_id: str
    booking_id: str
    group_id: str | None
    amount: int
    currency: str
    platform_fee: int
    host_amount: int
    tax: int
    host_account_id: str
    lines: tuple[tuple[str, int], ...] = ()
    cause: str = OTHER
    subject_id: str | None = None
    """The amendment a refund of cause `amendment` gives back; None otherwise."""
    reopened: int = 0
    """How many times ops reopened it after it failed: each reopening's Stripe call has a key
    of its own (Stripe would answer the first key with its first refusal for 24 hours)."""

    @property
    def stripe_key_subject(self) -> str:
        """What the refund's idempotency key is made of."""
        if self.reopened == 0:
            return self.refund_id
        return f"{self.refund_id}:reopened:{self.reopened}"

    @classmethod
    def of_row(cls, row: Any) -> RefundOrder:
        """From a `payments.refunds` row (a mapping)."""
        return from_row(
            cls,
            row,
            lines=tuple((item["code"], item["amount"]) for item in row["lines"] or ()),
        )

    @property
    def line_items(self) -> list[dict[str, Any]]:
        """`lines` as stored in the jsonb column."""
        return [{"code": code, "amount": amount} for code, amount in self.lines]

    @property
    def stripe_metadata(self) -> dict[str, str]:
        metadata = {
            "refund_id": self.refund_id,
            "payment_id": self.payment_id,
            "booking_id": self.booking_id,
        }
        return with_group(metadata, self.group_id)


@dataclass(frozen=True, slots=True)
class PaymentState:
    """What the decision needs of the payment."""

    payment_id: str
    booking_id: str
    group_id: str | None
    status: str
    amount: int
    captured_amount: int
    refunded_amount: int
    currency: str
    platform_fee: int
    tax: int
    host_account_id: str | None
    payment_intent_id: str | None = None
    splits: tuple[Split, ...] = ()
    renewals: int = 0
    """How often the authorization was renewed (part of the void's idempotency key)."""
    payment_method_type: str = CARD
    """`us_bank_account`: a bank debit, kept on the platform (no destination)."""
    transfer_group: str | None = None
    """Set on every payment but a destination charge of a single booking made before separate
    charges replaced them (`checkout.is_destination_charge`)."""
    disputed: bool = False
    """A card dispute keeps its charge from being refunded (`disputes.REFUND_BLOCKING`)."""

    @property
    def destination_charge(self) -> bool:
        """A single booking's card payment charged to its host's connected account (recorded
        before separate charges replaced destination charges): its refund reverses Stripe's
        transfer and application fee itself."""
        return (
            self.group_id is None
            and self.transfer_group is None
            and self.host_account_id is not None
            and self.payment_method_type == CARD
        )

    def bookings(self) -> tuple[Split, ...]:
        """What each booking paid (the single booking's: the whole authorization)."""
        return captured_splits(
            booking_id=self.booking_id,
            host_account_id=self.host_account_id,
            platform_fee=self.platform_fee,
            captured=self.amount,
            splits=self.splits,
            tax=self.tax,
        )


@dataclass(frozen=True, slots=True)
class Plan:
    method: Method
    capture_splits: tuple[Split, ...] = ()
    """`partial_capture`: who is owed what of the smaller capture; `none` for an amendment of a
    saved card not charged yet: what is left to charge (empty: nothing)."""

    @property
    def capture_amount(self) -> int:
        return sum(s.amount for s in self.capture_splits)

    @property
    def capture_fee(self) -> int:
        return sum(s.platform_fee for s in self.capture_splits)


def plan_refund(
    order: RefundOrder,
    payment: PaymentState | None,
    *,
    reserved: int,
    refunded_for_booking: int,
) -> Plan:
    """How to give `order` back. `reserved`: what other refunds of the payment under way will
    take; `refunded_for_booking`: what other refunds of the same booking gave back or will.
    Raises RefundRefused, or PaymentBusy when another refund of the authorized payment must
    finish first."""
    if payment is None:
        raise RefundRefused(PAYMENT_NOT_FOUND, f"payment {order.payment_id} does not exist")
    paid = _check(order, payment)
    if order.amount == 0:
        return Plan(NONE)
    if payment.status in NOT_CHARGED_YET and order.cause == AMENDMENT:
        # Nothing taken yet: the card will be charged the amended price instead.
        return Plan(NONE, lowered_charge(order, payment))
    if payment.status in NOTHING_TAKEN:
        return Plan(NONE)
    if refunded_for_booking + order.amount > paid.amount:
        raise RefundRefused(
            AMOUNT_TOO_LARGE,
            f"booking {order.booking_id} paid {paid.amount}; {refunded_for_booking} is refunded "
            f"already, {order.amount} more is asked",
        )
    if payment.status == PaymentStatus.CAPTURED:
        return _plan_captured(order, payment, reserved)
    if payment.status == PaymentStatus.AUTHORIZED:
        return _plan_authorized(order, payment, reserved)
    raise RefundRefused(PAYMENT_NOT_REFUNDABLE, f"payment {payment.payment_id} is {payment.status}")


def _plan_captured(order: RefundOrder, payment: PaymentState, reserved: int) -> Plan:
    """A captured payment gives back from what is left of it, unless it is disputed."""
    if payment.disputed:
        raise RefundRefused(
            CHARGE_DISPUTED,
            f"payment {payment.payment_id} is disputed by the guest's bank: its charge "
            "cannot be refunded while the dispute is open (or after it was lost)",
        )
    left = payment.captured_amount - payment.refunded_amount - reserved
    if order.amount > left:
        raise RefundRefused(
            AMOUNT_TOO_LARGE,
            f"refund of {order.amount} is more than the {left} left of payment "
            f"{payment.payment_id} (captured {payment.captured_amount}, refunded "
            f"{payment.refunded_amount}, under way {reserved})",
        )
    return Plan(REFUND)


def _plan_authorized(order: RefundOrder, payment: PaymentState, reserved: int) -> Plan:
    """An authorized payment is voided whole, or captured less the refund; one refund at a time."""
    if reserved:
        raise PaymentBusy(
            f"payment {payment.payment_id}: another refund of {reserved} is under way"
        )
    if order.amount == payment.amount:
        return Plan(VOID)
    return Plan(PARTIAL_CAPTURE, _without(order, payment))


def lowered_charge(order: RefundOrder, payment: PaymentState) -> tuple[Split, ...]:
    """What a single booking's saved card not charged yet is to be charged once an amendment's
    refund is taken out of it (empty: nothing is left). Raises RefundRefused."""
    if payment.group_id is not None:
        raise RefundRefused(
            PAYMENT_NOT_REFUNDABLE,
            f"payment {payment.payment_id} is a group's, still {payment.status}",
        )
    return _without(order, payment)


def _without(order: RefundOrder, payment: PaymentState) -> tuple[Split, ...]:
    """The payment's bookings with the refund taken out (what is left to capture or charge).
    Raises RefundRefused."""
    try:
        return without_refund(
            payment.bookings(),
            booking_id=order.booking_id,
            host_account_id=order.host_account_id,
            amount=order.amount,
            platform_fee=order.platform_fee,
            tax=order.tax,
        )
    except InvalidCheckout as exc:
        raise RefundRefused(INVALID_REFUND, str(exc)) from exc


def _check(order: RefundOrder, payment: PaymentState) -> Split:
    """Refuse a request that cannot be right for this payment; the split of its booking."""
    if order.amount != order.platform_fee + order.host_amount:
        raise RefundRefused(
            INVALID_REFUND,
            f"refund {order.refund_id}: {order.amount} is not its fee {order.platform_fee} plus "
            f"its host amount {order.host_amount}",
        )
    if not 0 <= order.tax <= order.platform_fee:
        raise RefundRefused(
            INVALID_REFUND,
            f"refund {order.refund_id}: tax {order.tax} is not part of its fee "
            f"{order.platform_fee}",
        )
    if order.currency != payment.currency:
        raise RefundRefused(
            INVALID_REFUND,
            f"refund {order.refund_id} is in {order.currency}, payment {payment.payment_id} in "
            f"{payment.currency}",
        )
    if order.group_id is not None and order.group_id != payment.group_id:
        raise RefundRefused(
            INVALID_REFUND,
            f"payment {payment.payment_id} is not group {order.group_id}'s payment",
        )
    try:
        bookings = payment.bookings()
    except InvalidCheckout as exc:
        raise RefundRefused(INVALID_REFUND, str(exc)) from exc
    found = [s for s in bookings if s.booking_id == order.booking_id]
    if not found:
        raise RefundRefused(
            INVALID_REFUND,
            f"payment {payment.payment_id} does not pay for booking {order.booking_id}",
        )
    if found[0].host_account_id != order.host_account_id:
        raise RefundRefused(
            INVALID_REFUND,
            f"booking {order.booking_id} is paid to {found[0].host_account_id}, the refund "
            f"names {order.host_account_id}",
        )
    return found[0]
