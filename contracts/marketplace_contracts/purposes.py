"""What a payment was for and what caused a refund: the vocabulary payments' facts say it in.

Payments records the purpose of every payment and the cause of every refund from the request
that made it, and puts them on each fact it emits, with the `subject_id` the request named (the
amendment or claim an extra charge pays for, the amendment a refund gives back). Consumers route
on these fields, never on the shape of an id.

The wire fields stay `str | None`: they were published as plain strings before the vocabulary
was written down, and narrowing a committed field is a breaking change (`compat`). The
`Literal`s below are the documented set, for producers and consumers to type against.
"""

from typing import Any, Literal, get_args

from pydantic import Field

PaymentPurpose = Literal["checkout", "group_checkout", "extra_charge", "deposit_claim"]
PAYMENT_PURPOSES: tuple[PaymentPurpose, ...] = get_args(PaymentPurpose)

RefundCause = Literal[
    "guest_cancellation",
    "host_cancellation",
    "admin_cancellation",
    "group_leg_cancelled",
    "amendment",
    "checkout_failed",
    "deposit_release",
    "other",
]
REFUND_CAUSES: tuple[RefundCause, ...] = get_args(RefundCause)

CANCELLATION_CAUSES: frozenset[RefundCause] = frozenset(
    {"guest_cancellation", "host_cancellation", "admin_cancellation", "group_leg_cancelled"}
)
"""The causes of a refund that a booking's cancellation asked for."""

ReversalCause = Literal["refund", "dispute_lost", "debit_returned"]
REVERSAL_CAUSES: tuple[ReversalCause, ...] = get_args(ReversalCause)
"""Why part of a host's transfer is taken back (a transfer reversal's `cause`)."""

_PURPOSE = (
    "What the payment was for: `checkout` (a single booking's checkout, also a card payment "
    "that replaces a returned bank debit), `group_checkout` (a Linked Booking Group's payment), "
    "`extra_charge` (an amendment, overtime or other charge request), `deposit_claim` (a damage "
    "claim charged against a security deposit). None on events from before the field existed."
)
_CAUSE = (
    "What asked for the refund: `guest_cancellation`, `host_cancellation`, "
    "`admin_cancellation` (a single booking cancelled by the guest, its host, or an admin), "
    "`group_leg_cancelled` (one leg of a Linked Booking Group cancelled by the guest or an "
    "admin; a host's cancellation of a leg is `host_cancellation`), `amendment` (an accepted "
    "amendment lowered the price), `checkout_failed` (money given back because the checkout "
    "it paid for failed), `deposit_release` (a deposit charge given back), `other` (a cause "
    "payments cannot tell, e.g. a refund requested before causes were recorded). None on "
    "events from before the field existed."
)

_REVERSAL_CAUSE = (
    "Why the transfer is taken back: `refund` (a refund of a host share already transferred; "
    "payments asks on its own), `dispute_lost` (a lost card dispute's host share, asked for by "
    "finance), `debit_returned` (a bank debit returned after its host was paid, asked for by "
    "finance)."
)


def purpose_field() -> Any:
    return Field(default=None, examples=list(PAYMENT_PURPOSES), description=_PURPOSE)


def cause_field() -> Any:
    return Field(
        default=None,
        examples=["guest_cancellation", "host_cancellation", "amendment"],
        description=_CAUSE,
    )


def charge_subject_field() -> Any:
    """`subject_id` of a charge request and of the payment facts that answer it."""
    return Field(
        default=None,
        examples=["6f1c2b9e-8d3a-4c1e-9a57-0b2d4e6f8a10"],
        description="What the payment is about, as the request named it: the amendment "
        "(purpose `extra_charge`) or the damage claim (`deposit_claim`) a charge request pays "
        "for. None for a checkout (its `booking_id` or `group_id` says it), and on events from "
        "before the field existed.",
    )


def refund_subject_field() -> Any:
    """`subject_id` of the refund facts."""
    return Field(
        default=None,
        examples=["6f1c2b9e-8d3a-4c1e-9a57-0b2d4e6f8a10"],
        description="What the refund is about beyond its booking: the amendment whose "
        "decrease it gives back (cause `amendment`). None otherwise, and on events from before "
        "the field existed.",
    )


def reversal_cause_field(default: ReversalCause | None = None) -> Any:
    """`cause` of a transfer reversal's request and of the facts that answer it (a plain
    string on the wire, as it was published: values outside the set stay readable)."""
    if default is None:
        return Field(examples=list(REVERSAL_CAUSES), description=_REVERSAL_CAUSE)
    return Field(default=default, examples=list(REVERSAL_CAUSES), description=_REVERSAL_CAUSE)
