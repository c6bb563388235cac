"""PaymentIntent: create, confirm, capture, cancel, retrieve; authorization expiry.

Status machine (card): requires_payment_method → requires_confirmation →
requires_capture (capture_method=manual) | succeeded (automatic); any open status → canceled.
A bank debit (``us_bank_account``, with a mandate) goes processing until it settles (``ach``).
A declined confirm leaves the intent in requires_payment_method with last_payment_error.
A card that asks for 3D Secure moves it to requires_action (``authenticate`` completes or fails
it); off-session (``off_session=true``, with a PaymentMethod attached to the customer) there is
nobody to authenticate, so it declines with ``authentication_required`` instead.
"""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

from stripesim.errors import (
    DOC_URL,
    StripeAPIError,
    invalid_request,
    resource_missing,
    unexpected_state,
)
from stripesim.forms import (
    Params,
    get_bool,
    get_enum,
    get_int,
    get_metadata,
)
from stripesim.jsonio import clone
from stripesim.resources import (
    ach,
    charges,
    intent_params,
    mandates,
    outcomes,
    payment_methods,
)
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
        clone(pi),
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


def _confirm(
    ctx: Ctx,
    pi: dict[str, Any],
    pm: dict[str, Any] | None,
    params: Params,
    *,
    off_session: bool = False,
    error_on_requires_action: bool = False,
) -> dict[str, Any]:
    if pm is None and pi["payment_method"] is not None:
        pm = ctx.state.get(pi["payment_method"], "payment_method")
    if pm is None:
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Update the PaymentIntent with a payment method and then confirm it again.",
            clone(pi),
        )
    if off_session:
        intent_params.check_off_session(pm, pi["customer"])
    ach.check_allowed(pi, pm)
    if pm["type"] == "us_bank_account":
        return _debit(ctx, pi, pm, params)
    pi["payment_method"] = pm["id"]
    outcome = outcomes.for_payment(ctx, pm, customer=pi["customer"], off_session=off_session)
    if outcome.status == "requires_action":
        if error_on_requires_action:
            _fail(ctx, pi, pm, outcomes.AUTHENTICATION_REQUIRED, charge_id=None)
        pi.update(
            status="requires_action",
            next_action=outcomes.next_action(pi["id"]),
            last_payment_error=None,
        )
        ctx.emit("payment_intent.requires_action", pi)
        return pi
    return _charge(ctx, pi, pm, outcome)


def _charge(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], outcome: outcomes.Outcome
) -> dict[str, Any]:
    charge = charges.create_for(ctx, pi, pm, outcome)
    pi.update(latest_charge=charge["id"], next_action=None)
    if outcome.declined:
        _fail(ctx, pi, pm, outcome, charge_id=charge["id"])
    pi["last_payment_error"] = None
    _save_payment_method(ctx, pi, pm)
    if pi["capture_method"] == "manual":
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        ctx.emit("payment_intent.amount_capturable_updated", pi)
    else:
        pi.update(status="succeeded", amount_received=pi["amount"])
        ctx.emit("payment_intent.succeeded", pi)
    return pi


def _save_payment_method(ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any]) -> None:
    """``setup_future_usage`` with a customer: the PaymentMethod is saved to the customer."""
    if pi["setup_future_usage"] is not None and pi["customer"] is not None:
        payment_methods.attach_to(ctx, pm, pi["customer"])
        if pi["setup_future_usage"] == "off_session":
            payment_methods.mark_set_up(ctx, pm["id"])


def _debit(ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], params: Params) -> dict[str, Any]:
    """ACH Direct Debit: under a mandate, the debit goes to the bank; processing until it
    settles (``ach``)."""
    intent_params.check_bank_debit(pi["currency"], pi["capture_method"])
    mandate = mandates.for_confirm(ctx, pi, pm, params)
    ach.submit(ctx, pi, pm, mandate)
    _save_payment_method(ctx, pi, pm)
    ctx.emit("payment_intent.processing", pi)
    return pi


def _fail(
    ctx: Ctx,
    pi: dict[str, Any],
    pm: dict[str, Any],
    outcome: outcomes.Outcome,
    *,
    charge_id: str | None,
) -> NoReturn:
    """A declined attempt: 402 with the intent, which waits for another payment method."""
    extra: dict[str, Any] = {"payment_method": clone(pm)}
    if charge_id is not None:
        extra = {"charge": charge_id, **extra}
    error = outcome.error(extra)
    pi.update(
        status="requires_payment_method",
        payment_method=None,
        next_action=None,
        last_payment_error=error.error_object(),
    )
    ctx.emit("payment_intent.payment_failed", pi)
    error.extra["payment_intent"] = clone(pi)
    raise error


