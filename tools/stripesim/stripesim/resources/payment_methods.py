"""PaymentMethod (type=card or us_bank_account): create, retrieve, attach; Stripe's test
cards and ids (test bank accounts: ``bank_accounts``).

Attaching a card (``/attach``, ``customer[payment_method]``, a succeeded SetupIntent) verifies
it first, as Stripe does: cards that decline charges fail with a 402 ``card_error`` and stay
unattached; ``4000000000000341`` (``pm_card_chargeCustomerFail``) attaches but every charge
declines. ``authentication`` says when a card asks for 3D Secure: ``always`` (also off-session:
``authentication_required``) or ``unless_setup`` (not for off-session charges once a SetupIntent
with ``usage=off_session`` succeeded with it).
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Literal

from stripesim.errors import StripeAPIError, invalid_request, resource_missing
from stripesim.forms import (
    Params,
    check_known,
    get_dict,
    get_int,
    get_metadata,
    get_str,
    require_str,
)
from stripesim.resources import bank_accounts
from stripesim.routing import route
from stripesim.state import Ctx


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    decline_code: str | None = None
    error_code: str = "card_declined"
    message: str = "Your card was declined."
    charges_only: bool = False  # declines charges but passes the verification on attach/setup
    authentication: Literal["none", "always", "unless_setup"] = "none"

    @property
    def declines(self) -> bool:
        return self.decline_code is not None

    @property
    def fails_verification(self) -> bool:
        return self.declines and not self.charges_only

    @property
    def last4(self) -> str:
        return self.number[-4:]


_DECLINED = "4000000000000002"
_NO_FUNDS = "4000000000009995"
_LOST = "4000000000009987"
_EXPIRED = "4000000000000069"
_CUSTOMER_FAIL = "4000000000000341"
_THREE_DS_ALWAYS = "4000002760003184"
_THREE_DS_UNLESS_SETUP = "4000002500003155"
CARDS: dict[str, TestCard] = {
    c.number: c
    for c in (
        TestCard("4242424242424242", "visa"),
        TestCard("4000056655665556", "visa", funding="debit"),
        TestCard("5555555555554444", "mastercard"),
        TestCard("378282246310005", "amex"),
        TestCard(_DECLINED, "visa", decline_code="generic_decline"),
        TestCard(
            _NO_FUNDS,
            "visa",
            decline_code="insufficient_funds",
            message="Your card has insufficient funds.",
        ),
        TestCard(_LOST, "visa", decline_code="lost_card"),
        TestCard(
            _EXPIRED,
            "visa",
            decline_code="expired_card",
            error_code="expired_card",
            message="Your card has expired.",
        ),
        TestCard(_CUSTOMER_FAIL, "visa", decline_code="generic_decline", charges_only=True),
        TestCard(_THREE_DS_ALWAYS, "visa", authentication="always"),
        TestCard(_THREE_DS_UNLESS_SETUP, "visa", authentication="unless_setup"),
    )
}
_ALIASES = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "amex": "378282246310005",
    "chargeDeclined": _DECLINED,
    "chargeDeclinedInsufficientFunds": _NO_FUNDS,
    "chargeDeclinedLostCard": _LOST,
    "chargeDeclinedExpiredCard": _EXPIRED,
    "chargeCustomerFail": _CUSTOMER_FAIL,
    "authenticationRequired": _THREE_DS_ALWAYS,
    "authenticationRequiredOnSetup": _THREE_DS_UNLESS_SETUP,
}
# Stripe's well-known test PaymentMethod ids and card tokens.
MAGIC_PAYMENT_METHODS = {f"pm_card_{alias}": number for alias, number in _ALIASES.items()}
TOKENS = {
    **{f"tok_{alias}": number for alias, number in _ALIASES.items()},
    "tok_threeDSecure2Required": _THREE_DS_ALWAYS,
}


def card_of(ctx: Ctx, pm_id: str) -> TestCard:
    return CARDS[ctx.state.private[pm_id]["card"]]


def is_set_up(ctx: Ctx, pm_id: str) -> bool:
    """Whether a SetupIntent (usage=off_session) succeeded with this PaymentMethod."""
    return bool(ctx.state.private[pm_id].get("set_up"))


def mark_set_up(ctx: Ctx, pm_id: str) -> None:
    ctx.state.private[pm_id]["set_up"] = True


def verification_error(ctx: Ctx, pm: dict[str, Any]) -> StripeAPIError | None:
    """The 402 that verifying ``pm`` on attach/setup answers, or None if the card passes."""
    if pm["type"] != "card":
        return None  # a bank account is verified when it is debited
    card = card_of(ctx, pm["id"])
    if not card.fails_verification:
        return None
    return StripeAPIError(
        402,
        "card_error",
        card.message,
        code=card.error_code,
        decline_code=card.decline_code,
        extra={"payment_method": copy.deepcopy(pm)},
    )


def card_details(card: TestCard, exp_month: int, exp_year: int) -> dict[str, Any]:
    return {
        "brand": card.brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": hashlib.sha256(card.number.encode()).hexdigest()[:16],
        "funding": card.funding,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "wallet": None,
    }


def materialize(
    ctx: Ctx,
    card: TestCard,
    *,
    exp_month: int | None = None,
    exp_year: int | None = None,
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    pm = ctx.state.base_object("payment_method", "pm_")
    this_year = time.gmtime(ctx.now()).tm_year
    details = {"address": None, "email": None, "name": None, "phone": None}
    details.update(billing_details or {})
    pm.update(
        {
            "allow_redisplay": "unspecified",
            "billing_details": details,
            "card": card_details(card, exp_month or 12, exp_year or this_year + 3),
            "customer": None,
            "metadata": metadata or {},
            "type": "card",
        }
    )
    ctx.state.put(pm)
    ctx.state.private[pm["id"]] = {"card": card.number}  # JSON-safe (see persistence)
    return pm


def resolve(ctx: Ctx, pm_id: str, param: str) -> dict[str, Any]:
    """Look a PaymentMethod up; a well-known test id yields a fresh PaymentMethod."""
    number = MAGIC_PAYMENT_METHODS.get(pm_id)
    if number is not None:
        return materialize(ctx, CARDS[number])
    bank_pm = bank_accounts.from_magic_id(ctx, pm_id)
    if bank_pm is not None:
        return bank_pm
    pm = ctx.state.get(pm_id, "payment_method")
    if pm is None:
        raise resource_missing("PaymentMethod", pm_id, param)
    return pm


def check_attachable(ctx: Ctx, pm: dict[str, Any], customer_id: str) -> None:
    """Raise what attaching ``pm`` to the customer would answer (other customer, decline)."""
    if pm["customer"] not in (None, customer_id):
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
            replayable=True,
        )
    if pm["customer"] is None:
        error = verification_error(ctx, pm)
        if error is not None:
            raise error


def attach_to(ctx: Ctx, pm: dict[str, Any], customer_id: str) -> None:
    check_attachable(ctx, pm, customer_id)
    if pm["customer"] is None:
        pm["customer"] = customer_id
        ctx.emit("payment_method.attached", pm)


def _card_from_params(card: Params) -> TestCard:
    check_known(card, ["number", "exp_month", "exp_year", "cvc", "token"], prefix="card")
    token = get_str(card, "token")
    if token is not None:
        if token not in TOKENS:
            raise resource_missing("token", token, "card[token]")
        return CARDS[TOKENS[token]]
    number = require_str(card, "number").replace(" ", "")
    found = CARDS.get(number)
    if found is None:
        raise StripeAPIError(
            402,
            "card_error",
            "Your card number is incorrect.",
            code="incorrect_number",
            param="card[number]",
        )
    return found


@route(
    "POST",
    "/v1/payment_methods",
    ["type", "card", "us_bank_account", "billing_details", "metadata"],
)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    kind = require_str(params, "type")
    if kind == "us_bank_account":
        return bank_accounts.create_from_params(ctx, params, get_metadata(params))
    if kind != "card":
        raise invalid_request(
            "Invalid type: stripesim supports card and us_bank_account", param="type"
        )
    card_params = get_dict(params, "card")
    if not card_params:
        raise invalid_request(
            "Missing required param: card.", param="card", code="parameter_missing"
        )
    card = _card_from_params(card_params)
    return materialize(
        ctx,
        card,
        exp_month=get_int(card_params, "exp_month", minimum=1),
        exp_year=get_int(card_params, "exp_year"),
        billing_details=get_dict(params, "billing_details"),
        metadata=get_metadata(params),
    )


@route("GET", "/v1/payment_methods/{payment_method}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return resolve(ctx, args["payment_method"], "payment_method")


@route("POST", "/v1/payment_methods/{payment_method}/attach", ["customer"])
def attach(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    customer_id = require_str(params, "customer")
    if ctx.state.get(customer_id, "customer") is None:
        raise resource_missing("customer", customer_id, "customer")
    pm = resolve(ctx, args["payment_method"], "payment_method")
    attach_to(ctx, pm, customer_id)
    return pm


ROUTES = [create, retrieve, attach]
