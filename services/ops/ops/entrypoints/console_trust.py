"""The console's trust pages: the dispute queue and a case (evidence edit, submit, accept, its
PDF summary), bookings and groups search, claims (show, decide) and cancellation policies
(list; publish for admins). Each page is one route, one GraphQL operation and one template;
an action posts a form with an idempotency token, asks first (`data-confirm`), and comes back
to its page with what was done, or with the API's refusal as a sentence."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eventkit.auth import Role
from ops.entrypoints.console import PAGE, Refusal, new_token, principal_of, render, run
from ops.entrypoints.console_trust_bookings import as_utc
from ops.service_layer import trust_ops

router = APIRouter(prefix="/console", include_in_schema=False)

STATUSES = ("open", "needs_response", "warning_needs_response", "submitting", "under_review",
            "accepting", "won", "lost", "accepted", "closed", "all")  # fmt: skip
DISPUTES = """query ($status: String, $reason: String, $due: String, $first: Int!,
                     $offset: Int!) {
  disputes(status: $status, reason: $reason, dueBefore: $due, first: $first, offset: $offset) {
    hasMore items { disputeId bookingId status reason amount currency dueBy openedAt }
  }
}"""


def _text(value: object) -> str:
    # A browser sends a textarea's line breaks as CRLF: compare and store them as LF.
    return str(value).replace("\r\n", "\n").strip()


def _back(path: str, **values: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode(values)}", status_code=303)


@router.get("/disputes", response_class=HTMLResponse)
async def disputes(
    request: Request, status: str = "", reason: str = "", due_before: str = "", offset: int = 0
) -> HTMLResponse:
    principal = principal_of(request)
    offset = max(offset, 0)
    data, errors = await run(
        request, principal, DISPUTES, status=status or None, reason=reason or None,
        due=as_utc(due_before), first=PAGE, offset=offset,
    )  # fmt: skip
    found = (data or {}).get("disputes") or {"items": [], "hasMore": False}
    filters = {"status": status, "reason": reason, "due_before": due_before}
    return render(
        request, principal, "trust_disputes.html", found=found, errors=errors,
        filters=filters, statuses=STATUSES, offset=offset,
        query=urlencode({k: v for k, v in filters.items() if v}),
        prev=max(offset - PAGE, 0) if offset > 0 else None,
        next=offset + PAGE if found["hasMore"] else None,
    )  # fmt: skip


CASE = """query ($id: String!) {
  dispute(id: $id) {
    disputeId processorDisputeId paymentId bookingId groupId guestId status reason amount
    currency inquiry dueBy openedAt outcome summaryPdfPath legs money submissions
    evidence { text { name value } assembled { name value } edits { name value }
               files { field filename contentType source size } }
    history { at actor trigger fromStatus toStatus detail }
    liability { outcome policyVersion rule hostAtFault hostFaultNote shares }
  }
}"""


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
async def case(request: Request, dispute_id: str, done: str = "") -> HTMLResponse:
    principal = principal_of(request)
    data, errors = await run(request, principal, CASE, id=dispute_id)
    return render(
        request, principal, "trust_case.html", case=(data or {}).get("dispute"),
        errors=errors, done=done, token=new_token(), dispute_id=dispute_id,
        may_act=principal.role in (Role.ADMIN, Role.TRUST),
    )  # fmt: skip


EDIT = """mutation ($t: String!, $id: String!, $fields: [EvidenceFieldInput!]!) {
  editDisputeEvidence(idempotencyToken: $t, disputeId: $id, fields: $fields) { status }
}"""
ANSWERS = {
    "submit": """mutation ($t: String!, $id: String!) {
      submitDisputeEvidence(idempotencyToken: $t, disputeId: $id) { status } }""",
    "accept": """mutation ($t: String!, $id: String!) {
      acceptDispute(idempotencyToken: $t, disputeId: $id) { status } }""",
}


async def _failed(request: Request, dispute_id: str, errors: list[str]) -> HTMLResponse:
    """The case again with the refusal on top, as sentences."""
    principal = principal_of(request)
    data, more = await run(request, principal, CASE, id=dispute_id)
    return render(
        request, principal, "trust_case.html", case=(data or {}).get("dispute"),
        errors=errors + more, done="", token=new_token(), dispute_id=dispute_id,
        may_act=principal.role in (Role.ADMIN, Role.TRUST),
    )  # fmt: skip


@router.post("/disputes/{dispute_id}/evidence")
async def edit_evidence(request: Request, dispute_id: str, token: str = Form(...)) -> Response:
    """Every `field:<name>` input that changed (an emptied one removes staff's text), plus
    the optional new field (`new_name`, `new_value`)."""
    principal = principal_of(request)
    form = await request.form()
    fields: list[dict[str, Any]] = []
    for key, value in form.items():
        if key.startswith("field:") and _text(value) != _text(form.get(f"was:{key[6:]}", "")):
            fields.append({"name": key[6:], "value": _text(value) or None})
    new_name = str(form.get("new_name", "")).strip()
    if new_name:
        fields.append({"name": new_name, "value": str(form.get("new_value", "")).strip()})
    if not fields:
        return await _failed(request, dispute_id, ["Nothing was changed, so nothing was saved."])
    _, errors = await run(request, principal, EDIT, t=token, id=dispute_id, fields=fields)
    if errors:
        return await _failed(request, dispute_id, errors)
    names = ", ".join(f["name"] for f in fields)
    return _back(f"/console/disputes/{dispute_id}", done=f"evidence saved ({names})")


UPLOAD = """mutation ($t: String!, $id: String!, $field: String!, $file: Upload!) {
  uploadDisputeEvidence(idempotencyToken: $t, disputeId: $id, field: $field, file: $file) {
    status }
}"""


@router.post("/disputes/{dispute_id}/files")
async def upload_file(
    request: Request,
    dispute_id: str,
    token: str = Form(...),
    field: str = Form(...),
    file: UploadFile = File(...),
) -> Response:
    principal = principal_of(request)
    _, errors = await run(
        request, principal, UPLOAD, t=token, id=dispute_id, field=field, file=file
    )
    if errors:
        return await _failed(request, dispute_id, errors)
    return _back(f"/console/disputes/{dispute_id}", done=f"{file.filename} added as {field}")


@router.post("/disputes/{dispute_id}/{answer}")
async def answer(
    request: Request, dispute_id: str, answer: str, token: str = Form(...)
) -> Response:
    principal = principal_of(request)
    if answer not in ANSWERS:
        missing = Refusal(f"There is no action called {answer!r}.", "not_found")
        return await _failed(request, dispute_id, [missing])
    data, errors = await run(request, principal, ANSWERS[answer], t=token, id=dispute_id)
    if errors:
        return await _failed(request, dispute_id, errors)
    status = next(iter((data or {}).values()))["status"]
    what = "evidence submitted" if answer == "submit" else "dispute accepted"
    return _back(f"/console/disputes/{dispute_id}", done=f"{what}; the case is {status}")


@router.get("/disputes/{dispute_id}/summary.pdf")
async def summary_pdf(request: Request, dispute_id: str) -> Response:
    """The PDF as it would be submitted now (a file, so not a GraphQL field)."""
    principal = principal_of(request)
    if principal.role not in (Role.ADMIN, Role.TRUST, Role.FINANCE):
        return Response("Your role may not read dispute evidence.", status_code=403)
    disputes = request.app.state.runtime.state["apis"].disputes
    found = await trust_ops.summary_pdf(disputes, dispute_id)
    return Response(found.content, status_code=found.status, media_type=found.media_type)
