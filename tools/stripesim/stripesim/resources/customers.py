"""Customer: create, retrieve."""

from __future__ import annotations

from typing import Any

from stripesim.errors import resource_missing
from stripesim.forms import Params, get_metadata, get_str
from stripesim.resources import payment_methods
from stripesim.routing import route
from stripesim.state import Ctx, SimState


def load(state: SimState, customer_id: str, param: str = "customer") -> dict[str, Any]:
    customer = state.get(customer_id, "customer")
    if customer is None:
        raise resource_missing("customer", customer_id, param)
    return customer


@route(
    "POST", "/v1/customers", ["email", "name", "description", "phone", "metadata", "payment_method"]
)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    metadata = get_metadata(params)
    pm_id = get_str(params, "payment_method")
    customer = ctx.state.base_object("customer", "cus_")
    customer.update(
        {
            "address": None,
            "balance": 0,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": get_str(params, "description"),
            "email": get_str(params, "email"),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "metadata": metadata,
            "name": get_str(params, "name"),
            "phone": get_str(params, "phone"),
            "preferred_locales": [],
            "shipping": None,
        }
    )
    pm = payment_methods.resolve(ctx, pm_id, "payment_method") if pm_id else None
    if pm is not None:  # a declined card fails the whole request, before the customer exists
        payment_methods.check_attachable(ctx, pm, customer["id"])
    ctx.state.put(customer)
    ctx.emit("customer.created", customer)
    if pm is not None:
        payment_methods.attach_to(ctx, pm, customer["id"])
    return customer


@route("GET", "/v1/customers/{customer}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx.state, args["customer"])


ROUTES = [create, retrieve]
