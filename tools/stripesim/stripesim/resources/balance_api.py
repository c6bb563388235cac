"""``GET /v1/balance``, ``GET /v1/balance_transactions`` (list) and ``/{id}`` (retrieve).

The list is newest first, as on Stripe, and filters on ``type``, ``source``, ``currency``
(indexes kept on write), ``payout`` (the balance transactions an automatic payout took, and the
payout's own) and ``created[gt|gte|lt|lte]`` (or ``created=<unix>``). Balance transactions are
created in ``created`` order (``balance.record``), so a ``created`` range is a slice of the
index found by bisection: a page costs about ``limit`` look-ups however long the history is,
and reading does not mark the objects for the next snapshot (``SimState.peek_seq``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from stripesim.errors import invalid_request, resource_missing
from stripesim.forms import Params, get_dict, get_int, get_str
from stripesim.indexes import contains, list_page
from stripesim.resources import balance, listing
from stripesim.routing import route
from stripesim.state import Ctx, SimState

LIST_PARAMS = ("created", "currency", "payout", "source", "type", *listing.PAGINATION_PARAMS)
_RANGE = ("gt", "gte", "lt", "lte")


@route("GET", "/v1/balance")
def retrieve_balance(ctx: Ctx, _params: Params, _args: dict[str, str]) -> dict[str, Any]:
    return balance.balance_object(ctx)


@route("GET", "/v1/balance_transactions/{txn}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    txn = ctx.state.get(args["txn"], "balance_transaction")
    if txn is None:
        raise resource_missing("balance_transaction", args["txn"], "id")
    return txn


def created_range(params: Params, name: str = "created") -> tuple[int | None, int | None]:
    """A timestamp filter (``created=<unix>`` or ``created[gt|gte|lt|lte]``) as an inclusive
    range (low, high); None where open."""
    if name not in params:
        return None, None
    if isinstance(params[name], str):
        exact = get_int(params, name)
        return exact, exact
    bounds = get_dict(params, name)
    unknown = sorted(set(bounds) - set(_RANGE))
    if unknown:
        raise invalid_request(f"Received unknown parameter: {name}[{unknown[0]}]", param=name)
    value = {op: get_int(bounds, op) for op in _RANGE}
    gt, lt = value["gt"], value["lt"]
    lows = [v for v in (value["gte"], None if gt is None else gt + 1) if v is not None]
    highs = [v for v in (value["lte"], None if lt is None else lt - 1) if v is not None]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _slice(state: SimState, seqs: list[int], low: int | None, high: int | None) -> list[int]:
    """The part of ``seqs`` created within [low, high] (they are in ``created`` order)."""
    if low is None and high is None:
        return seqs

    def created(seq: int) -> int:
        obj = state.peek_seq(seq)
        return 0 if obj is None else int(obj["created"])

    start = 0 if low is None else bisect_left(seqs, low, key=created)
    end = len(seqs) if high is None else bisect_right(seqs, high, key=created)
    return seqs[start:end]


def _of_payout(ctx: Ctx, payout_id: str) -> list[int]:
    """The sequence numbers of the balance transactions of an automatic payout, ascending
    (``payouts`` keeps them sorted in a private record). Stripe refuses a manual payout."""
    payout = ctx.state.get(payout_id, "payout")
    if payout is None:
        raise resource_missing("payout", payout_id, "payout")
    if not payout["automatic"]:
        raise invalid_request(
            "Balance transaction history can only be filtered on automatic transfers, not manual.",
            param="payout",
        )
    record = ctx.state.private.peek(balance.PAYOUT_TXNS_KEY + payout_id)
    return [] if record is None else list(record["seqs"])


def _cursor(state: SimState, params: Params, name: str, seqs: list[int]) -> int | None:
    cursor = get_str(params, name)
    if cursor is None:
        return None
    seq = state.seq(cursor)
    if seq is None or not contains(seqs, seq):
        raise resource_missing("balance_transaction", cursor, name)
    return seq


@route("GET", "/v1/balance_transactions", LIST_PARAMS)
def list_transactions(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    state = ctx.state
    limit = listing.get_limit(params)
    low, high = created_range(params)
    filters = {name: get_str(params, name) for name in ("type", "source", "currency")}
    payout = get_str(params, "payout")
    seqs, matches = state.find("balance_transaction", **filters)
    if payout is not None:
        seqs = _of_payout(ctx, payout)
    after = _cursor(state, params, "starting_after", seqs)
    before = None if after is not None else _cursor(state, params, "ending_before", seqs)
    data, has_more = list_page(
        _slice(state, seqs, low, high),
        state.peek_seq,
        limit=limit,
        after=after,
        before=before,
        matches=matches,
    )
    return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/balance_transactions"}


ROUTES = [retrieve_balance, list_transactions, retrieve]
