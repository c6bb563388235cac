"""Charge: created by confirming a PaymentIntent; retrieve.

A captured destination charge (``transfer_data[destination]``) also creates what Stripe creates
for it: the Transfer of the captured amount minus the application fee to the connected account
(``charge.transfer``) and the ApplicationFee (``charge.application_fee``). Refunds with
``reverse_transfer`` / ``refund_application_fee`` take their share back from them.
"""

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
            "application_fee": None,
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
            "transfer": None,
            "transfer_data": pi["transfer_data"],
            "transfer_group": pi["transfer_group"],
        }
    )
    ctx.state.put(charge)
    if capture:
        _settle(ctx, charge)
    ctx.emit("charge.failed" if declined else "charge.succeeded", charge)
    return charge


def capture(
    ctx: Ctx, charge: dict[str, Any], amount: int, application_fee_amount: int | None = None
) -> None:
    charge["captured"] = True
    charge["amount_captured"] = amount
    charge["amount_refunded"] = charge["amount"] - amount
    if application_fee_amount is not None:
        charge["application_fee_amount"] = application_fee_amount
    _settle(ctx, charge)
    ctx.emit("charge.captured", charge)


def _settle(ctx: Ctx, charge: dict[str, Any]) -> None:
    """The transfer and application fee of a captured destination charge."""
    destination = (charge["transfer_data"] or {}).get("destination")
    if destination is None:
        return
    fee = charge["application_fee_amount"] or 0
    transfer = ctx.state.base_object("transfer", "tr_")
    transfer.update(
        {
            "amount": charge["amount_captured"] - fee,
            "amount_reversed": 0,
            "currency": charge["currency"],
            "destination": destination,
            "reversed": False,
            "source_transaction": charge["id"],
            "transfer_group": charge["transfer_group"],
        }
    )
    ctx.state.put(transfer)
    charge["transfer"] = transfer["id"]
    if fee:
        application_fee = ctx.state.base_object("application_fee", "fee_")
        del application_fee["metadata"]  # an ApplicationFee has none
        application_fee.update(
            {
                "account": destination,
                "amount": fee,
                "amount_refunded": 0,
                "charge": charge["id"],
                "currency": charge["currency"],
                "refunded": False,
            }
        )
        ctx.state.put(application_fee)
        charge["application_fee"] = application_fee["id"]


def release(ctx: Ctx, charge: dict[str, Any], event_type: str = "charge.refunded") -> None:
    """Release an uncaptured authorization (cancel → refunded, expiry → expired)."""
    charge["amount_refunded"] = charge["amount"]
    charge["refunded"] = True
    ctx.emit(event_type, charge)


def load(ctx: Ctx, charge_id: str, param: str = "charge") -> dict[str, Any]:
    charge = ctx.state.get(charge_id, "charge")
    if charge is None:
        raise resource_missing("charge", charge_id, param)
    return charge


@route("GET", "/v1/charges/{charge}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx, args["charge"])


@route("GET", "/v1/transfers/{transfer}")
def retrieve_transfer(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    transfer = ctx.state.get(args["transfer"], "transfer")
    if transfer is None:
        raise resource_missing("transfer", args["transfer"], "transfer")
    return transfer


@route("GET", "/v1/application_fees/{fee}")
def retrieve_application_fee(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    fee = ctx.state.get(args["fee"], "application_fee")
    if fee is None:
        raise resource_missing("application_fee", args["fee"], "id")
    return fee


ROUTES = [retrieve, retrieve_transfer, retrieve_application_fee]
