"""Radar early fraud warnings: the card network reports that a charge looks fraudulent (a
chargeback may follow). Raised by the test control ``POST /_sim/charges/{id}/early_fraud_warning``
(``radar.early_fraud_warning.created``); retrieve and list as on Stripe.

A warning is ``actionable`` while the charge is neither fully refunded nor disputed (what Stripe
says: refunding it then may avoid the dispute).
"""

from __future__ import annotations

from typing import Any

from stripesim.errors import resource_missing
from stripesim.forms import Params, get_str
from stripesim.resources import listing
from stripesim.routing import route
from stripesim.state import Ctx

FRAUD_TYPES = (
    "card_never_received",
    "fraudulent_card_application",
    "made_with_counterfeit_card",
    "made_with_lost_card",
    "made_with_stolen_card",
    "misc",
    "unauthorized_use_of_card",
)
_OBJECT = "radar.early_fraud_warning"


def raise_warning(ctx: Ctx, charge: dict[str, Any], fraud_type: str) -> dict[str, Any]:
    warning = ctx.state.base_object(_OBJECT, "issfr_")
    warning.pop("metadata")
    warning.update(
        {
            "actionable": not (charge["refunded"] or charge["disputed"]),
            "charge": charge["id"],
            "fraud_type": fraud_type,
            "payment_intent": charge["payment_intent"],
        }
    )
    ctx.state.put(warning)
    ctx.emit("radar.early_fraud_warning.created", warning)
    return warning


@route("GET", "/v1/radar/early_fraud_warnings/{warning}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    found = ctx.state.get(args["warning"], _OBJECT)
    if found is None:
        raise resource_missing("early fraud warning", args["warning"], "early_fraud_warning")
    return found


@route(
    "GET",
    "/v1/radar/early_fraud_warnings",
    ["charge", "payment_intent", "created", *listing.PAGINATION_PARAMS],
)
def list_warnings(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    filters = {
        "charge": get_str(params, "charge"),
        "payment_intent": get_str(params, "payment_intent"),
    }
    return listing.page(
        ctx.state,
        params,
        _OBJECT,
        filters,
        kind="early fraud warning",
        url="/v1/radar/early_fraud_warnings",
    )


ROUTES = [list_warnings, retrieve]
