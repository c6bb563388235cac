"""Charge: created by confirming a PaymentIntent; retrieve."""

from __future__ import annotations

from typing import Any

from stripesim.errors import resource_missing
from stripesim.forms import Params
from stripesim.resources.outcomes import Outcome
from stripesim.routing import route
from stripesim.state import Ctx

_DECLINE_SELLER_MESSAGE = "The bank did not return any further details with this decline."


def create_for(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], outcome: Outcome
) -> dict[str, Any]:
    """Authorize (and, for automatic capture, capture) ``pi`` with ``pm``, or fail to."""
    declined = outcome.declined
    capture = pi["capture_method"] != "manual" and not declined
    charge = ctx.state.base_object("charge", "ch_")
    charge.update(
        {
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if capture else 0,
            "amount_refunded": 0,
            "application_fee_amount": pi["application_fee_amount"],
            "balance_transaction": None,
            "billing_details": pm["billing_details"],
            "captured": capture,
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "failure_code": outcome.code if declined else None,
            "failure_message": outcome.message if declined else None,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": pi["on_behalf_of"],
            "outcome": {
                "network_status": "declined_by_network" if declined else "approved_by_network",
                "reason": outcome.decline_code,
                "risk_level": "normal",
                "seller_message": _DECLINE_SELLER_MESSAGE if declined else "Payment complete.",
                "type": "issuer_declined" if declined else "authorized",
            },
            "paid": not declined,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {
                "card": {
                    "brand": pm["card"]["brand"],
                    "country": pm["card"]["country"],
                    "exp_month": pm["card"]["exp_month"],
                    "exp_year": pm["card"]["exp_year"],
                    "fingerprint": pm["card"]["fingerprint"],
                    "funding": pm["card"]["funding"],
                    "last4": pm["card"]["last4"],
                    "network": pm["card"]["brand"],
                },
                "type": "card",
            },
            "refunded": False,
            "status": "failed" if declined else "succeeded",
            "transfer_data": pi["transfer_data"],
            "transfer_group": pi["transfer_group"],
        }
    )
    ctx.state.put(charge)
    ctx.emit("charge.failed" if declined else "charge.succeeded", charge)
    return charge


def capture(ctx: Ctx, charge: dict[str, Any], amount: int) -> None:
    charge["captured"] = True
    charge["amount_captured"] = amount
    charge["amount_refunded"] = charge["amount"] - amount
    ctx.emit("charge.captured", charge)


def release(ctx: Ctx, charge: dict[str, Any], event_type: str = "charge.refunded") -> None:
    """Release an uncaptured authorization (cancel → refunded, expiry → expired)."""
    charge["amount_refunded"] = charge["amount"]
    charge["refunded"] = True
    ctx.emit(event_type, charge)


@route("GET", "/v1/charges/{charge}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    charge = ctx.state.get(args["charge"], "charge")
    if charge is None:
        raise resource_missing("charge", args["charge"], "charge")
    return charge


ROUTES = [retrieve]
