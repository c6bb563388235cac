"""Charge: created by confirming a PaymentIntent; retrieve.

A card charge succeeds or fails at once; a bank debit (ACH, ``us_bank_account``) is
``pending`` until it settles (``ach``), then ``succeeded`` or ``failed``.

A captured destination charge (``transfer_data[destination]``) also creates what Stripe creates
for it: the Transfer of the captured amount minus the application fee to the connected account
(``charge.transfer``) and the ApplicationFee (``charge.application_fee``). Refunds with
``reverse_transfer`` / ``refund_application_fee`` take their share back from them.
"""

from __future__ import annotations

from typing import Any

from stripesim.errors import resource_missing
from stripesim.forms import Params
from stripesim.resources import balance, transfers
from stripesim.resources.outcomes import Outcome
from stripesim.routing import route
from stripesim.state import Ctx

_DECLINE_SELLER_MESSAGE = "The bank did not return any further details with this decline."


def _base(ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any]) -> dict[str, Any]:
    """What every charge of ``pi`` with ``pm`` has, before its outcome."""
    charge = ctx.state.base_object("charge", "ch_")
    charge.update(
        {
            "amount": pi["amount"],
            "amount_captured": 0,
            "amount_refunded": 0,
            "application_fee": None,
            "application_fee_amount": pi["application_fee_amount"],
            "balance_transaction": None,
            "billing_details": pm["billing_details"],
            "captured": False,
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": pi["on_behalf_of"],
            "outcome": None,
            "paid": False,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": None,
            "refunded": False,
            "status": "pending",
            "transfer": None,
            "transfer_data": pi["transfer_data"],
            "transfer_group": pi["transfer_group"],
        }
    )
    return charge


def _outcome(declined: bool, reason: str | None = None) -> dict[str, Any]:
    return {
        "network_status": "declined_by_network" if declined else "approved_by_network",
        "reason": reason,
        "risk_level": "normal",
        "seller_message": _DECLINE_SELLER_MESSAGE if declined else "Payment complete.",
        "type": "issuer_declined" if declined else "authorized",
    }


def _three_d_secure(outcome: Outcome) -> dict[str, Any] | None:
    """A charge the customer authenticated with 3-D Secure (liability shifts to the issuer);
    None when it was not asked for."""
    if not outcome.authenticated:
        return None
    return {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": "05",
        "result": "authenticated",
        "result_reason": None,
        "version": "2.2.0",
    }


def create_for(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], outcome: Outcome
) -> dict[str, Any]:
    """Authorize (and, for automatic capture, capture) ``pi`` with ``pm``, or fail to."""
    declined = outcome.declined
    capture = pi["capture_method"] != "manual" and not declined
    charge = _base(ctx, pi, pm)
    charge.update(
        {
            "amount_captured": pi["amount"] if capture else 0,
            "captured": capture,
            "failure_code": outcome.code if declined else None,
            "failure_message": outcome.message if declined else None,
            "outcome": _outcome(declined, outcome.decline_code),
            "paid": not declined,
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
                    "three_d_secure": _three_d_secure(outcome),
                },
                "type": "card",
            },
            "status": "failed" if declined else "succeeded",
        }
    )
    ctx.state.put(charge)
    if capture:
        _settle(ctx, charge)
    ctx.emit("charge.failed" if declined else "charge.succeeded", charge)
    return charge


def create_pending(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], mandate_id: str
) -> dict[str, Any]:
    """A bank debit (ACH) submitted to the bank: ``pending`` until it settles
    (``charge.pending``); it counts as captured, but is not paid yet."""
    bank = pm["us_bank_account"]
    charge = _base(ctx, pi, pm)
    charge.update(
        {
            "amount_captured": pi["amount"],
            "captured": True,
            "payment_method_details": {
                "type": "us_bank_account",
                "us_bank_account": {
                    "account_holder_type": bank["account_holder_type"],
                    "account_type": bank["account_type"],
                    "bank_name": bank["bank_name"],
                    "fingerprint": bank["fingerprint"],
                    "last4": bank["last4"],
                    "mandate": mandate_id,
                    "payment_reference": None,
                    "routing_number": bank["routing_number"],
                },
            },
        }
    )
    ctx.state.put(charge)
    ctx.emit("charge.pending", charge)
    return charge


def succeed_pending(ctx: Ctx, charge: dict[str, Any]) -> None:
    """A pending bank debit settled: paid (and transferred, for a destination charge)."""
    charge.update(status="succeeded", paid=True, outcome=_outcome(False))
    details = charge["payment_method_details"]["us_bank_account"]
    details["payment_reference"] = f"{details['routing_number']}{charge['id'][-6:].upper()}"
    _settle(ctx, charge)
    ctx.emit("charge.succeeded", charge)


def fail_pending(ctx: Ctx, charge: dict[str, Any], code: str | None, message: str) -> None:
    """A pending bank debit the bank returned (or a processing one that was canceled)."""
    charge.update(
        status="failed",
        failure_code=code,
        failure_message=message,
        outcome=_outcome(True, code),
    )
    ctx.emit("charge.failed", charge)


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
    """The money of a captured (or settled) charge: its balance transaction, and for a
    destination charge the transfer and the application fee."""
    balance.for_charge(ctx, charge)
    destination = (charge["transfer_data"] or {}).get("destination")
    if destination is None:
        return
    fee = charge["application_fee_amount"] or 0
    transfer = transfers.new(
        ctx,
        amount=charge["amount_captured"] - fee,
        currency=charge["currency"],
        destination=destination,
        source_transaction=charge["id"],
        transfer_group=charge["transfer_group"],
    )
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


@route("GET", "/v1/application_fees/{fee}")
def retrieve_application_fee(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    fee = ctx.state.get(args["fee"], "application_fee")
    if fee is None:
        raise resource_missing("application_fee", args["fee"], "id")
    return fee


ROUTES = [retrieve, retrieve_application_fee]
