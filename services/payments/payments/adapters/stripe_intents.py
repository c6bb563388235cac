"""PaymentIntents as the payments service reads them: `PaymentIntentResult`, built from an
intent (`intent_result`) or from a card decline (`declined_result`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import stripe

from payments.adapters.stripe_client import DECLINED, card_error_fields, decline_fields, id_of

AUTHENTICATION_REQUIRED: Final = "authentication_required"


@dataclass(frozen=True, slots=True)
class PaymentIntentResult:
    """A PaymentIntent as the payments service needs it.

    ``status`` is Stripe's PaymentIntent status (``requires_capture``, ``succeeded``,
    ``canceled``, ...) or ``"declined"`` when the card was declined (then ``decline_code``,
    ``failure_code`` and ``failure_message`` say why; the intent itself is back in
    ``requires_payment_method`` on Stripe's side). ``transfer_group`` is set on the charge of
    a Linked Booking Group (paid out by separate transfers). ``payment_method`` is the ``pm_``
    id the intent was paid with (the one to charge later when the authorization saved it with
    ``setup_future_usage``; a test id such as ``pm_card_visa`` comes back as a fresh ``pm_``).
    """

    id: str
    status: str
    amount: int
    amount_capturable: int
    amount_received: int
    currency: str
    charge_id: str | None
    card_brand: str | None
    card_last4: str | None
    decline_code: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    transfer_group: str | None = None
    payment_method: str | None = None
    bank_name: str | None = None
    """A bank debit (``us_bank_account``): the bank's name and the account's last 4 digits."""
    bank_last4: str | None = None
    client_secret: str | None = None
    """``requires_action``: what the client's Stripe.js needs to show the bank's step."""
    next_action_type: str | None = None
    """``requires_action``: ``use_stripe_sdk`` or ``redirect_to_url`` (with ``redirect_url``)."""
    redirect_url: str | None = None
    three_d_secure: bool = False
    """The charge was authenticated with 3-D Secure (read from an expanded charge)."""

    @property
    def declined(self) -> bool:
        return self.status == DECLINED

    @property
    def stripe_status(self) -> str:
        """The intent's status as Stripe reports it: a decline leaves it awaiting another
        payment method."""
        return "requires_payment_method" if self.declined else self.status

    @property
    def authentication_required(self) -> bool:
        """Declined because the bank wants the customer to authenticate (off-session charge):
        ask the guest to pay on-session instead."""
        return self.declined and self.failure_code == AUTHENTICATION_REQUIRED


def intent_result(intent: Mapping[str, Any]) -> PaymentIntentResult:
    """A PaymentIntent as Stripe answers it: its JSON (a raw request's, `stripe_charges`) or
    an SDK object (both are mappings)."""
    charge = intent.get("latest_charge")
    charge_id = charge if isinstance(charge, str) or charge is None else charge.get("id")
    brand = last4 = bank_name = bank_last4 = None
    secure = False
    if isinstance(charge, Mapping):
        details = charge.get("payment_method_details") or {}
        card = details.get("card") or {}
        brand, last4 = card.get("brand"), card.get("last4")
        secure = (card.get("three_d_secure") or {}).get("result") == "authenticated"
        bank = details.get("us_bank_account") or {}
        bank_name, bank_last4 = bank.get("bank_name"), bank.get("last4")
    method = intent.get("payment_method")
    if last4 is None and isinstance(method, Mapping):
        # No charge yet (a 3-D Secure step): the card, as the expanded PaymentMethod names it.
        card = method.get("card") or {}
        brand, last4 = card.get("brand"), card.get("last4")
    error = intent.get("last_payment_error")
    declined = intent["status"] == "requires_payment_method" and error is not None
    return PaymentIntentResult(
        id=intent["id"],
        status=DECLINED if declined else intent["status"],
        amount=intent["amount"],
        amount_capturable=intent["amount_capturable"],
        amount_received=intent["amount_received"],
        currency=intent["currency"],
        charge_id=charge_id,
        card_brand=brand,
        card_last4=last4,
        transfer_group=intent.get("transfer_group"),
        payment_method=id_of(intent.get("payment_method")),
        bank_name=bank_name,
        bank_last4=bank_last4,
        three_d_secure=secure,
        **decline_fields(error, declined),
        **_next_action(intent),
    )


def _next_action(intent: Mapping[str, Any]) -> dict[str, str | None]:
    """What the client must do for an intent in ``requires_action`` (3-D Secure)."""
    if intent["status"] != "requires_action":
        return {}
    action = intent.get("next_action") or {}
    redirect = action.get("redirect_to_url") or {}
    return {
        "client_secret": intent.get("client_secret"),
        "next_action_type": action.get("type"),
        "redirect_url": redirect.get("url"),
    }


def declined_result(exc: stripe.CardError, *, amount: int, currency: str) -> PaymentIntentResult:
    error = exc.error
    intent = getattr(error, "payment_intent", None)
    card = getattr(getattr(error, "payment_method", None), "card", None)
    return PaymentIntentResult(
        id=getattr(intent, "id", None) or "",
        status=DECLINED,
        amount=getattr(intent, "amount", None) or amount,
        amount_capturable=0,
        amount_received=0,
        currency=getattr(intent, "currency", None) or currency,
        charge_id=getattr(error, "charge", None),
        card_brand=getattr(card, "brand", None),
        card_last4=getattr(card, "last4", None),
        transfer_group=getattr(intent, "transfer_group", None),
        **card_error_fields(exc),
    )
