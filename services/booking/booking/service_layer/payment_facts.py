"""What a fact of payments is about: the one place booking decides which of its features a
payment or refund belongs to.

Payments records why it took or gave back money, from the request that asked for it, and says
so on every fact (`marketplace_contracts.purposes`): a payment's `purpose` and `subject_id` (the
amendment or claim a charge request named), a refund's `cause` and `subject_id` (the amendment
whose decrease it gives back). Booking's consumer routes on those fields.

A fact from before payments recorded them (in flight during a deploy, replayed from a dead
letter or a retry topic, or a retry of a refund recorded without a cause: `other`) lacks some of
them. `legacy_payment` and `legacy_refund` derive them from the ids booking itself made:
`clm_<claim id>[_<attempt>]` (a claim's charge), `chg_<amendment id>` (an amendment's charge),
`rf_<booking id>_cancel[_<n>]` (a cancellation's refunds) and `rf_<amendment id>` (an
amendment's). They are the only code in booking that reads the shape of an id; delete them once
no such fact can arrive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from marketplace_contracts.purposes import CANCELLATION_CAUSES, PaymentPurpose

CHECKOUT: PaymentPurpose = "checkout"
GROUP_CHECKOUT: PaymentPurpose = "group_checkout"
EXTRA_CHARGE: PaymentPurpose = "extra_charge"
DEPOSIT_CLAIM: PaymentPurpose = "deposit_claim"
_SUBJECT_PURPOSES = (EXTRA_CHARGE, DEPOSIT_CLAIM)

RefundConcern = Literal["cancellation", "amendment", "checkout", "none"]
"""Which feature of booking a refund's outcome belongs to (`checkout`: a charge at checkout
given back, the booking having ended before it; `none`: payments' own, such as a released
deposit's)."""


@dataclass(frozen=True, slots=True)
class PaymentAbout:
    purpose: PaymentPurpose
    subject_id: uuid.UUID | None = None
    """The amendment (`extra_charge`) or claim (`deposit_claim`) the payment is for."""


@dataclass(frozen=True, slots=True)
class RefundAbout:
    concern: RefundConcern
    subject_id: uuid.UUID | None = None
    """The amendment an `amendment` refund gives back."""


def payment_about(event: Any) -> PaymentAbout:
    """A payment fact's purpose and subject (payment_captured v1/v2, payment_failed)."""
    purpose = getattr(event, "purpose", None)
    subject = _uuid(getattr(event, "subject_id", None))
    if purpose in (CHECKOUT, GROUP_CHECKOUT):
        return PaymentAbout(purpose)
    if purpose in _SUBJECT_PURPOSES and subject is not None:
        return PaymentAbout(purpose, subject)
    return legacy_payment(event)


def refund_about(event: Any) -> RefundAbout:
    """A refund fact's concern and subject (refund_succeeded, refund_failed)."""
    cause = event.cause
    if cause in CANCELLATION_CAUSES:
        return RefundAbout("cancellation")
    if cause == "checkout_failed":
        return RefundAbout("checkout")
    if cause == "deposit_release":
        return RefundAbout("none")
    subject = _uuid(event.subject_id)
    if cause == "amendment" and subject is not None:
        return RefundAbout("amendment", subject)
    return legacy_refund(event)


# -- facts from before purposes and subjects: the only readers of an id's shape ----------------


def legacy_payment(event: Any) -> PaymentAbout:
    """A payment fact without purpose or subject, told apart by its charge request's id."""
    charge = getattr(event, "charge_request_id", None) or ""
    if charge.startswith("clm_"):
        claim = _uuid(charge.removeprefix("clm_").split("_", 1)[0])
        if claim is not None:
            return PaymentAbout(DEPOSIT_CLAIM, claim)
    if charge.startswith("chg_"):
        amendment = _uuid(charge.removeprefix("chg_"))
        if amendment is not None:
            return PaymentAbout(EXTRA_CHARGE, amendment)
    if getattr(event, "group_id", None) is not None:
        return PaymentAbout(GROUP_CHECKOUT)
    return PaymentAbout(CHECKOUT)


def legacy_refund(event: Any) -> RefundAbout:
    """A refund fact without a known cause (or an amendment's without its subject), told
    apart by its refund id."""
    if event.refund_id.startswith(f"rf_{event.booking_id}_cancel"):
        return RefundAbout("cancellation")
    amendment = _uuid(event.refund_id.removeprefix("rf_"))
    return RefundAbout("amendment", amendment) if amendment else RefundAbout("none")


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
