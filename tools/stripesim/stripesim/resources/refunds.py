"""Refund: create (by PaymentIntent or Charge), retrieve, list.

Only a captured charge can be refunded, up to what is left of it (``amount - amount_refunded``:
the part a partial capture released counts as refunded, as on Stripe). Every refund is
``succeeded`` at once (card refunds). With ``reverse_transfer`` a destination charge's transfer
gives back its share, with ``refund_application_fee`` the application fee does: in proportion to
the refunded amount, and whatever is left of them when the refund empties the charge.
"""

from __future__ import annotations

from typing import Any

from stripesim.errors import StripeAPIError, invalid_request, resource_missing
from stripesim.forms import Params, get_bool, get_enum, get_int, get_metadata, get_str
from stripesim.resources import charges, payment_intents
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
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
_ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf"})


def money(amount: int, currency: str) -> str:
    """An amount as Stripe writes it in error messages: ``$1.00``, ``¥500``, ``10.00 CHF``."""
    text = str(amount) if currency in _ZERO_DECIMAL else f"{amount / 100:.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


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


def _share(part: int, of: int, total: int) -> int:
    """``part / of`` of ``total``, rounded half up."""
    return (2 * part * total + of) // (2 * of) if of else 0


def _take_back(
    ctx: Ctx, charge: dict[str, Any], refund: dict[str, Any], emptied: bool, *, transfer: bool
) -> None:
    """Reverse the charge's transfer (``transfer``) or refund its application fee, in
    proportion to the refund (all that is left when the refund empties the charge)."""
    kind = "transfer" if transfer else "application_fee"
    obj = ctx.state.get(charge[kind], kind) if charge[kind] else None
    if obj is None:
        return
    done_field = "amount_reversed" if transfer else "amount_refunded"
    left = obj["amount"] - obj[done_field]
    amount = (
        left if emptied else min(left, _share(refund["amount"], charge["amount"], obj["amount"]))
    )
    if amount <= 0:
        return
    obj[done_field] += amount
    obj["reversed" if transfer else "refunded"] = obj[done_field] == obj["amount"]
    if transfer:
        reversal = ctx.state.base_object("transfer_reversal", "trr_")
        reversal.update(
            {
                "amount": amount,
                "currency": charge["currency"],
                "destination_payment_refund": None,
                "source_refund": refund["id"],
                "transfer": obj["id"],
            }
        )
        ctx.state.put(reversal)
        refund["transfer_reversal"] = reversal["id"]


@route("POST", "/v1/refunds", CREATE_PARAMS)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    requested = get_int(params, "amount", minimum=1)
    metadata = get_metadata(params)
    reason = get_enum(params, "reason", REASONS)
    reverse_transfer = get_bool(params, "reverse_transfer")
    refund_application_fee = get_bool(params, "refund_application_fee")
    charge = _charge_of(ctx, params)
    if charge["status"] != "succeeded":
        raise _refund_error(f"Charge {charge['id']} has failed and cannot be refunded.")
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
    limit = get_int(params, "limit", minimum=1) or 10
    if limit > 100:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    charge, intent = get_str(params, "charge"), get_str(params, "payment_intent")
    refunds = [
        r
        for r in reversed(ctx.state.of_type("refund"))
        if (charge is None or r["charge"] == charge)
        and (intent is None or r["payment_intent"] == intent)
    ]
    ids = [r["id"] for r in refunds]
    after, before = get_str(params, "starting_after"), get_str(params, "ending_before")
    for cursor, param in ((after, "starting_after"), (before, "ending_before")):
        if cursor is not None and cursor not in ids:
            raise resource_missing("refund", cursor, param)
    if after is not None:
        refunds = refunds[ids.index(after) + 1 :]
    elif before is not None:
        refunds = refunds[: ids.index(before)][-limit:]
    return {
        "object": "list",
        "data": refunds[:limit],
        "has_more": len(refunds) > limit,
        "url": "/v1/refunds",
    }


ROUTES = [create, retrieve, list_refunds]
