"""PaymentIntent: create, confirm, capture, cancel, retrieve; authorization expiry.

Status machine (card only, no 3DS): requires_payment_method → requires_confirmation →
requires_capture (capture_method=manual) | succeeded (automatic); any open status → canceled.
A declined confirm leaves the intent in requires_payment_method with last_payment_error.
"""

from __future__ import annotations

import copy
from typing import Any

from stripesim.errors import StripeAPIError, invalid_request, resource_missing, unexpected_state
from stripesim.forms import (
    Params,
    get_bool,
    get_enum,
    get_int,
    get_metadata,
)
from stripesim.resources import charges, intent_params, payment_methods
from stripesim.routing import route
from stripesim.state import Ctx, SimState, new_id

AUTHORIZATION_VALIDITY_SECONDS = 7 * 24 * 60 * 60
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (*CONFIRMABLE, "requires_capture", "processing")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


def load(state: SimState, intent_id: str) -> dict[str, Any]:
    pi = state.get(intent_id, "payment_intent")
    if pi is None:
        raise resource_missing("payment_intent", intent_id, "intent")
    return pi


def _state_error(action: str, pi: dict[str, Any], allowed: tuple[str, ...]) -> StripeAPIError:
    return unexpected_state(
        f"This PaymentIntent could not be {action} because it has a status of {pi['status']}. "
        f"Only a PaymentIntent with one of the following statuses may be {action}: "
        f"{', '.join(allowed)}.",
        copy.deepcopy(pi),
    )


def _new_intent(ctx: Ctx, fields: dict[str, Any], pm: dict[str, Any] | None) -> dict[str, Any]:
    pi = ctx.state.base_object("payment_intent", "pi_")
    pi.update(
        {
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "client_secret": f"{pi['id']}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic",
            "last_payment_error": None,
            "latest_charge": None,
            "next_action": None,
            "payment_method_options": {},
            "processing": None,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "payment_method": pm["id"] if pm else None,
            "status": "requires_confirmation" if pm else "requires_payment_method",
            **fields,
        }
    )
    return pi


def _confirm(ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any] | None) -> dict[str, Any]:
    if pm is None and pi["payment_method"] is not None:
        pm = ctx.state.get(pi["payment_method"], "payment_method")
    if pm is None:
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Update the PaymentIntent with a payment method and then confirm it again.",
            copy.deepcopy(pi),
        )
    pi["payment_method"] = pm["id"]
    card = payment_methods.card_of(ctx, pm["id"])
    charge = charges.create_for(ctx, pi, pm, card)
    pi["latest_charge"] = charge["id"]
    if card.declines:
        error = StripeAPIError(
            402,
            "card_error",
            card.message,
            code=card.error_code,
            decline_code=card.decline_code,
            extra={"charge": charge["id"], "payment_method": copy.deepcopy(pm)},
        )
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error=error.error_object(),
        )
        ctx.emit("payment_intent.payment_failed", pi)
        error.extra["payment_intent"] = copy.deepcopy(pi)
        raise error
    pi["last_payment_error"] = None
    if pi["capture_method"] == "manual":
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        ctx.emit("payment_intent.amount_capturable_updated", pi)
    else:
        pi.update(status="succeeded", amount_received=pi["amount"])
        ctx.emit("payment_intent.succeeded", pi)
    return pi


@route("POST", "/v1/payment_intents", intent_params.CREATE_PARAMS)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    fields = intent_params.validated_create(ctx, params)
    confirm = get_bool(params, "confirm")
    pm = intent_params.payment_method(ctx, params, fields["customer"])
    pi = ctx.state.put(_new_intent(ctx, fields, pm))
    ctx.emit("payment_intent.created", pi)
    return _confirm(ctx, pi, pm) if confirm else pi


@route("POST", "/v1/payment_intents/{intent}/confirm", intent_params.CONFIRM_PARAMS)
def confirm(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    pi = load(ctx.state, args["intent"])
    if pi["status"] not in CONFIRMABLE:
        raise _state_error("confirmed", pi, CONFIRMABLE)
    capture_method = get_enum(params, "capture_method", intent_params.CAPTURE_METHODS)
    pm = intent_params.payment_method(ctx, params, pi["customer"])
    if capture_method is not None:
        pi["capture_method"] = capture_method
    return _confirm(ctx, pi, pm)


@route(
    "POST",
    "/v1/payment_intents/{intent}/capture",
    ["amount_to_capture", "application_fee_amount", "metadata", "final_capture"],
)
def capture(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    pi = load(ctx.state, args["intent"])
    if pi["status"] != "requires_capture":
        raise _state_error("captured", pi, ("requires_capture",))
    amount = get_int(params, "amount_to_capture", minimum=1) or pi["amount_capturable"]
    if amount > pi["amount_capturable"]:
        raise invalid_request(
            f"The amount_to_capture ({amount}) must be less than or equal to the "
            f"amount_capturable ({pi['amount_capturable']}).",
            param="amount_to_capture",
            code="amount_too_large",
        )
    fee = get_int(params, "application_fee_amount", minimum=0)
    pi["metadata"] = get_metadata(params, pi["metadata"])
    if fee is not None:
        pi["application_fee_amount"] = fee
    charges.capture(ctx, ctx.state.objects[pi["latest_charge"]], amount)
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    ctx.emit("payment_intent.succeeded", pi)
    return pi


def _cancel(ctx: Ctx, pi: dict[str, Any], reason: str | None, charge_event: str) -> None:
    if pi["status"] == "requires_capture":
        charges.release(ctx, ctx.state.objects[pi["latest_charge"]], charge_event)
    pi.update(
        status="canceled", canceled_at=ctx.now(), cancellation_reason=reason, amount_capturable=0
    )
    ctx.emit("payment_intent.canceled", pi)


@route("POST", "/v1/payment_intents/{intent}/cancel", ["cancellation_reason"])
def cancel(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    pi = load(ctx.state, args["intent"])
    if pi["status"] not in CANCELABLE:
        raise _state_error("canceled", pi, CANCELABLE)
    _cancel(
        ctx, pi, get_enum(params, "cancellation_reason", CANCELLATION_REASONS), "charge.refunded"
    )
    return pi


@route("GET", "/v1/payment_intents/{intent}", ["client_secret"])
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx.state, args["intent"])


def expire_authorizations(ctx: Ctx) -> list[str]:
    """Cancel uncaptured intents whose authorization is older than 7 days (as Stripe does)."""
    expired = []
    for pi in ctx.state.of_type("payment_intent"):
        if (
            pi["status"] == "requires_capture"
            and ctx.now() >= pi["created"] + AUTHORIZATION_VALIDITY_SECONDS
        ):
            _cancel(ctx, pi, "automatic", "charge.expired")
            expired.append(pi["id"])
    return expired


ROUTES = [create, confirm, capture, cancel, retrieve]
