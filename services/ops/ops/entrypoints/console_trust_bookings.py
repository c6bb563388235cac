"""The console's trust pages on the gateway's data: bookings and booking groups search (each
linking to its saga timeline), a booking with its claims, a claim with its decision, and the
cancellation policies (published by admins). One route, one GraphQL operation, one template
each; the claim decision and a publication ask first and carry an idempotency token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ops.entrypoints.console import PAGE, new_token, principal_of, render, run
from ops.entrypoints.console_finance import ZERO_DECIMAL

router = APIRouter(prefix="/console", include_in_schema=False)

BOOKINGS = """query ($guest: String, $host: String, $listing: String, $status: String,
                     $from: String, $to: String, $cursor: String, $limit: Int!) {
  bookings(guestId: $guest, hostId: $host, listingId: $listing, status: $status, from: $from,
           to: $to, cursor: $cursor, limit: $limit) {
    nextCursor items { bookingId status paymentStatus guestId hostId listingId startsAt endsAt
                       amount currency groupId }
  }
}"""
GROUPS = """query ($guest: String, $status: String, $cursor: String, $limit: Int!) {
  checkoutGroups(guestId: $guest, status: $status, cursor: $cursor, limit: $limit) {
    nextCursor items { groupId status paymentStatus guestId amount currency failureReason
                       createdAt legs { bookingId listingId status } }
  }
}"""
BOOKING_FILTERS = ("guest", "host", "listing", "status", "from", "to")


def as_utc(value: str) -> str | None:
    """A date or a datetime typed in a form, as the gateway takes it (UTC when no offset)."""
    value = value.strip()
    if not value:
        return None
    if len(value) == 10:
        return f"{value}T00:00:00Z"
    return value if value.endswith("Z") or "+" in value[10:] else f"{value}Z"


@router.get("/bookings", response_class=HTMLResponse)
async def bookings(request: Request, kind: str = "bookings", cursor: str = "") -> HTMLResponse:
    principal = principal_of(request)
    given = {k: request.query_params.get(k, "").strip() for k in BOOKING_FILTERS}
    if kind == "groups":
        data, errors = await run(
            request, principal, GROUPS, guest=given["guest"] or None,
            status=given["status"] or None, cursor=cursor or None, limit=PAGE,
        )  # fmt: skip
        found = (data or {}).get("checkoutGroups")
    else:
        values: dict[str, Any] = {k: v or None for k, v in given.items()}
        values |= {"from": as_utc(given["from"]), "to": as_utc(given["to"])}
        data, errors = await run(
            request, principal, BOOKINGS, cursor=cursor or None, limit=PAGE, **values
        )
        found = (data or {}).get("bookings")
    query = urlencode({"kind": kind, **{k: v for k, v in given.items() if v}})
    return render(
        request, principal, "trust_bookings.html", kind=kind, given=given, errors=errors,
        found=found or {"items": [], "nextCursor": None}, query=query, first=not cursor,
    )  # fmt: skip


BOOKING = """query ($id: String!) {
  booking(id: $id) { bookingId status paymentStatus guestId hostId listingId startsAt endsAt
                     amount currency paymentId groupId mode createdAt }
  claims(bookingId: $id) { claimId status amount currency description createdAt }
}"""


@router.get("/bookings/{booking_id}", response_class=HTMLResponse)
async def booking(request: Request, booking_id: str) -> HTMLResponse:
    principal = principal_of(request)
    data, errors = await run(request, principal, BOOKING, id=booking_id)
    return render(
        request, principal, "trust_booking.html", booking=(data or {}).get("booking"),
        claims=(data or {}).get("claims") or [], errors=errors, booking_id=booking_id,
    )  # fmt: skip


CLAIM = """query ($id: String!) {
  claim(id: $id) { claimId bookingId hostId guestId status amount currency description
                   respondBy contestReason decidedAmount decidedBy decisionNote failureReason
                   createdAt evidence { n filename contentType size } }
}"""
DECIDE = """mutation ($t: String!, $id: String!, $amount: Int!, $note: String!) {
  decideClaim(idempotencyToken: $t, claimId: $id, amount: $amount, note: $note) { status }
}"""


async def _claim_page(
    request: Request, claim_id: str, done: str = "", errors: list[str] | None = None
) -> HTMLResponse:
    principal = principal_of(request)
    data, more = await run(request, principal, CLAIM, id=claim_id)
    return render(
        request, principal, "trust_claim.html", claim=(data or {}).get("claim"),
        errors=(errors or []) + more, done=done, token=new_token(), claim_id=claim_id,
    )  # fmt: skip


@router.get("/claims")
async def find_claim(request: Request, id: str = "") -> Response:
    """The bookings page's "open a claim" box."""
    principal_of(request)
    if not id.strip():
        return RedirectResponse("/console/bookings", status_code=303)
    return RedirectResponse(f"/console/claims/{quote(id.strip(), safe='')}", status_code=303)


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
async def claim(request: Request, claim_id: str, done: str = "") -> HTMLResponse:
    return await _claim_page(request, claim_id, done)


