"""A payment's lifecycle as one transition table, and the `Payment` aggregate that applies it.

A checkout payment starts `authorized` (the card is held), `requires_action` (the bank wants
the guest to authenticate), `saved` (a far-ahead booking: the card is kept to be charged
later), `processing` (a bank debit on its way) or `failed`. An extra charge starts `captured` or
`failed`. From there the table below is the only way a status changes; the service layer
writes each change with a compare-and-set on the status it read, so two deliveries of one fact
cannot both move the payment.

Refunds do not change the status: a refunded payment stays `captured` and its
`refunded_amount` grows (`domain/refunds.py`). A renewal swaps the authorization of an
`authorized` payment for a fresh one and stays `authorized`.

`emits` names the integration events (payments.events) the change is published with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from domainkit.transitions import IllegalTransition, Transition, TransitionTable


class PaymentStatus(StrEnum):
    """`payments.payments.status` (the CHECK constraint `ck_payments_status` allows these)."""

    AUTHORIZED = "authorized"
    REQUIRES_ACTION = "requires_action"
    SAVED = "saved"
    PROCESSING = "processing"
    CAPTURED = "captured"
    FAILED = "failed"
    CHARGE_FAILED = "charge_failed"
    VOIDED = "voided"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class PaymentTrigger(StrEnum):
    AUTHENTICATED = "authenticated"
    AUTHENTICATION_FAILED = "authentication failed"
    CAPTURE = "capture"
    CHARGE_DECLINED = "charge declined"
    """A saved card's charge (or the guest's retry) was declined: the guest may retry."""
    CHARGE_REFUSED = "charge refused"
    """A group's capture or charge failed: the group fails, nobody retries."""
    VOID = "void"
    CANCEL = "cancel"
    """A saved card that will never be charged (no Stripe call)."""
    RENEW = "renew"
    EXPIRE = "expire"
    """The authorization nears its end (notified once; the payment stays authorized)."""
    DEBIT_SETTLED = "bank debit settled"
    DEBIT_RETURNED = "bank debit returned"
    REFUND_PARTIAL = "refund partial"
    REFUND_FULL = "refund full"


S, T = PaymentStatus, PaymentTrigger

CAPTURED_EVENT: Final = "payments.payment_captured"
FAILED_EVENT: Final = "payments.payment_failed"
VOIDED_EVENT: Final = "payments.payment_voided"
AUTHORIZED_EVENT: Final = "payments.payment_authorized"
RETURNED_EVENT: Final = "payments.payment_returned"
REFUNDED_EVENT: Final = "payments.refund_succeeded"
REAUTHORIZED_EVENT: Final = "payments.payment_reauthorized"
EXPIRING_EVENT: Final = "payments.authorization_expiring"

_CAPTURE = Transition(S.CAPTURED, (CAPTURED_EVENT,))
_REFUSED = Transition(S.FAILED, (FAILED_EVENT,))
_DECLINED = Transition(S.CHARGE_FAILED, (FAILED_EVENT,))
_RETURNED = Transition(S.RETURNED, (RETURNED_EVENT,))
_ROWS: dict[tuple[PaymentStatus, PaymentTrigger], Transition[PaymentStatus]] = {
    (S.REQUIRES_ACTION, T.AUTHENTICATED): Transition(S.AUTHORIZED, (AUTHORIZED_EVENT,)),
    (S.REQUIRES_ACTION, T.AUTHENTICATION_FAILED): _REFUSED,
    (S.REQUIRES_ACTION, T.VOID): Transition(S.VOIDED, (VOIDED_EVENT,)),
    (S.AUTHORIZED, T.CAPTURE): _CAPTURE,
    (S.AUTHORIZED, T.CHARGE_REFUSED): _REFUSED,
    (S.AUTHORIZED, T.VOID): Transition(S.VOIDED, (VOIDED_EVENT,)),
    (S.AUTHORIZED, T.RENEW): Transition(S.AUTHORIZED, (REAUTHORIZED_EVENT,)),
    (S.AUTHORIZED, T.EXPIRE): Transition(S.AUTHORIZED, (EXPIRING_EVENT,)),
    (S.SAVED, T.CAPTURE): _CAPTURE,
    (S.SAVED, T.CHARGE_DECLINED): _DECLINED,
    (S.SAVED, T.CHARGE_REFUSED): _REFUSED,
    (S.SAVED, T.CANCEL): Transition(S.CANCELLED),
    (S.CHARGE_FAILED, T.CAPTURE): _CAPTURE,
    (S.CHARGE_FAILED, T.CHARGE_DECLINED): _DECLINED,
    (S.CHARGE_FAILED, T.CANCEL): Transition(S.CANCELLED),
    (S.PROCESSING, T.DEBIT_SETTLED): _CAPTURE,
    (S.PROCESSING, T.DEBIT_RETURNED): _RETURNED,
    (S.CAPTURED, T.DEBIT_RETURNED): _RETURNED,
    (S.CAPTURED, T.REFUND_PARTIAL): Transition(S.CAPTURED, (REFUNDED_EVENT,)),
    (S.CAPTURED, T.REFUND_FULL): Transition(S.CAPTURED, (REFUNDED_EVENT,)),
}
TABLE: TransitionTable[PaymentStatus, PaymentTrigger] = TransitionTable(_ROWS)

