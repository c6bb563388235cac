"""SetupIntent: create, retrieve, confirm, cancel — save a card for later off-session charges.

Status machine: requires_payment_method → requires_confirmation → succeeded, or
requires_action for cards that ask for 3D Secure (``authenticate`` completes or fails it);
open statuses → canceled. Success attaches the PaymentMethod to the customer (if any) and, with
``usage=off_session``, marks it set up for off-session use. A card that fails verification
answers 402 ``card_error`` with the SetupIntent in the error and leaves it in
requires_payment_method with ``last_setup_error`` (``setup_intent.setup_failed``). A
``us_bank_account`` PaymentMethod needs a mandate (``mandate_data``, see ``mandates``) and
succeeds at once with it: later debits (off-session too) run under that mandate.
"""

from __future__ import annotations

import copy
from typing import Any

from stripesim.errors import (
    DOC_URL,
    StripeAPIError,
    invalid_request,
    resource_missing,
    unexpected_state,
)
from stripesim.forms import (
    Params,
    check_known,
    get_bool,
    get_dict,
    get_enum,
    get_list,
    get_metadata,
    get_str,
)
from stripesim.resources import (
    ach,
    customers,
    intent_params,
    mandates,
    outcomes,
    payment_methods,
)
from stripesim.routing import route
from stripesim.state import Ctx, SimState, new_id

USAGES = ("off_session", "on_session")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = CONFIRMABLE
CANCELLATION_REASONS = ("abandoned", "duplicate", "requested_by_customer")
CONFIRM_PARAMS = ("payment_method", "return_url", "use_stripe_sdk", "mandate_data", "mandate")
CREATE_PARAMS = (
    *CONFIRM_PARAMS,
    "confirm",
    "customer",
    "description",
    "metadata",
    "usage",
    "on_behalf_of",
    "payment_method_types",
    "allowed_payment_method_types",
    "automatic_payment_methods",
)


def load(state: SimState, intent_id: str) -> dict[str, Any]:
    si = state.get(intent_id, "setup_intent")
    if si is None:
        raise resource_missing("setup_intent", intent_id, "intent")
    return si


def _state_error(action: str, si: dict[str, Any], allowed: tuple[str, ...]) -> StripeAPIError:
    return unexpected_state(
        f"This SetupIntent could not be {action} because it has a status of {si['status']}. "
        f"Only a SetupIntent with one of the following statuses may be {action}: "
        f"{', '.join(allowed)}.",
        copy.deepcopy(si),
    )


def _validated_create(ctx: Ctx, params: Params) -> dict[str, Any]:
    customer = get_str(params, "customer")
    if customer is not None:
        customers.load(ctx.state, customer)
    given: list[str] = []
    for name in ("payment_method_types", "allowed_payment_method_types"):
        types = get_list(params, name)
        if any(t not in intent_params.PAYMENT_METHOD_TYPES for t in types):
            raise invalid_request(
                f"stripesim supports only {name}[]=card|us_bank_account.", param=name
            )
        given = given or types
    automatic = get_dict(params, "automatic_payment_methods")
    check_known(automatic, ["enabled", "allow_redirects"], prefix="automatic_payment_methods")
    return {
        "automatic_payment_methods": automatic or None,
        "customer": customer,
        "description": get_str(params, "description"),
        "metadata": get_metadata(params),
        "on_behalf_of": intent_params.account(params, "on_behalf_of", "on_behalf_of"),
        "payment_method_types": list(dict.fromkeys(given)) or ["card"],
        "usage": get_enum(params, "usage", USAGES) or "off_session",
    }


def _new_intent(ctx: Ctx, fields: dict[str, Any], pm: dict[str, Any] | None) -> dict[str, Any]:
    si = ctx.state.base_object("setup_intent", "seti_")
    si.update(
        {
            "application": None,
            "cancellation_reason": None,
            "client_secret": f"{si['id']}_secret_{new_id('', 25)}",
            "flow_directions": None,
            "last_setup_error": None,
            "latest_attempt": None,
            "mandate": None,
            "next_action": None,
            "payment_method": pm["id"] if pm else None,
            "payment_method_options": _options(fields["payment_method_types"]),
            "single_use_mandate": None,
            "status": "requires_confirmation" if pm else "requires_payment_method",
            **fields,
        }
    )
    return si


