"""Payouts (``po_…``) of the platform's balance to its bank account: automatic daily payouts,
manual ones (``POST /v1/payouts``), retrieve, list; arrival, and failure (a test control).

Automatic payouts: when sim time passes the daily payout time (``state.payout_time`` seconds
after midnight UTC; ``STRIPESIM_PAYOUT_TIME``), every currency whose available balance is
positive is paid out in full: a ``pending`` payout (``automatic: true``, ``payout.created``) and
its ``payout`` balance transaction (− amount). The available balance transactions no earlier
payout took are the ones it pays out (``GET /v1/balance_transactions?payout=po_…``). It arrives
``state.payout_arrival_seconds`` later (``arrival_date``): ``paid`` (``payout.paid``), or, when
a failure was queued by ``/_sim/payouts/fail_next``, ``failed`` (``payout.failed``) with a
``payout_failure`` balance transaction that gives the money back to the available balance (the
next payout takes it again). The timers run each day in order (``timers``), so moving the clock
by a week makes seven payouts, each of what was available by its time.
"""

from __future__ import annotations

from typing import Any

from stripesim.errors import StripeAPIError, resource_missing
from stripesim.forms import Params, get_enum, get_int, get_metadata, get_str, require_str
from stripesim.indexes import list_page
from stripesim.resources import balance, listing
from stripesim.resources.balance_api import created_range
from stripesim.routing import route
from stripesim.state import Ctx

DAY = 24 * 60 * 60
SCHEDULE_KEY = "_sim:payout_schedule"
FAILURES_KEY = "_sim:payout_failures"
FAILS_KEY = "payout_fails:"  # private record of a payout that will fail when it arrives
BANK_ACCOUNT = "ba_sim_platform_bank"
FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or the "
    "number, of payouts allowed. This normally indicates that the bank account is a savings "
    "or other non-checking account.",
    "could_not_process": "The bank could not process this payout.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is "
    "invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}
STATUSES = ("pending", "paid", "failed", "canceled", "in_transit")


def next_time(after: int, time_of_day: int) -> int:
    """The first daily payout time (``time_of_day`` seconds after midnight UTC) after ``after``."""
    candidate = after - after % DAY + time_of_day
    return candidate if candidate > after else candidate + DAY


def due_automatic(ctx: Ctx) -> int | None:
    """The time of the next automatic payout if sim time has passed it (None otherwise, or when
    automatic payouts are off). The first call only sets the schedule: no payout for the past."""
    state = ctx.state
    if not state.automatic_payouts:
        return None
    schedule = state.private.peek(SCHEDULE_KEY)
    if schedule is None:
        state.private[SCHEDULE_KEY] = {"next_at": next_time(ctx.now(), state.payout_time)}
        return None
    next_at = int(schedule["next_at"])
    return next_at if next_at <= ctx.now() else None


def _new(ctx: Ctx, amount: int, currency: str, at: int, *, automatic: bool) -> dict[str, Any]:
    payout = ctx.state.base_object("payout", "po_")
    payout.update(
        {
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": at + ctx.state.payout_arrival_seconds,
            "automatic": automatic,
            "balance_transaction": None,
            "created": at,
            "currency": currency,
            "description": "STRIPE PAYOUT",
            "destination": BANK_ACCOUNT,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "method": "standard",
            "original_payout": None,
            "reconciliation_status": "in_progress" if automatic else "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": None,
            "status": "pending",
            "type": "bank_account",
        }
    )
    txn = balance.record(
        ctx,
        amount=-amount,
        currency=currency,
        type_="payout",
        category="payout",
        source=payout["id"],
        description="STRIPE PAYOUT",
        created=at,
    )
    payout["balance_transaction"] = txn["id"]
    ctx.state.put(payout)
    _queue_failure(ctx, payout)
    return payout


def _queue_failure(ctx: Ctx, payout: dict[str, Any]) -> None:
    """Give the payout the first failure ``/_sim/payouts/fail_next`` queued, if any."""
    queued = ctx.state.private.peek(FAILURES_KEY)
    if queued and queued["codes"]:
        codes = list(queued["codes"])
        ctx.state.private[FAILS_KEY + payout["id"]] = {"failure_code": codes.pop(0)}
        ctx.state.private[FAILURES_KEY] = {"codes": codes}


def queue_failures(ctx: Ctx, code: str, count: int) -> list[str]:
    """The next ``count`` payouts fail with ``code`` when they arrive; all queued codes."""
    queued = ctx.state.private.peek(FAILURES_KEY) or {"codes": []}
    codes = [*queued["codes"], *([code] * count)]
    ctx.state.private[FAILURES_KEY] = {"codes": codes}
    return codes


def _pay_out_currency(ctx: Ctx, currency: str, at: int) -> dict[str, Any] | None:
    """Pay out what is available in ``currency``: the balance transactions no payout took."""
    state = ctx.state
    waiting = state.unpaid.get(currency, {})
    found = {txn_id: state.objects.peek(txn_id) for txn_id in waiting}
    nets = {txn_id: int(txn["net"]) for txn_id, txn in found.items() if txn is not None}
    ids, amount = list(nets), sum(nets.values())
    if amount <= 0:
        return None
    payout = _new(ctx, amount, currency, at, automatic=True)
    ids.append(payout["balance_transaction"])
    waiting.clear()
    for txn_id in ids:
        state.private[balance.PAYOUT_KEY + txn_id] = {"payout": payout["id"]}
    seqs = sorted(seq for seq in map(state.seq, ids) if seq is not None)
    state.private[balance.PAYOUT_TXNS_KEY + payout["id"]] = {"seqs": seqs}
    ctx.emit("payout.created", payout)
    return payout


