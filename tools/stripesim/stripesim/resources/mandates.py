"""Mandate: the customer's authorization to debit a bank account (ACH Direct Debit).

Confirming a PaymentIntent or SetupIntent with a ``us_bank_account`` PaymentMethod needs one:
``mandate_data[customer_acceptance]`` (``type=online`` with ``online[ip_address]`` and
``online[user_agent]``, or ``type=offline``) creates it, ``mandate`` names an existing one, and a
PaymentMethod that already has an active mandate (an earlier confirm, e.g. for off-session
charges) reuses it. A dispute or a ``debit_not_authorized`` / ``account_closed`` /
``no_account`` return revokes it (``status=inactive``).
"""

from __future__ import annotations

import copy
from typing import Any

from stripesim.errors import StripeAPIError, invalid_request, parameter_missing, resource_missing
from stripesim.forms import Params, check_known, get_dict, get_enum, get_int, get_str
from stripesim.routing import route
from stripesim.state import Ctx

PARAMS = ("mandate_data", "mandate")
MISSING_MESSAGE = (
    "This PaymentIntent requires a mandate, but no existing mandate was found. Collect mandate "
    "acceptance from the customer and try again, providing acceptance data in the mandate_data "
    "parameter."
)
_PREFIX = "mandate_data[customer_acceptance]"


def load(ctx: Ctx, mandate_id: str, param: str = "mandate") -> dict[str, Any]:
    mandate = ctx.state.get(mandate_id, "mandate")
    if mandate is None:
        raise resource_missing("mandate", mandate_id, param)
    return mandate


def acceptance(ctx: Ctx, params: Params) -> dict[str, Any] | None:
    """The ``customer_acceptance`` of ``mandate_data``, validated (None without it)."""
    data = get_dict(params, "mandate_data")
    if not data:
        return None
    check_known(data, ["customer_acceptance"], prefix="mandate_data")
    accepted = get_dict(data, "customer_acceptance")
    if not accepted:
        raise parameter_missing(_PREFIX)
    check_known(accepted, ["type", "accepted_at", "online", "offline"], prefix=_PREFIX)
    kind = get_enum(accepted, "type", ("online", "offline"))
    if kind is None:
        raise parameter_missing(f"{_PREFIX}[type]")
    result: dict[str, Any] = {
        "accepted_at": get_int(accepted, "accepted_at") or ctx.now(),
        "type": kind,
    }
    if kind == "offline":
        return {**result, "offline": {}}
    online = get_dict(accepted, "online")
    check_known(online, ["ip_address", "user_agent"], prefix=f"{_PREFIX}[online]")
    for name in ("ip_address", "user_agent"):
        if get_str(online, name) is None:
            raise parameter_missing(f"{_PREFIX}[online][{name}]")
    return {
        **result,
        "online": {"ip_address": online["ip_address"], "user_agent": online["user_agent"]},
    }


def create(ctx: Ctx, pm: dict[str, Any], accepted: dict[str, Any]) -> dict[str, Any]:
    """A multi-use mandate for the PaymentMethod; it becomes the PaymentMethod's mandate."""
    mandate = ctx.state.base_object("mandate", "mandate_")
    del mandate["created"], mandate["metadata"]  # a Mandate has neither
    mandate.update(
        {
            "customer_acceptance": accepted,
            "multi_use": {},
            "on_behalf_of": None,
            "payment_method": pm["id"],
            "payment_method_details": {
                "type": pm["type"],
                pm["type"]: {"collection_method": None},
            },
            "status": "active",
            "type": "multi_use",
        }
    )
    ctx.state.put(mandate)
    ctx.state.private.setdefault(pm["id"], {})["mandate"] = mandate["id"]
    return mandate


def active_for(ctx: Ctx, pm_id: str) -> dict[str, Any] | None:
    mandate_id = ctx.state.private.get(pm_id, {}).get("mandate")
    mandate = ctx.state.get(mandate_id, "mandate") if mandate_id else None
    return mandate if mandate is not None and mandate["status"] == "active" else None


def revoke(ctx: Ctx, pm_id: str) -> None:
    """The bank account may no longer be debited under the mandate."""
    mandate = active_for(ctx, pm_id)
    if mandate is not None:
        mandate["status"] = "inactive"


def for_confirm(
    ctx: Ctx, intent: dict[str, Any], pm: dict[str, Any], params: Params
) -> dict[str, Any]:
    """The mandate a bank debit of ``pm`` runs under (new, named, or the PaymentMethod's own);
    without one, the 400 Stripe answers, with the intent waiting in requires_confirmation."""
    accepted = acceptance(ctx, params)
    if accepted is not None:
        return create(ctx, pm, accepted)
    mandate_id = get_str(params, "mandate")
    if mandate_id is not None:
        named = load(ctx, mandate_id)
        if named["payment_method"] != pm["id"] or named["status"] != "active":
            raise invalid_request(
                f"The mandate {mandate_id} is not active for the PaymentMethod {pm['id']}.",
                param="mandate",
            )
        return named
    existing = active_for(ctx, pm["id"])
    if existing is not None:
        return existing
    kind = intent["object"]
    intent.update(status="requires_confirmation", payment_method=pm["id"])
    raise StripeAPIError(
        400,
        "invalid_request_error",
        MISSING_MESSAGE.replace("PaymentIntent", "SetupIntent")
        if kind == "setup_intent"
        else MISSING_MESSAGE,
        param="mandate_data",
        extra={kind: copy.deepcopy(intent)},
    )


@route("GET", "/v1/mandates/{mandate}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx, args["mandate"])


ROUTES = [retrieve]
