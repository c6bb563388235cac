"""The console's finance pages: payout queue (hold, release hold, release now, retry), reserve
policies (create, assign), daily close (run, report, acknowledge), reconciliation exceptions
(resolve) and a payment/refund lookup. Each page is one route, one GraphQL operation and one
template (`fin_*.html`); every form carries an idempotency token, and each money-moving
button asks first (the `data-confirm` dialog of base.html)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventkit.auth import Principal
from ops.entrypoints.console import PAGE, new_token, principal_of, render, run, templates

router = APIRouter(prefix="/console", include_in_schema=False)
VERBS = {
    "hold": "holdPayout",
    "release-hold": "releasePayoutHold",
    "release-now": "releasePayoutNow",
    "retry": "retryPayout",
}


# Stripe's zero-decimal currencies (its "Supported currencies" page): their minor unit is the
# unit, so ¥500 is 500, not 5.00. Every other currency we pay in has two decimals.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())


def money(amount: int | None, currency: str) -> str:
    """Minor units as a figure in major units with its currency: 123456 usd → 1,234.56 USD."""
    if amount is None:
        return "—"
    sign, units = "-" if amount < 0 else "", abs(amount)
    if currency.lower() in ZERO_DECIMAL:
        return f"{sign}{units:,} {currency.upper()}"
    return f"{sign}{units // 100:,}.{units % 100:02d} {currency.upper()}"


def _done(path: str, what: str) -> Response:
    sep = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{sep}{urlencode({'done': what})}", status_code=303)


def _page(request: Request, principal: Principal, name: str, **values: Any) -> HTMLResponse:
    return render(request, principal, name, token=new_token(), **values)


QUEUE = """query ($status: String, $host: String, $currency: String, $first: Int!,
                 $after: String) {
  payoutQueue(status: $status, hostId: $host, currency: $currency, first: $first,
              after: $after) {
    hasMore nextCursor
    items { id state hostAccountId bookingId amount gross currency holds dueAt }
  }
}"""


@router.get("/payouts", response_class=HTMLResponse)
async def payouts(
    request: Request, status: str = "", host: str = "", currency: str = "", after: str = ""
) -> HTMLResponse:
    """Pages by cursor (the last entry seen), so the whole queue can be walked; "First page"
    goes back to the start."""
    principal = principal_of(request)
    data, errors = await run(
        request, principal, QUEUE, status=status or None, host=host or None,
        currency=currency or None, first=PAGE, after=after or None,
    )  # fmt: skip
    found = (data or {}).get("payoutQueue") or {"items": [], "hasMore": False}
    query = urlencode({k: v for k, v in (("status", status), ("host", host),
                                          ("currency", currency)) if v})  # fmt: skip
    return _page(
        request, principal, "fin_payouts.html", found=found, errors=errors, status=status,
        host=host, currency=currency, query=query, after=after,
        next=found.get("nextCursor") if found["hasMore"] else None,
    )  # fmt: skip


ENTRY = """query ($id: String!) {
  payoutEntry(id: $id) {
    id kind state hostAccountId bookingId paymentId currency gross reserveAmount amount holds
    dueAt retries failureCode transferId details
    history { fromState toState trigger reason actor note at }
  }
}"""


@router.get("/payouts/{entry_id}", response_class=HTMLResponse)
async def payout(request: Request, entry_id: str, done: str = "") -> HTMLResponse:
    principal = principal_of(request)
    data, errors = await run(request, principal, ENTRY, id=entry_id)
    entry = (data or {}).get("payoutEntry")
    return _page(request, principal, "fin_payout.html", entry=entry, entry_id=entry_id,
                 errors=errors, done=done)  # fmt: skip


@router.post("/payouts/{entry_id}/{verb}")
async def payout_action(
    request: Request, entry_id: str, verb: str, token: str = Form(...), note: str = Form("")
) -> Response:
    principal = principal_of(request)
    field = VERBS.get(verb)
    if field is None:
        data, errors = None, [f"There is no payout action called {verb!r}."]
    else:
        mutation = f"""mutation ($t: String!, $id: String!, $note: String!) {{
          {field}(idempotencyToken: $t, entryId: $id, note: $note) {{ state }} }}"""
        data, errors = await run(request, principal, mutation, t=token, id=entry_id, note=note)
    if errors:  # the refusal above the entry as it is now
        data, more = await run(request, principal, ENTRY, id=entry_id)
        return _page(request, principal, "fin_payout.html", entry=(data or {}).get("payoutEntry"),
                     entry_id=entry_id, errors=errors + more, done="")  # fmt: skip
    state = next(iter((data or {}).values()))["state"]
    return _done(f"/console/payouts/{quote(entry_id)}", f"{verb.replace('-', ' ')}: now {state}")


RESERVES = """{ reservePolicies {
  policies { policyId version kind percentBps holdDays fixedAmount currency createdBy note
             createdAt }
  assignments { scope scopeKey policyId assignedBy assignedAt } } }"""


@router.get("/reserves", response_class=HTMLResponse)
async def reserves(request: Request, done: str = "") -> HTMLResponse:
    return await _reserves_page(request, principal_of(request), [], done)


async def _reserves_page(
    request: Request, principal: Principal, errors: list[str], done: str
) -> HTMLResponse:
    """The policies and assignments, after `errors` (a refused change) or `done` (a made one)."""
    data, more = await run(request, principal, RESERVES)
    found = (data or {}).get("reservePolicies") or {"policies": [], "assignments": []}
    return _page(request, principal, "fin_reserves.html", found=found, errors=errors + more,
                 done=done)  # fmt: skip


CREATE_POLICY = """mutation ($t: String!, $policyId: String!, $kind: String!, $percentBps: Int!,
    $holdDays: Int!, $fixedAmount: Int!, $currency: String, $note: String!) {
  createReservePolicy(idempotencyToken: $t, policyId: $policyId, kind: $kind,
    percentBps: $percentBps, holdDays: $holdDays, fixedAmount: $fixedAmount,
    currency: $currency, note: $note) { target result } }"""
ASSIGN_POLICY = """mutation ($t: String!, $policyId: String!, $scope: String!, $key: String!) {
  assignReservePolicy(idempotencyToken: $t, policyId: $policyId, scope: $scope,
                      scopeKey: $key) { target } }"""


@router.post("/reserves/create")
async def create_policy(
    request: Request,
    token: str = Form(...),
    policy_id: str = Form(""),
    kind: str = Form(""),
    percent_bps: int = Form(0),
    hold_days: int = Form(0),
    fixed_amount: int = Form(0),
    currency: str = Form(""),
    note: str = Form(""),
) -> Response:
    principal = principal_of(request)
    data, errors = await run(
        request, principal, CREATE_POLICY, t=token, policyId=policy_id.strip(), kind=kind,
        percentBps=percent_bps, holdDays=hold_days, fixedAmount=fixed_amount,
        currency=currency.strip() or None, note=note,
    )  # fmt: skip
    if errors:
        return await _reserves_page(request, principal, errors, "")
    version = data["createReservePolicy"]["result"]["version"]
    return _done("/console/reserves", f"policy {policy_id} version {version} created")


@router.post("/reserves/assign")
async def assign_policy(
    request: Request,
    token: str = Form(...),
    policy_id: str = Form(""),
    scope: str = Form(""),
    scope_key: str = Form(""),
) -> Response:
    principal = principal_of(request)
    _, errors = await run(
        request, principal, ASSIGN_POLICY, t=token, policyId=policy_id.strip(), scope=scope,
        key=scope_key.strip(),
    )  # fmt: skip
    if errors:
        return await _reserves_page(request, principal, errors, "")
    return _done("/console/reserves", f"{policy_id} applies to {scope} {scope_key}".strip())


def install(app: FastAPI) -> None:
    from ops.entrypoints import console_books

    templates.env.filters["money"] = money
    app.include_router(router)
    app.include_router(console_books.router)