def _options(types: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "card" in types:
        options["card"] = {
            "mandate_options": None,
            "network": None,
            "request_three_d_secure": "automatic",
        }
    if "us_bank_account" in types:
        options["us_bank_account"] = {"verification_method": "automatic"}
    return options


def _confirm(
    ctx: Ctx, si: dict[str, Any], pm: dict[str, Any] | None, params: Params
) -> dict[str, Any]:
    if pm is None and si["payment_method"] is not None:
        pm = ctx.state.get(si["payment_method"], "payment_method")
    if pm is None:
        raise unexpected_state(
            "You cannot confirm this SetupIntent because it's missing a payment method. "
            "Update the SetupIntent with a payment method and then confirm it again.",
            copy.deepcopy(si),
        )
    ach.check_allowed(si, pm)
    if pm["type"] == "us_bank_account":
        si["mandate"] = mandates.for_confirm(ctx, si, pm, params)["id"]
        return _succeed(ctx, si, pm)
    si["payment_method"] = pm["id"]
    outcome = outcomes.for_setup(ctx, pm)
    if outcome.declined:
        error = outcome.error({"payment_method": copy.deepcopy(pm)})
        si.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_setup_error=error.error_object(),
        )
        ctx.emit("setup_intent.setup_failed", si)
        error.extra["setup_intent"] = copy.deepcopy(si)
        raise error
    if outcome.status == "requires_action":
        si.update(
            status="requires_action",
            next_action=outcomes.next_action(si["id"]),
            last_setup_error=None,
        )
        ctx.emit("setup_intent.requires_action", si)
        return si
    return _succeed(ctx, si, pm)


def _succeed(ctx: Ctx, si: dict[str, Any], pm: dict[str, Any]) -> dict[str, Any]:
    si["payment_method"] = pm["id"]
    if si["customer"] is not None:
        payment_methods.attach_to(ctx, pm, si["customer"])
    if si["usage"] == "off_session":
        payment_methods.mark_set_up(ctx, pm["id"])
    si.update(status="succeeded", next_action=None, last_setup_error=None)
    ctx.emit("setup_intent.succeeded", si)
    return si


@route("POST", "/v1/setup_intents", CREATE_PARAMS)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    fields = _validated_create(ctx, params)
    confirm = get_bool(params, "confirm")
    pm = intent_params.payment_method(ctx, params, fields["customer"])
    si = ctx.state.put(_new_intent(ctx, fields, pm))
    ctx.emit("setup_intent.created", si)
    return _confirm(ctx, si, pm, params) if confirm else si


@route("GET", "/v1/setup_intents/{intent}", ["client_secret"])
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx.state, args["intent"])


@route("POST", "/v1/setup_intents/{intent}/confirm", CONFIRM_PARAMS)
def confirm(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    si = load(ctx.state, args["intent"])
    if si["status"] not in CONFIRMABLE:
        raise _state_error("confirmed", si, CONFIRMABLE)
    pm = intent_params.payment_method(ctx, params, si["customer"])
    return _confirm(ctx, si, pm, params)


@route("POST", "/v1/setup_intents/{intent}/cancel", ["cancellation_reason"])
def cancel(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    si = load(ctx.state, args["intent"])
    if si["status"] not in CANCELABLE:
        raise _state_error("canceled", si, CANCELABLE)
    reason = get_enum(params, "cancellation_reason", CANCELLATION_REASONS)
    si.update(status="canceled", cancellation_reason=reason, next_action=None)
    ctx.emit("setup_intent.canceled", si)
    return si


def authenticate(ctx: Ctx, si: dict[str, Any], succeed: bool) -> dict[str, Any]:
    """Finish the 3D Secure step of a SetupIntent in ``requires_action`` (the test control)."""
    pm = ctx.state.objects[si["payment_method"]]
    if succeed:
        return _succeed(ctx, si, pm)
    si.update(
        status="requires_payment_method",
        payment_method=None,
        next_action=None,
        last_setup_error={
            "type": "invalid_request_error",
            "code": "setup_intent_authentication_failure",
            "doc_url": DOC_URL.format(code="setup_intent_authentication_failure"),
            "message": "The latest attempt to set up the payment method has failed because "
            "authentication failed.",
            "payment_method": copy.deepcopy(pm),
        },
    )
    ctx.emit("setup_intent.setup_failed", si)
    return si


ROUTES = [create, retrieve, confirm, cancel]