def pay_out_automatic(ctx: Ctx, at: int) -> list[str]:
    """The automatic payouts of the payout time ``at`` (one per currency with money); the
    schedule moves to the next day."""
    made = [_pay_out_currency(ctx, currency, at) for currency in sorted(ctx.state.unpaid)]
    ctx.state.private[SCHEDULE_KEY] = {"next_at": next_time(at, ctx.state.payout_time)}
    return [payout["id"] for payout in made if payout is not None]


def arrives_at(payout: dict[str, Any]) -> int | None:
    """When a payout on its way reaches the bank (None: it already did, or failed)."""
    return int(payout["arrival_date"]) if payout["status"] in ("pending", "in_transit") else None


def arrive(ctx: Ctx, payout_ids: list[str]) -> list[str]:
    """Those of ``payout_ids`` (due, see ``timers``) whose arrival date has come: paid, or
    failed if a failure was queued for them."""
    arrived = []
    for payout_id in payout_ids:
        payout = ctx.state.get(payout_id, "payout")
        due = None if payout is None else arrives_at(payout)
        if payout is None or due is None or ctx.now() < due:
            continue
        failure = ctx.state.private.peek(FAILS_KEY + payout_id)
        if failure is not None:
            _fail(ctx, payout, failure["failure_code"], due)
        else:
            payout.update(status="paid", reconciliation_status="completed")
            if not payout["automatic"]:
                payout["reconciliation_status"] = "not_applicable"
            ctx.emit("payout.paid", payout)
        arrived.append(payout_id)
    return arrived


def _fail(ctx: Ctx, payout: dict[str, Any], code: str, at: int) -> None:
    txn = balance.record(
        ctx,
        amount=payout["amount"],
        currency=payout["currency"],
        type_="payout_failure",
        category="payout_reversal",
        source=payout["id"],
        description=f"Payout failure ({code})",
        created=at,
    )
    payout.update(
        status="failed",
        failure_code=code,
        failure_message=FAILURE_MESSAGES.get(code, FAILURE_MESSAGES["could_not_process"]),
        failure_balance_transaction=txn["id"],
    )
    ctx.emit("payout.failed", payout)


@route(
    "POST",
    "/v1/payouts",
    ["amount", "currency", "description", "metadata", "method", "statement_descriptor"],
)
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    """A manual payout of part of the available balance."""
    amount = get_int(params, "amount", required=True, minimum=1)
    assert amount is not None
    currency = require_str(params, "currency").lower()
    metadata = get_metadata(params)
    get_enum(params, "method", ("standard",))
    available = ctx.state.balance.get((currency, "available"), 0)
    if amount > available:
        raise StripeAPIError(
            400,
            "invalid_request_error",
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low. You can use the /v1/balance endpoint to view your Stripe "
            "balance (for more details, see stripe.com/docs/api#balance).",
            code="balance_insufficient",
            param="amount",
        )
    payout = _new(ctx, amount, currency, ctx.now(), automatic=False)
    payout.update(
        metadata=metadata,
        description=get_str(params, "description") or payout["description"],
        statement_descriptor=get_str(params, "statement_descriptor"),
    )
    ctx.emit("payout.created", payout)
    return payout


@route("GET", "/v1/payouts/{payout}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    payout = ctx.state.get(args["payout"], "payout")
    if payout is None:
        raise resource_missing("payout", args["payout"], "id")
    return payout


@route(
    "GET",
    "/v1/payouts",
    ["status", "created", "arrival_date", "destination", *listing.PAGINATION_PARAMS],
)
def list_payouts(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    """Newest first; ``status``, ``destination``, ``created`` and ``arrival_date`` filter
    each payout (payouts are few: one a day per currency)."""
    status = get_enum(params, "status", STATUSES)
    destination = get_str(params, "destination")
    ranges = {name: created_range(params, name) for name in ("created", "arrival_date")}
    seqs, is_payout = ctx.state.find("payout")

    def within(payout: dict[str, Any], name: str) -> bool:
        low, high = ranges[name]
        value = int(payout[name])
        return (low is None or value >= low) and (high is None or value <= high)

    def matches(payout: dict[str, Any]) -> bool:
        return (
            is_payout(payout)
            and status in (None, payout["status"])
            and destination in (None, payout["destination"])
            and within(payout, "created")
            and within(payout, "arrival_date")
        )

    limit = listing.get_limit(params)
    cursors = {name: get_str(params, name) for name in ("starting_after", "ending_before")}
    for name, cursor in cursors.items():
        if cursor is not None and ctx.state.get(cursor, "payout") is None:
            raise resource_missing("payout", cursor, name)
    after = ctx.state.seq(cursors["starting_after"] or "")
    before = ctx.state.seq(cursors["ending_before"] or "") if after is None else None
    data, has_more = list_page(
        seqs, ctx.state.by_seq, limit=limit, after=after, before=before, matches=matches
    )
    return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/payouts"}


ROUTES = [create, list_payouts, retrieve]
