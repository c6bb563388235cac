"""The disputes API for trust staff (roles `trust`, `admin`; `service` callers acting for one):
the queue by deadline, one case with its evidence, history and money, evidence edits and
files, submit, accept, host fault.
Refusals use the one error body (eventkit.http_errors) with the codes of domain/errors.py."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from disputes.domain import evidence
from disputes.domain.case import TERMINAL, Status
from disputes.domain.errors import DisputeError, ErrorCode
from disputes.entrypoints import views
from disputes.entrypoints.auth import READER, Staff
from disputes.service_layer import evidence as packages
from disputes.service_layer.cases import Cases
from disputes.service_layer.handlers import DisputesHandlers, UnitOfWork
from domainkit.transitions import IllegalTransition
from eventkit import acting
from eventkit.fields import MULTI_LINE, BoundedInstant
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN, ErrorOut, error_response
from marketplace_contracts.events.payments_disputes import DisputeReason

router = APIRouter(prefix="/v1", tags=["disputes"], dependencies=READER)
DisputeId = Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
# The queue's filters: a status or a set of them; the bank's reason (the contracts' list).
StatusFilter = Literal[
    "open",
    "closed",
    "all",
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "needs_response",
    "submitting",
    "under_review",
    "accepting",
    "won",
    "lost",
    "accepted",
]
STATUS_SETS: dict[str, set[str] | None] = {
    "open": {str(s) for s in Status} - {str(s) for s in TERMINAL},
    "closed": {str(s) for s in TERMINAL},
    "all": None,
}
Reason = DisputeReason
STATUS = {
    ErrorCode.CASE_NOT_FOUND: 404,
    ErrorCode.ILLEGAL_TRANSITION: 409,
    ErrorCode.EVIDENCE_LOCKED: 409,
    ErrorCode.CASE_RESOLVED: 409,
    ErrorCode.UNKNOWN_EVIDENCE_FIELD: 422,
    ErrorCode.UNSUPPORTED_FILE_TYPE: 422,
    ErrorCode.EMPTY_FILE: 422,
    ErrorCode.EVIDENCE_TOO_LARGE: 413,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
}


def _refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The domain refusals an operation can answer, documented with the one error body."""
    what = {
        409: "Not in this state: `illegal_transition`, `evidence_locked`, `case_resolved`",
        411: "An upload without Content-Length: `length_required`",
        413: "Past the case's budget for files: `evidence_too_large`",
        422: "Not evidence: `unknown_evidence_field`, `unsupported_file_type`, `empty_file`",
    }
    return {s: {"model": ErrorOut, "description": what[s]} for s in statuses}


class TextEdits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: dict[
        Annotated[str, Field(max_length=64)],
        Annotated[str, Field(max_length=evidence.FIELD_LIMIT, pattern=MULTI_LINE)] | None,
    ] = Field(max_length=len(evidence.TEXT_FIELDS))