@route("POST", "/v1/payment_intents", intent_params.CREATE_PARAMS)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    fields = intent_params.validated_create(ctx, params)
    confirm = get_bool(params, "confirm")
    off_session = intent_params.off_session(params)
    if off_session and not confirm:
        raise invalid_request(
            "You can only pass `off_session` when `confirm` is `true`.", param="off_session"
        )
    pm = intent_params.payment_method(ctx, params, fields["customer"])
    if off_session and pm is not None:
        intent_params.check_off_session(pm, fields["customer"])
    pi = ctx.state.put(_new_intent(ctx, fields, pm))
    ctx.emit("payment_intent.created", pi)
    if not confirm:
        return pi
    return _confirm(
        ctx,
        pi,
        pm,
        params,
        off_session=off_session,
        error_on_requires_action=intent_params.error_on_requires_action(params),
    )


@route("POST", "/v1/payment_intents/{intent}/confirm", intent_params.CONFIRM_PARAMS)
def confirm(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    pi = load(ctx.state, args["intent"])
    if pi["status"] not in CONFIRMABLE:
        raise _state_error("confirmed", pi, CONFIRMABLE)
    capture_method = get_enum(params, "capture_method", intent_params.CAPTURE_METHODS)
    off_session = intent_params.off_session(params)
    on_error = intent_params.error_on_requires_action(params)
    pm = intent_params.payment_method(ctx, params, pi["customer"])
    if capture_method is not None:
        pi["capture_method"] = capture_method
    return _confirm(ctx, pi, pm, params, off_session=off_session, error_on_requires_action=on_error)


def authenticate(ctx: Ctx, pi: dict[str, Any], succeed: bool) -> dict[str, Any]:
    """Finish the 3D Secure step of an intent in ``requires_action`` (the test control)."""
    pm = ctx.state.objects[pi["payment_method"]]
    if not succeed:
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_payment_error={
                "type": "invalid_request_error",
                "code": "payment_intent_authentication_failure",
                "doc_url": DOC_URL.format(code="payment_intent_authentication_failure"),
                "message": "The provided PaymentMethod has failed authentication. You can "
                "provide payment_method_data or a new PaymentMethod to attempt to fulfill this "
                "PaymentIntent again.",
                "payment_method": clone(pm),
            },
        )
        ctx.emit("payment_intent.payment_failed", pi)
        return pi
    outcome = outcomes.for_payment(
        ctx, pm, customer=pi["customer"], off_session=False, authenticated=True
    )
    with contextlib.suppress(StripeAPIError):  # a decline after 3DS: the intent records it
        _charge(ctx, pi, pm, outcome)
    return pi


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
    if fee is not None and pi["transfer_data"] is None:
        raise invalid_request(
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
            "direct payment (using an OAuth key or Stripe-Account header) or destination payment "
            "(using `transfer_data[destination]`).",
            param="application_fee_amount",
        )
    if fee is not None and fee > amount:
        raise invalid_request(
            f"The application_fee_amount ({fee}) must be less than or equal to the amount to "
            f"capture ({amount}).",
            param="application_fee_amount",
        )
    pi["metadata"] = get_metadata(params, pi["metadata"])
    if fee is not None:
        pi["application_fee_amount"] = fee
    charges.capture(ctx, ctx.state.objects[pi["latest_charge"]], amount, fee)
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    ctx.emit("payment_intent.succeeded", pi)
    return pi


def _cancel(ctx: Ctx, pi: dict[str, Any], reason: str | None, charge_event: str) -> None:
    if pi["status"] == "requires_capture":
        charges.release(ctx, ctx.state.objects[pi["latest_charge"]], charge_event)
    elif pi["status"] == "processing":
        ach.cancel(ctx, pi)
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


def authorization_expires_at(pi: dict[str, Any]) -> int | None:
    """When an uncaptured authorization lapses (None: the intent holds none)."""
    if pi["status"] != "requires_capture":
        return None
    return int(pi["created"]) + AUTHORIZATION_VALIDITY_SECONDS


def expire_authorizations(ctx: Ctx, intent_ids: list[str]) -> list[str]:
    """Cancel those of ``intent_ids`` (due, see ``timers``) whose authorization is older than
    7 days, as Stripe does."""
    expired = []
    for intent_id in intent_ids:
        pi = ctx.state.get(intent_id, "payment_intent")
        due = None if pi is None else authorization_expires_at(pi)
        if pi is not None and due is not None and ctx.now() >= due:
            _cancel(ctx, pi, "automatic", "charge.expired")
            expired.append(pi["id"])
    return expired


ROUTES = [create, confirm, capture, cancel, retrieve]
