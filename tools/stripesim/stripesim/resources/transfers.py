"""Transfer and TransferReversal (Connect): create, retrieve, update, list; reverse.

A transfer sends funds to a connected account (``destination``). With ``source_transaction``
it is funded from that charge ("separate charges and transfers"): the charge must have
succeeded and been captured, and what is transferred from it may not exceed what is left of it
(``amount - amount_refunded``, minus earlier transfers from it net of their reversals). A
destination charge's own transfer is created here too (``charges``), and so are the reversals
of refunds with ``reverse_transfer`` (``refunds``): every reversal is a ``transfer_reversal``.
"""

from __future__ import annotations

from typing import Any

from stripesim.errors import StripeAPIError, invalid_request, resource_missing
from stripesim.forms import (
    Params,
    get_bool,
    get_int,
    get_metadata,
    get_str,
    require_str,
)
from stripesim.resources import balance, intent_params, listing
from stripesim.resources.amounts import money, share
from stripesim.routing import route
from stripesim.state import Ctx, new_id

CREATE_PARAMS = (
    "amount",
    "currency",
    "destination",
    "transfer_group",
    "source_transaction",
    "source_type",
    "description",
    "metadata",
)
REVERSAL_PARAMS = ("amount", "description", "metadata", "refund_application_fee")
_EMBEDDED_REVERSALS = 10  # Stripe embeds the newest 10 reversals in ``transfer.reversals``


def load(ctx: Ctx, transfer_id: str, param: str = "transfer") -> dict[str, Any]:
    transfer = ctx.state.get(transfer_id, "transfer")
    if transfer is None:
        raise resource_missing("transfer", transfer_id, param)
    return transfer


def _refusal(message: str, *, param: str | None = None, code: str | None = None) -> StripeAPIError:
    """A refusal once the request is understood: stored under the idempotency key."""
    return StripeAPIError(400, "invalid_request_error", message, code=code, param=param)


def _reversals_of(ctx: Ctx, transfer_id: str) -> list[dict[str, Any]]:
    return ctx.state.all_of("transfer_reversal", transfer=transfer_id)


def _sync_reversals(ctx: Ctx, transfer: dict[str, Any]) -> None:
    """Refresh the ``reversals`` list object embedded in the transfer."""
    reversals = _reversals_of(ctx, transfer["id"])
    newest = list(reversed(reversals))
    transfer["reversals"] = {
        "object": "list",
        "data": newest[:_EMBEDDED_REVERSALS],
        "has_more": len(newest) > _EMBEDDED_REVERSALS,
        "total_count": len(newest),
        "url": f"/v1/transfers/{transfer['id']}/reversals",
    }