def minor_units(typed: str, currency: str) -> int:
    """What staff typed, in major units, as the currency's minor units: 12.50 USD is 1250; a
    zero-decimal currency's unit is its minor unit (¥500 is 500). ValueError or OverflowError
    for what is not a finite number."""
    return round(float(typed) * (1 if currency.lower() in ZERO_DECIMAL else 100))


@router.post("/claims/{claim_id}/decide")
async def decide(
    request: Request,
    claim_id: str,
    token: str = Form(...),
    amount: str = Form(...),
    note: str = Form(""),
) -> Response:
    principal = principal_of(request)
    found, _ = await run(request, principal, CLAIM, id=claim_id)  # not found: DECIDE says so
    currency = ((found or {}).get("claim") or {}).get("currency") or "usd"
    try:
        minor = minor_units(amount, currency)
    except (ValueError, OverflowError):  # OverflowError: inf, 1e400
        return await _claim_page(request, claim_id, errors=["The amount must be a number."])
    data, errors = await run(
        request, principal, DECIDE, t=token, id=claim_id, amount=minor, note=note.strip()
    )
    if errors:
        return await _claim_page(request, claim_id, errors=errors)
    status = (data or {})["decideClaim"]["status"]
    done = urlencode({"done": f"claim decided; it is {status}"})
    return RedirectResponse(f"/console/claims/{claim_id}?{done}", status_code=303)


POLICIES = """{ cancellationPolicies { name version graceHours graceMinLeadHours serviceFee
                                      hostPenaltyBps bands { hoursBefore refundBps } } }"""
PUBLISH = """mutation ($t: String!, $p: CancellationPolicyInput!) {
  publishCancellationPolicy(idempotencyToken: $t, policy: $p) { name version }
}"""


@router.get("/cancellation-policies", response_class=HTMLResponse)
async def policies(request: Request, done: str = "") -> HTMLResponse:
    return await _policies_page(request, done)


async def _policies_page(
    request: Request, done: str = "", errors: list[str] | None = None
) -> HTMLResponse:
    principal = principal_of(request)
    data, more = await run(request, principal, POLICIES)
    return render(
        request, principal, "trust_policies.html", errors=(errors or []) + more, done=done,
        policies=(data or {}).get("cancellationPolicies") or [], token=new_token(),
    )  # fmt: skip


def _bands(text: str) -> list[dict[str, int]]:
    """Lines of `hours_before:refund_percent`, e.g. `48:100` then `24:50`."""
    bands = []
    for line in text.replace(",", "\n").splitlines():
        if line.strip():
            hours, _, percent = line.partition(":")
            bands.append(
                {"hoursBefore": int(hours), "refundBps": round(float(percent or "x") * 100)}
            )
    return bands


@router.post("/cancellation-policies")
async def publish(
    request: Request,
    token: str = Form(...),
    name: str = Form(...),
    bands: str = Form(...),
    grace_hours: int = Form(24),
    service_fee: str = Form("grace_only"),
) -> Response:
    principal = principal_of(request)
    try:
        policy = {"name": name.strip(), "bands": _bands(bands), "graceHours": grace_hours}
    except (ValueError, OverflowError):  # OverflowError: a percent of inf or 1e400
        return await _policies_page(
            request, errors=["Write each band as hours:percent on its own line, e.g. 48:100."]
        )
    policy["serviceFee"] = service_fee
    data, errors = await run(request, principal, PUBLISH, t=token, p=policy)
    if errors:
        return await _policies_page(request, errors=errors)
    made = (data or {})["publishCancellationPolicy"]
    done = urlencode({"done": f"{made['name']} version {made['version']} published"})
    return RedirectResponse(f"/console/cancellation-policies?{done}", status_code=303)