# Where a payment starts, by how it was asked for and what Stripe answered.
INITIAL: Final = (S.AUTHORIZED, S.REQUIRES_ACTION, S.SAVED, S.PROCESSING, S.CAPTURED, S.FAILED)
TERMINAL: Final = frozenset(TABLE.states()) - {s for s, _ in TABLE.candidates}
# A saved card still to be charged (at confirmation, or by the guest's retry).
NOT_CHARGED_YET: Final = (S.SAVED, S.CHARGE_FAILED)
# An authorization that can still be voided on Stripe.
VOIDABLE: Final = (S.AUTHORIZED, S.REQUIRES_ACTION)


def authorization_outcome(authorized: bool, needs_action: bool) -> PaymentStatus:
    """Where a card checkout starts: held, waiting for the guest to authenticate, or failed."""
    if authorized:
        return S.AUTHORIZED
    return S.REQUIRES_ACTION if needs_action else S.FAILED


def next_status(current: str, trigger: PaymentTrigger) -> PaymentStatus:
    """The status `trigger` moves a payment in `current` to; raises IllegalTransition."""
    return TABLE.apply(PaymentStatus(current), trigger).target


@dataclass(slots=True)
class Payment:
    """A payment's identity and status; each method applies one trigger and returns the new
    status (`emitted` holds the events the last change is published with)."""

    payment_id: str
    status: PaymentStatus
    emitted: tuple[str, ...] = ()

    def apply(self, trigger: PaymentTrigger) -> PaymentStatus:
        step = TABLE.apply(self.status, trigger)
        self.status, self.emitted = step.target, step.emits
        return step.target

    def authenticate(self) -> PaymentStatus:
        return self.apply(T.AUTHENTICATED)

    def fail_authentication(self) -> PaymentStatus:
        return self.apply(T.AUTHENTICATION_FAILED)

    def capture(self) -> PaymentStatus:
        return self.apply(T.CAPTURE)

    def decline_charge(self, *, retryable: bool) -> PaymentStatus:
        return self.apply(T.CHARGE_DECLINED if retryable else T.CHARGE_REFUSED)

    def void(self) -> PaymentStatus:
        return self.apply(T.VOID)

    def cancel(self) -> PaymentStatus:
        return self.apply(T.CANCEL)

    def renew(self) -> PaymentStatus:
        return self.apply(T.RENEW)

    def expire(self) -> PaymentStatus:
        return self.apply(T.EXPIRE)

    def settle_debit(self) -> PaymentStatus:
        return self.apply(T.DEBIT_SETTLED)

    def return_debit(self) -> PaymentStatus:
        return self.apply(T.DEBIT_RETURNED)

    def refund(self, *, full: bool) -> PaymentStatus:
        return self.apply(T.REFUND_FULL if full else T.REFUND_PARTIAL)


__all__ = [
    "INITIAL",
    "NOT_CHARGED_YET",
    "TABLE",
    "TERMINAL",
    "VOIDABLE",
    "IllegalTransition",
    "Payment",
    "PaymentStatus",
    "PaymentTrigger",
    "authorization_outcome",
    "next_status",
]