def new(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None,
    transfer_group: str | None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Create a transfer (``transfer.created``)."""
    transfer = ctx.state.base_object("transfer", "tr_")
    transfer.update(
        {
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": None,
            "currency": currency,
            "description": description,
            "destination": destination,
            "destination_payment": new_id("py_"),
            "metadata": metadata or {},
            "reversed": False,
            "source_transaction": source_transaction,
            "source_type": "card",
            "transfer_group": transfer_group,
        }
    )
    _sync_reversals(ctx, transfer)
    balance.for_transfer(ctx, transfer)
    ctx.state.put(transfer)
    ctx.emit("transfer.created", transfer)
    return transfer


def portion(obj: dict[str, Any], done_field: str, part: int, of: int, emptied: bool) -> int:
    """What taking back ``part / of`` of ``obj`` (a transfer or an application fee) comes to:
    its proportional share, or all that is left of it when ``emptied``."""
    left = int(obj["amount"] - obj[done_field])
    return left if emptied else min(left, share(part, of, obj["amount"]))


def reverse(
    ctx: Ctx,
    transfer: dict[str, Any],
    amount: int,
    *,
    metadata: dict[str, str] | None = None,
    source_refund: str | None = None,
) -> dict[str, Any]:
    """Take ``amount`` of the transfer back (``transfer.reversed``); the TransferReversal."""
    reversal = ctx.state.base_object("transfer_reversal", "trr_")
    reversal.update(
        {
            "amount": amount,
            "balance_transaction": None,
            "currency": transfer["currency"],
            "destination_payment_refund": new_id("pyr_"),
            "metadata": metadata or {},
            "source_refund": source_refund,
            "transfer": transfer["id"],
        }
    )
    balance.for_reversal(ctx, reversal)
    ctx.state.put(reversal)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    _sync_reversals(ctx, transfer)
    ctx.emit("transfer.reversed", transfer)
    return reversal


def refund_application_fee(
    ctx: Ctx, fee: dict[str, Any], part: int, of: int, emptied: bool
) -> None:
    """Refund ``part / of`` of an application fee (all that is left when ``emptied``)."""
    amount = portion(fee, "amount_refunded", part, of, emptied)
    if amount <= 0:
        return
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]


def available_from(ctx: Ctx, charge: dict[str, Any]) -> int:
    """What is left of a charge to transfer: not refunded and not transferred yet."""
    transferred = sum(
        t["amount"] - t["amount_reversed"]
        for t in ctx.state.all_of("transfer", source_transaction=charge["id"])
    )
    return max(0, charge["amount"] - charge["amount_refunded"] - transferred)


def _source_charge(ctx: Ctx, charge_id: str, amount: int, currency: str) -> dict[str, Any]:
    charge = ctx.state.get(charge_id, "charge")
    if charge is None:
        raise resource_missing("charge", charge_id, "source_transaction")
    if charge["status"] != "succeeded" or not charge["captured"]:
        state = charge["status"] if charge["status"] != "succeeded" else "uncaptured"
        raise _refusal(
            f"The source_transaction {charge_id} cannot fund a transfer: the charge is {state}. "
            "Only a captured charge that has succeeded can be used as a source_transaction.",
            param="source_transaction",
        )
    if charge["currency"] != currency:
        raise _refusal(
            f"The currency of the transfer ({currency}) must be the same as the currency of the "
            f"source_transaction {charge_id} ({charge['currency']}).",
            param="currency",
        )
    left = available_from(ctx, charge)
    if amount > left:
        raise _refusal(
            f"Transfer amount ({money(amount, currency)}) is greater than the amount available "
            f"to transfer from source_transaction {charge_id} ({money(left, currency)}).",
            param="amount",
            code="balance_insufficient",
        )
    return charge


@route("POST", "/v1/transfers", CREATE_PARAMS)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    amount = get_int(params, "amount", required=True, minimum=1)
    assert amount is not None
    currency = require_str(params, "currency").lower()
    destination = intent_params.account(params, "destination", "destination")
    if destination is None:
        raise invalid_request(
            "Missing required param: destination.", param="destination", code="parameter_missing"
        )
    metadata = get_metadata(params)
    source = get_str(params, "source_transaction")
    if source is not None:
        _source_charge(ctx, source, amount, currency)
    return new(
        ctx,
        amount=amount,
        currency=currency,
        destination=destination,
        source_transaction=source,
        transfer_group=get_str(params, "transfer_group"),
        description=get_str(params, "description"),
        metadata=metadata,
    )


@route("GET", "/v1/transfers/{transfer}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx, args["transfer"])


@route("POST", "/v1/transfers/{transfer}", ["description", "metadata"])
def update(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    transfer = load(ctx, args["transfer"])
    transfer["metadata"] = get_metadata(params, transfer["metadata"])
    if "description" in params:
        transfer["description"] = get_str(params, "description")
    ctx.emit("transfer.updated", transfer)
    return transfer


@route(
    "GET", "/v1/transfers", ["destination", "transfer_group", "created", *listing.PAGINATION_PARAMS]
)
def list_transfers(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    filters = {
        "destination": get_str(params, "destination"),
        "transfer_group": get_str(params, "transfer_group"),
    }
    return listing.page(
        ctx.state, params, "transfer", filters, kind="transfer", url="/v1/transfers"
    )


@route("POST", "/v1/transfers/{transfer}/reversals", REVERSAL_PARAMS)
def create_reversal(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    requested = get_int(params, "amount", minimum=1)
    metadata = get_metadata(params)
    get_str(params, "description")  # accepted; a TransferReversal shows no description
    with_fee = get_bool(params, "refund_application_fee")
    transfer = load(ctx, args["transfer"], "id")
    left = transfer["amount"] - transfer["amount_reversed"]
    currency = transfer["currency"]
    if left <= 0:
        raise _refusal(f"Transfer {transfer['id']} has already been fully reversed.")
    amount = left if requested is None else requested
    if amount > left:
        raise _refusal(
            f"Transfer reversal amount ({money(amount, currency)}) is greater than the amount "
            f"left to reverse on transfer {transfer['id']} ({money(left, currency)}).",
            param="amount",
            code="amount_too_large",
        )
    reversal = reverse(ctx, transfer, amount, metadata=metadata)
    if with_fee:
        _refund_fee_of(ctx, transfer, amount)
    return reversal


def _refund_fee_of(ctx: Ctx, transfer: dict[str, Any], reversed_amount: int) -> None:
    """``refund_application_fee``: the fee of the destination charge the transfer came from
    goes back in proportion to the reversal (all of it once the transfer is fully reversed)."""
    charge = ctx.state.get(transfer["source_transaction"] or "", "charge")
    if charge is None or charge["transfer"] != transfer["id"] or not charge["application_fee"]:
        return
    fee = ctx.state.get(charge["application_fee"], "application_fee")
    if fee is not None:
        refund_application_fee(
            ctx, fee, reversed_amount, transfer["amount"], emptied=transfer["reversed"]
        )


@route("GET", "/v1/transfers/{transfer}/reversals", listing.PAGINATION_PARAMS)
def list_reversals(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    transfer = load(ctx, args["transfer"], "id")
    url = f"/v1/transfers/{transfer['id']}/reversals"
    filters = {"transfer": transfer["id"]}
    return listing.page(
        ctx.state, params, "transfer_reversal", filters, kind="transfer_reversal", url=url
    )


@route("GET", "/v1/transfers/{transfer}/reversals/{reversal}")
def retrieve_reversal(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    transfer = load(ctx, args["transfer"], "id")
    reversal = ctx.state.get(args["reversal"], "transfer_reversal")
    if reversal is None or reversal["transfer"] != transfer["id"]:
        raise resource_missing("transfer_reversal", args["reversal"], "id")
    return reversal


ROUTES = [
    create,
    list_transfers,
    retrieve,
    update,
    create_reversal,
    list_reversals,
    retrieve_reversal,
]
