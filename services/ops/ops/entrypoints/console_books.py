"""The console's books pages: daily closes (run, report, acknowledge a difference with a note),
reconciliation exceptions (resolve with a note) and a payment/refund lookup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from eventkit.auth import Principal
from ops.entrypoints.console import PAGE, new_token, principal_of, render, run
from ops.entrypoints.console_finance import _done

router = APIRouter(prefix="/console", include_in_schema=False)

CLOSES = """query ($currency: String) {
  dailyCloses(currency: $currency) { businessDate currency status attempts closedAt blockers }
}"""


@router.get("/closes", response_class=HTMLResponse)
async def closes(request: Request, currency: str = "", done: str = "") -> HTMLResponse:
    principal = principal_of(request)
    data, errors = await run(request, principal, CLOSES, currency=currency or None)
    found = (data or {}).get("dailyCloses") or []
    return render(request, principal, "fin_closes.html", found=found, errors=errors,
                  currency=currency, done=done, token=new_token())  # fmt: skip


RUN_CLOSE = """mutation ($t: String!, $d: Date, $c: String) {
  runDailyClose(idempotencyToken: $t, businessDate: $d, currency: $c) { result } }"""


@router.post("/closes/run")
async def run_close(
    request: Request, token: str = Form(...), business_date: str = Form(""),
    currency: str = Form(""),
) -> Response:  # fmt: skip
    principal = principal_of(request)
    data, errors = await run(
        request, principal, RUN_CLOSE, t=token, d=business_date or None, c=currency or None
    )
    if errors:
        found, _ = await run(request, principal, CLOSES, currency=currency or None)
        return render(request, principal, "fin_closes.html", errors=errors,
                      found=(found or {}).get("dailyCloses") or [], currency=currency, done="",
                      token=new_token())  # fmt: skip
    reports = data["runDailyClose"]["result"]
    if len(reports) == 1:
        r = reports[0]
        return _done(
            f"/console/closes/{r['business_date']}/{r['currency']}", f"close {r['status']}"
        )
    said = ", ".join(f"{r['business_date']} {r['currency']}: {r['status']}" for r in reports)
    return _done("/console/closes", said or "nothing to close")


REPORT = """query ($d: Date!, $c: String!) {
  closeReport(businessDate: $d, currency: $c) {
    businessDate currency status closedAt figures balances
    tieouts { check ledger outside difference }
    blockers { item amount detail }
    acknowledged { item amount note actor }
  }
}"""


@router.get("/closes/{business_date}/{currency}", response_class=HTMLResponse)
async def report(request: Request, business_date: str, currency: str, done: str = "") -> Response:
    principal = principal_of(request)
    data, errors = await run(request, principal, REPORT, d=business_date, c=currency)
    return render(
        request, principal, "fin_close.html", report=(data or {}).get("closeReport"),
        errors=errors, business_date=business_date, currency=currency, done=done,
        token=new_token(),
    )  # fmt: skip


ACK = """mutation ($t: String!, $d: Date!, $c: String!, $item: String!, $amount: Int!,
                   $note: String!) {
  acknowledgeCloseDifference(idempotencyToken: $t, businessDate: $d, currency: $c, item: $item,
                             amount: $amount, note: $note) { target } }"""


@router.post("/closes/{business_date}/{currency}/acknowledge")
async def acknowledge(
    request: Request, business_date: str, currency: str, token: str = Form(...),
    item: str = Form(...), amount: int = Form(...), note: str = Form(""),
) -> Response:  # fmt: skip
    principal = principal_of(request)
    _, errors = await run(request, principal, ACK, t=token, d=business_date, c=currency,
                          item=item, amount=amount, note=note)  # fmt: skip
    if errors:
        data, more = await run(request, principal, REPORT, d=business_date, c=currency)
        return render(
            request, principal, "fin_close.html", report=(data or {}).get("closeReport"),
            errors=errors + more, business_date=business_date, currency=currency, done="",
            token=new_token(),
        )  # fmt: skip
    return _done(f"/console/closes/{business_date}/{currency}",
                 f"{item} acknowledged; run the close again to close the day")  # fmt: skip


EXCEPTIONS = """query ($status: String, $first: Int!, $offset: Int!) {
  reconciliationExceptions(status: $status, first: $first, offset: $offset) {
    hasMore items { id kind objectId currency detail status raisedAt ageSeconds resolvedBy note }
  }
}"""


@router.get("/reconciliation", response_class=HTMLResponse)
async def exceptions(
    request: Request, status: str = "open", offset: int = 0, done: str = ""
) -> HTMLResponse:
    principal = principal_of(request)
    return await _exceptions(request, principal, status, max(offset, 0), done, [])


async def _exceptions(
    request: Request, principal: Principal, status: str, offset: int, done: str,
    refused: list[str],
) -> HTMLResponse:  # fmt: skip
    data, errors = await run(request, principal, EXCEPTIONS, status=status or None, first=PAGE,
                             offset=offset)  # fmt: skip
    found = (data or {}).get("reconciliationExceptions") or {"items": [], "hasMore": False}
    return render(
        request, principal, "fin_reconciliation.html", found=found, errors=refused + errors,
        status=status, done=done, token=new_token(),
        prev=max(offset - PAGE, 0) if offset > 0 else None,
        next=offset + PAGE if found["hasMore"] else None,
    )  # fmt: skip


RESOLVE = """mutation ($t: String!, $id: Int!, $note: String!) {
  resolveReconciliationException(idempotencyToken: $t, id: $id, note: $note) { state } }"""


@router.post("/reconciliation/{exception_id}/resolve")
async def resolve(
    request: Request, exception_id: int, token: str = Form(...), note: str = Form("")
) -> Response:
    principal = principal_of(request)
    _, errors = await run(request, principal, RESOLVE, t=token, id=exception_id, note=note)
    if errors:
        return await _exceptions(request, principal, "open", 0, "", errors)
    return _done("/console/reconciliation", f"exception {exception_id} resolved")


LOOKUP = """query ($id: String!) {
  payments(bookingId: $id) { id bookingId purpose status amount capturedAmount refundedAmount
                             currency cardBrand cardLast4 createdAt }
  refunds(bookingId: $id) { id paymentId cause status amount currency method createdAt }
}"""
ONE = """query ($id: String!) {
  payment(id: $id) { id bookingId purpose status amount capturedAmount refundedAmount currency
                     cardBrand cardLast4 createdAt }
  refunds(paymentId: $id) { id paymentId cause status amount currency method createdAt }
}"""


@router.get("/payments", response_class=HTMLResponse)
async def payments(request: Request, id: str = "") -> HTMLResponse:
    """A payment id (pay_…) or a booking or group id: the payments and their refunds."""
    principal = principal_of(request)
    found: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    errors: list[str] = []
    wanted = id.strip()
    if wanted:
        if wanted.startswith("pay_"):
            data, errors = await run(request, principal, ONE, id=wanted)
            found = [data["payment"]] if data and data.get("payment") else []
        else:
            data, errors = await run(request, principal, LOOKUP, id=wanted)
            found = (data or {}).get("payments") or []
        refunds = (data or {}).get("refunds") or []
    return render(request, principal, "fin_payments.html", id=wanted, found=found,
                  refunds=refunds, errors=errors)  # fmt: skip
