"""A payment's lifecycle as one transition table, and the `Payment` aggregate that applies it.

A checkout payment starts `authorized` (the card is held), `captured` (an Instant Book's card
charged at once), `requires_action` (the bank wants the guest to authenticate), `saved` (a
far-ahead booking: the card is kept to be charged later), `processing` (a bank debit on its
way) or `failed`. An extra charge starts `captured` or `failed`. From there the table below is
the only way a status changes; the service layer writes each change with a compare-and-set on
the status it read, so two deliveries of one fact cannot both move the payment.

Refunds do not change the status: a refunded payment stays `captured` and its
`refunded_amount` grows (`domain/refunds.py`). A renewal swaps the authorization of an
`authorized` payment for a fresh one and stays `authorized`.

`emits` names the integration events (payments.events) the change is published with:
`Payment.apply` returns them in its `Change`, and the service layer publishes exactly those
(`service_layer/lifecycle.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

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
    REFUND_VOID = "refund void"
    """A refund of a payment not captured yet, taken by voiding its authorization: announced by
    the refund's own refund_succeeded (`refunds.record`), not payment_voided."""
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
    # A checkout charged at once whose guest authenticated: captured, not held.
    (S.REQUIRES_ACTION, T.CAPTURE): _CAPTURE,
    (S.AUTHORIZED, T.CAPTURE): _CAPTURE,
    (S.AUTHORIZED, T.CHARGE_REFUSED): _REFUSED,
    (S.AUTHORIZED, T.VOID): Transition(S.VOIDED, (VOIDED_EVENT,)),
    (S.AUTHORIZED, T.REFUND_VOID): Transition(S.VOIDED),
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


def authorization_outcome(
    authorized: bool, needs_action: bool, *, captured: bool = False
) -> PaymentStatus:
    """Where a card checkout starts: held (or charged at once: `captured`), waiting for the
    guest to authenticate, or failed."""
    if authorized:
        return S.CAPTURED if captured else S.AUTHORIZED
    return S.REQUIRES_ACTION if needs_action else S.FAILED


# What the payer is told when Stripe refused the call itself (not a card decline): its message
# is written for developers (which parameter, which type), so the payer gets this sentence
# beside the code (booking's `failure_reason`), and the platform's log keeps Stripe's text.
REFUSED_SENTENCE = "The payment could not be made with this payment method."


def next_status(current: str, trigger: PaymentTrigger) -> PaymentStatus:
    """The status `trigger` moves a payment in `current` to; raises IllegalTransition."""
    return TABLE.apply(PaymentStatus(current), trigger).target


@dataclass(frozen=True, slots=True)
class Change:
    """What one trigger did: the payment's new status and the events the table declares for
    it, in the order they are published."""

    status: PaymentStatus
    emits: tuple[str, ...]


@dataclass(slots=True)
class Payment:
    """A payment's identity and status. `apply` takes one trigger, or refuses it with
    IllegalTransition (changing nothing), and returns the `Change`; the named methods below
    apply one trigger each and return the new status (`emitted` holds the events the last
    change is published with). Pure: the service layer writes the status (compare-and-set on
    the status it read) and publishes."""

    payment_id: str
    status: PaymentStatus
    emitted: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Payment:
        """From a payment row (its id and status)."""
        return cls(row["payment_id"], PaymentStatus(row["status"]))

    def apply(self, trigger: PaymentTrigger) -> Change:
        step = TABLE.apply(self.status, trigger)
        self.status, self.emitted = step.target, step.emits
        return Change(step.target, step.emits)

    def authenticate(self) -> PaymentStatus:
        return self.apply(T.AUTHENTICATED).status

    def fail_authentication(self) -> PaymentStatus:
        return self.apply(T.AUTHENTICATION_FAILED).status

    def capture(self) -> PaymentStatus:
        return self.apply(T.CAPTURE).status

    def decline_charge(self, *, retryable: bool) -> PaymentStatus:
        return self.apply(T.CHARGE_DECLINED if retryable else T.CHARGE_REFUSED).status

    def void(self) -> PaymentStatus:
        return self.apply(T.VOID).status

    def cancel(self) -> PaymentStatus:
        return self.apply(T.CANCEL).status

    def renew(self) -> PaymentStatus:
        return self.apply(T.RENEW).status

    def expire(self) -> PaymentStatus:
        return self.apply(T.EXPIRE).status

    def settle_debit(self) -> PaymentStatus:
        return self.apply(T.DEBIT_SETTLED).status

    def return_debit(self) -> PaymentStatus:
        return self.apply(T.DEBIT_RETURNED).status

    def refund(self, *, full: bool) -> PaymentStatus:
        return self.apply(T.REFUND_FULL if full else T.REFUND_PARTIAL).status


__all__ = [
    "INITIAL",
    "NOT_CHARGED_YET",
    "TABLE",
    "TERMINAL",
    "VOIDABLE",
    "Change",
    "IllegalTransition",
    "Payment",
    "PaymentStatus",
    "PaymentTrigger",
    "authorization_outcome",
    "next_status",
]
