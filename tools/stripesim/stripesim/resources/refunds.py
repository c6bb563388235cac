"""Refund: create (by PaymentIntent or Charge), retrieve, list.

Only a captured charge can be refunded, up to what is left of it (``amount - amount_refunded``:
the part a partial capture released counts as refunded, as on Stripe). Every refund is
``succeeded`` at once (card refunds). With ``reverse_transfer`` a destination charge's transfer
gives back its share, with ``refund_application_fee`` the application fee does: in proportion to
the refunded amount, and whatever is left of them when the refund empties the charge (the
reversal is a ``transfer_reversal``, see ``transfers``). A pending bank debit cannot be refunded
yet, nor a disputed charge (``charge_disputed``) unless the dispute is a mere inquiry.
"""

from __future__ import annotations

from typing import Any

from stripesim.errors import StripeAPIError, invalid_request, resource_missing
from stripesim.forms import Params, get_bool, get_enum, get_int, get_metadata, get_str
from stripesim.resources import balance, charges, listing, payment_intents, transfers
from stripesim.resources.amounts import money
from stripesim.routing import route
from stripesim.state import Ctx

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
CREATE_PARAMS = (
    "amount",
    "charge",
    "payment_intent",
    "metadata",
    "reason",
    "reverse_transfer",
    "refund_application_fee",
)


def _refund_error(
    message: str, *, code: str | None = None, param: str | None = None
) -> StripeAPIError:
    """A refusal once the request is understood: Stripe stores it under the idempotency key."""
    return StripeAPIError(400, "invalid_request_error", message, code=code, param=param)


def _charge_of(ctx: Ctx, params: Params) -> dict[str, Any]:
    charge_id = get_str(params, "charge")
    intent_id = get_str(params, "payment_intent")
    if charge_id is None and intent_id is None:
        raise invalid_request(
            "One of the following params should be provided for this request: charge or "
            "payment_intent.",
            param="charge",
        )
    if intent_id is None:
        assert charge_id is not None
        charge = charges.load(ctx, charge_id)
        if not charge["captured"] and charge["status"] == "succeeded":
            intent = charge["payment_intent"]
            raise _refund_error(
                f"This uncaptured Charge was created by a PaymentIntent ({intent}). You must "
                "cancel the PaymentIntent to reverse the authorization instead of refunding the "
                "Charge directly.",
                param="charge",
            )
        return charge
    pi = payment_intents.load(ctx.state, intent_id)
    if pi["status"] != "succeeded" or pi["latest_charge"] is None:  # uncaptured, or unpaid
        raise _refund_error(
            f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
            param="payment_intent",
        )
    if charge_id is not None and charge_id != pi["latest_charge"]:
        raise invalid_request(
            f"The charge {charge_id} does not belong to the PaymentIntent {intent_id}.",
            param="charge",
        )
    return charges.load(ctx, pi["latest_charge"])


def _take_back(
    ctx: Ctx, charge: dict[str, Any], refund: dict[str, Any], emptied: bool, *, transfer: bool
) -> None:
    """Reverse the charge's transfer (``transfer``) or refund its application fee, in
    proportion to the refund (all that is left when the refund empties the charge)."""
    kind = "transfer" if transfer else "application_fee"
    obj = ctx.state.get(charge[kind], kind) if charge[kind] else None
    if obj is None:
        return
    if not transfer:
        transfers.refund_application_fee(ctx, obj, refund["amount"], charge["amount"], emptied)
        return
    amount = transfers.portion(obj, "amount_reversed", refund["amount"], charge["amount"], emptied)
    if amount > 0:
        reversal = transfers.reverse(ctx, obj, amount, source_refund=refund["id"])
        refund["transfer_reversal"] = reversal["id"]


def _check_refundable(ctx: Ctx, charge: dict[str, Any]) -> None:
    """Refuse a charge that is not (or not yet) paid, or that the customer disputed."""
    if charge["status"] == "pending":
        raise _refund_error(
            f"Charge {charge['id']} is pending and cannot be refunded until the payment "
            "succeeds. Cancel its PaymentIntent instead to stop the payment.",
            param="charge",
        )
    if charge["status"] != "succeeded":
        raise _refund_error(f"Charge {charge['id']} has failed and cannot be refunded.")
    if charge["disputed"] and not _refundable_dispute(ctx, charge["id"]):
        raise _refund_error(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )


def _refundable_dispute(ctx: Ctx, charge_id: str) -> bool:
    """An inquiry (``warning_*``) still lets the charge be refunded; a chargeback does not."""
    return all(d["is_charge_refundable"] for d in ctx.state.all_of("dispute", charge=charge_id))


@route("POST", "/v1/refunds", CREATE_PARAMS)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    requested = get_int(params, "amount", minimum=1)
    metadata = get_metadata(params)
    reason = get_enum(params, "reason", REASONS)
    reverse_transfer = get_bool(params, "reverse_transfer")
    refund_application_fee = get_bool(params, "refund_application_fee")
    charge = _charge_of(ctx, params)
    _check_refundable(ctx, charge)
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise _refund_error(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remaining if requested is None else requested
    if amount > remaining:
        currency = charge["currency"]
        raise _refund_error(
            f"Refund amount ({money(amount, currency)}) is greater than unrefunded amount on "
            f"charge ({money(remaining, currency)})",
            code="amount_too_large",
            param="amount",
        )
    refund = ctx.state.base_object("refund", "re_")
    refund.update(
        {
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "currency": charge["currency"],
            "destination_details": None,
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
    )
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    emptied = charge["amount_refunded"] == charge["amount"]
    balance.for_refund(ctx, refund, charge)
    if reverse_transfer:
        _take_back(ctx, charge, refund, emptied, transfer=True)
    if refund_application_fee:
        _take_back(ctx, charge, refund, emptied, transfer=False)
    ctx.state.put(refund)
    ctx.emit("refund.created", refund)
    ctx.emit("charge.refunded", charge)
    return refund


@route("GET", "/v1/refunds/{refund}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    refund = ctx.state.get(args["refund"], "refund")
    if refund is None:
        raise resource_missing("refund", args["refund"], "refund")
    return refund


@route(
    "GET", "/v1/refunds", ["charge", "payment_intent", "limit", "starting_after", "ending_before"]
)
def list_refunds(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    filters = {
        "charge": get_str(params, "charge"),
        "payment_intent": get_str(params, "payment_intent"),
    }
    return listing.page(ctx.state, params, "refund", filters, kind="refund", url="/v1/refunds")


ROUTES = [create, retrieve, list_refunds]