class HostFault(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    at_fault: bool
    note: str = Field(default="", max_length=2000, pattern=MULTI_LINE)


def _handlers(request: Request) -> DisputesHandlers:
    handlers: DisputesHandlers = request.app.state.runtime.state["handlers"]
    return handlers


def _uow(request: Request) -> AbstractAsyncContextManager[UnitOfWork]:
    return _handlers(request).begin(request.app.state.runtime.db)


def _cursor(value: str | None) -> tuple[datetime, str] | None:
    if not value:
        return None
    try:
        due, dispute_id = base64.urlsafe_b64decode(value.encode()).decode().split("|", 1)
        return datetime.fromisoformat(due), dispute_id
    except (ValueError, binascii.Error):
        raise HTTPException(422, {"code": "invalid_cursor", "message": "not a cursor"}) from None


@router.get("/disputes", summary="The queue of cases, soonest due first")
async def queue(
    request: Request,
    status: Annotated[
        StatusFilter,
        Query(description="A case status, or `open` (not closed: the default), `closed`, `all`."),
    ] = "open",
    reason: Annotated[
        Reason | None, Query(description="The bank's reason, as Stripe names it.")
    ] = None,
    host_account_id: Annotated[
        str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
    ] = None,
    due_before: BoundedInstant | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> dict[str, Any]:
    filters = {
        "status": STATUS_SETS.get(status, {status}),
        "reason": {reason} if reason else None,
        "host_account_id": host_account_id,
        "due_before": due_before,
    }
    async with _uow(request) as uow:
        rows = await uow.cases.queue(filters, _cursor(cursor), limit + 1)
    more = rows[limit:]
    page = rows[:limit]
    next_cursor = None
    if more:
        last = page[-1]
        raw = f"{last['queue_key'].isoformat()}|{last['dispute_id']}"
        next_cursor = base64.urlsafe_b64encode(raw.encode()).decode()
    return {"data": [views.summary(r) for r in page], "next_cursor": next_cursor}


@router.get("/disputes/{dispute_id}", summary="One case: evidence, history and money")
async def get_case(request: Request, dispute_id: DisputeId) -> dict[str, Any]:
    async with _uow(request) as uow:
        return await _case(uow, dispute_id)


async def _case(uow: UnitOfWork, dispute_id: str) -> dict[str, Any]:
    row = await uow.cases.row(dispute_id)
    if row is None:
        raise DisputeError(ErrorCode.CASE_NOT_FOUND, f"no dispute {dispute_id}")
    text, assembled = await packages.text_of(uow, row)
    files = await uow.cases.files(dispute_id)
    taken = {f["field"] for f in files}
    wanted = (evidence.summary_field(row["reason"]), "uncategorized_file")
    warnings = await uow.facts.fraud_warnings(row["payment_id"])
    return views.case(
        row,
        fraud_warnings=warnings,
        legs=await uow.cases.legs(dispute_id),
        text=text,
        assembled=assembled,
        files=files,
        summary_field=next((f for f in wanted if f not in taken), "text only"),
        history=await uow.cases.history(dispute_id),
        movements=await uow.cases.money(dispute_id),
        submissions=await uow.cases.submissions(dispute_id),
    )


@router.get(
    "/disputes/{dispute_id}/evidence/summary.pdf",
    summary="The evidence summary as it would be submitted now",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def summary_pdf(request: Request, dispute_id: DisputeId) -> Response:
    async with _uow(request) as uow:
        row = await uow.cases.row(dispute_id)
        if row is None:
            raise DisputeError(ErrorCode.CASE_NOT_FOUND, f"no dispute {dispute_id}")
        text, _assembled = await packages.text_of(uow, row)
    return Response(packages.summary(row, text), media_type="application/pdf")


@router.patch(
    "/disputes/{dispute_id}/evidence",
    summary="Edit evidence text (null removes)",
    responses=_refusals(409, 422),
)
async def edit_evidence(
    request: Request, dispute_id: DisputeId, body: TextEdits, actor: Staff
) -> dict[str, Any]:
    async with _uow(request) as uow:
        await _handlers(request).cases.edit_text(uow, dispute_id, body.text, actor)
        return await _case(uow, dispute_id)


@router.post(
    "/disputes/{dispute_id}/evidence/files",
    status_code=201,
    summary="Add a file",
    responses=_refusals(409, 411, 413, 422),
)
async def upload_file(
    request: Request,
    dispute_id: DisputeId,
    actor: Staff,
    file: UploadFile,
    field: Annotated[str, Form(max_length=64)],
) -> dict[str, Any]:
    cases = _handlers(request).cases
    # Read one byte past the budget: enough to refuse a larger file without holding all of it.
    content = await file.read(cases.files_budget + 1)
    upload = {
        "filename": shown_name(file.filename),
        "content_type": file.content_type or "application/octet-stream",
        "content": content,
    }
    async with _uow(request) as uow:
        stored = await cases.upload(uow, dispute_id, field, upload, actor)
    return {k: views.iso(v) for k, v in stored.items()}


@router.post(
    "/disputes/{dispute_id}/submit",
    status_code=202,
    summary="Submit the evidence",
    responses=_refusals(409, 413),
)
async def submit(request: Request, dispute_id: DisputeId, actor: Staff) -> dict[str, Any]:
    return await _requested(request, dispute_id, actor, Cases.submit)


@router.post(
    "/disputes/{dispute_id}/accept",
    status_code=202,
    summary="Concede the dispute",
    responses=_refusals(409),
)
async def accept(request: Request, dispute_id: DisputeId, actor: Staff) -> dict[str, Any]:
    return await _requested(request, dispute_id, actor, Cases.accept)


async def _requested(
    request: Request,
    dispute_id: str,
    actor: str,
    ask: Callable[[Cases, UnitOfWork, str, str], Awaitable[str]],
) -> dict[str, Any]:
    """Ask payments to submit the evidence or to concede: the request's id, and the case."""
    async with _uow(request) as uow:
        request_id = await ask(_handlers(request).cases, uow, dispute_id, actor)
        return {"request_id": request_id, **await _case(uow, dispute_id)}


@router.post(
    "/disputes/{dispute_id}/host-fault",
    summary="Record whether the host was at fault",
    responses=_refusals(409),
)
async def host_fault(
    request: Request, dispute_id: DisputeId, body: HostFault, actor: Staff
) -> dict[str, Any]:
    async with _uow(request) as uow:
        await _handlers(request).cases.set_host_fault(
            uow, dispute_id, body.at_fault, body.note, actor
        )
        return await _case(uow, dispute_id)


@router.get("/charges/{payment_id}", summary="A captured charge as disputes knows it")
async def get_charge(request: Request, payment_id: DisputeId) -> dict[str, Any]:
    async with _uow(request) as uow:
        row = await uow.facts.charge(payment_id)
    if row is None:
        raise HTTPException(404, {"code": "charge_not_found", "message": payment_id})
    return {
        **dict(row),
        "captured_at": row["captured_at"].isoformat(),
    }


async def _dispute_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DisputeError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.code is ErrorCode.UNAUTHENTICATED else None
    return error_response(request, STATUS[exc.code], exc.code.value, exc.message, headers=headers)


async def _illegal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IllegalTransition)
    return error_response(request, 409, exc.code, str(exc))


def shown_name(sent: str | None) -> str:
    """A file's name to show, not to trust: its last path segment (`../../etc.pdf` is
    `etc.pdf`), printable characters only, at most 200; `upload` when nothing is left."""
    printable = "".join(c for c in (sent or "") if c.isprintable())
    return printable.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "upload"


# Multipart framing around one file: boundaries, headers and the `field` part.
UPLOAD_OVERHEAD = 16_384


async def _upload_limit(request: Request, call_next: Any) -> Response:
    """A file upload larger than a case may hold is refused before its body is read (the
    form parser would otherwise spool all of it first)."""
    if request.method == "POST" and request.url.path.endswith("/evidence/files"):
        cases = request.app.state.runtime.state["handlers"].cases
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return error_response(request, 411, "length_required", "send a Content-Length")
        if int(length) > cases.files_budget + UPLOAD_OVERHEAD:
            message = f"a case's files hold {cases.files_budget} bytes at most"
            return error_response(request, 413, ErrorCode.EVIDENCE_TOO_LARGE.value, message)
    response: Response = await call_next(request)
    return response


def install(app: FastAPI) -> None:
    acting.document(router.routes)  # 400 `acting_for_required` where a change names its actor
    app.include_router(router)
    app.middleware("http")(_upload_limit)
    app.add_exception_handler(DisputeError, _dispute_error)
    app.add_exception_handler(IllegalTransition, _illegal)
