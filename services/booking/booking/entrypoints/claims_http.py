"""Gateway routes of damage claims against a booking's security deposit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from booking.adapters.esign._multipart import boundary_of, parse_multipart
from booking.domain.claims import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_FILES
from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints import errors
from booking.entrypoints.auth import CurrentPrincipal, Principal, Role, require_role
from booking.entrypoints.common import (
    ERRORS,
    IdempotencyKey,
    run_idempotent,
    runtime_of,
    visible_to,
)
from booking.entrypoints.fields import MULTI_LINE
from booking.entrypoints.schemas import (
    ClaimContest,
    ClaimDecision,
    ClaimOut,
    FileClaimRequest,
)
from booking.service_layer import claims

router = APIRouter(prefix="/v1", tags=["claims"])
_MAX_BODY = MAX_EVIDENCE_FILES * MAX_EVIDENCE_BYTES + 1024 * 1024

_FILE_CLAIM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["amount", "description"],
                    "properties": {
                        "amount": {"type": "integer", "minimum": 1, "maximum": 10**12},
                        "description": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 5000,
                            "pattern": MULTI_LINE,
                        },
                        "evidence": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Images (JPEG, PNG, GIF, WebP, HEIC), PDF or text; "
                            f"at most {MAX_EVIDENCE_FILES} files of 10 MB each.",
                        },
                    },
                }
            },
            "application/json": {"schema": FileClaimRequest.model_json_schema()},
        },
    }
}


def _invalid(message: str) -> BookingError:
    return BookingError(ErrorCode.VALIDATION_FAILED, message)


async def _read_claim(request: Request) -> tuple[FileClaimRequest, list[claims.Evidence]]:
    """The claim's fields and evidence files, from multipart/form-data or JSON (no files)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > _MAX_BODY:
        raise BookingError(ErrorCode.EVIDENCE_INVALID, "the upload is too large")
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise BookingError(ErrorCode.EVIDENCE_INVALID, "the upload is too large")
    content_type = request.headers.get("content-type", "")
    boundary = boundary_of(content_type)
    try:
        if boundary is None:
            return FileClaimRequest.model_validate_json(body or b"{}"), []
        parts = parse_multipart(body, boundary)
        fields = {p.name: p.data.decode("utf-8") for p in parts if p.filename is None}
        evidence = [
            claims.Evidence(p.filename or "evidence", p.content_type or "", p.data)
            for p in parts
            if p.filename is not None
        ]
        cmd = FileClaimRequest.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(f"the claim is not valid: {exc.errors()[0]['msg']}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(f"the upload is not valid multipart/form-data: {exc}") from None
    if len(evidence) > MAX_EVIDENCE_FILES:
        raise BookingError(
            ErrorCode.EVIDENCE_INVALID, f"at most {MAX_EVIDENCE_FILES} evidence files"
        )
    return cmd, evidence


@router.post(
    "/bookings/{booking_id}/claims",
    status_code=201,
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The host files a damage claim against the booking's deposit, with evidence",
    description="multipart/form-data with `amount`, `description` and `evidence` files "
    "(images, PDF or text, 10 MB each), or JSON without files. Only after the booking's end, "
    "within the claim window (72 h: 409 `claim_window_closed`), for a booking with a deposit "
    "(409 `no_deposit`), one open claim at a time (409 `claim_open`), at most what is left of "
    "the deposit (422 `claim_exceeds_deposit`). The guest accepts or contests within 48 h.",
    openapi_extra=_FILE_CLAIM_BODY,
)
async def file_claim(
    request: Request,
    booking_id: uuid.UUID,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.HOST)
    outbox = request.app.state.outbox
    try:
        cmd, evidence = await _read_claim(request)
    except BookingError as exc:
        return JSONResponse(errors.error_body(exc.code, exc.message), errors.status_for(exc))

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        return 201, await claims.file_claim(
            conn, outbox, booking_id, principal.sub, cmd.amount, cmd.description, evidence
        )

    fingerprint = {**cmd.model_dump(mode="json"), "evidence": [e.sha256 for e in evidence]}
    return await run_idempotent(request, principal, idempotency_key, fingerprint, work)


async def _visible(
    conn: asyncpg.Connection, claim_id: uuid.UUID, principal: Principal
) -> dict[str, Any]:
    view = await claims.view(conn, claim_id)
    if not visible_to(principal, view):
        raise BookingError(ErrorCode.CLAIM_NOT_FOUND, f"claim {claim_id} not found")
    return view


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="A claim, for the booking's guest and host and admins",
)
async def get_claim(
    request: Request, claim_id: uuid.UUID, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with runtime_of(request).db.acquire() as conn:
        return await _visible(conn, claim_id, principal)


@router.get(
    "/bookings/{booking_id}/claims",
    response_model=list[ClaimOut],
    responses=ERRORS,
    summary="The claims of a booking, for its guest and host and admins",
)
async def list_claims(
    request: Request, booking_id: uuid.UUID, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    async with runtime_of(request).db.acquire() as conn:
        owner = await conn.fetchrow(
            "SELECT guest_id, host_id FROM booking.bookings WHERE booking_id = $1", booking_id
        )
        if not visible_to(principal, owner):
            raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
        return await claims.claims_of(conn, booking_id)


@router.get(
    "/claims/{claim_id}/evidence/{n}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    summary="Download an evidence file of a claim (its guest, host and admins)",
)
async def get_evidence(
    request: Request,
    claim_id: uuid.UUID,
    n: Annotated[int, Path(ge=1, le=MAX_EVIDENCE_FILES)],
    principal: CurrentPrincipal,
) -> Response:
    async with runtime_of(request).db.acquire() as conn:
        await _visible(conn, claim_id, principal)
        row = await claims.evidence_file(conn, claim_id, n)
    if row is None:
        raise BookingError(ErrorCode.CLAIM_NOT_FOUND, f"claim {claim_id} has no evidence {n}")
    safe = "".join(c for c in row["filename"] if c.isalnum() or c in "._- ") or "evidence"
    return Response(
        bytes(row["data"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


Work = Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]


async def _answer(
    request: Request, principal: Principal, key: str | None, body: dict[str, Any], work: Work
) -> JSONResponse:
    async def run(conn: asyncpg.Connection) -> tuple[int, Any]:
        return 200, await work(conn)

    return await run_idempotent(request, principal, key, body, run)


@router.post(
    "/claims/{claim_id}/accept",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The guest accepts the claim: its amount is charged off-session",
    description="Until `respond_by` (409 `claim_response_window_closed` after).",
)
async def accept_claim(
    request: Request,
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.GUEST)
    outbox = request.app.state.outbox
    return await _answer(
        request,
        principal,
        idempotency_key,
        {},
        lambda conn: claims.accept(conn, outbox, claim_id, principal.sub),
    )


@router.post(
    "/claims/{claim_id}/contest",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The guest contests the claim: an admin decides it",
    description="Until `respond_by` (409 `claim_response_window_closed` after).",
)
async def contest_claim(
    request: Request,
    claim_id: uuid.UUID,
    body: ClaimContest,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.GUEST)
    outbox = request.app.state.outbox
    return await _answer(
        request,
        principal,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda conn: claims.contest(conn, outbox, claim_id, principal.sub, body.reason),
    )


@router.post(
    "/claims/{claim_id}/decide",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="Staff (admin or trust) decide a contested or unanswered claim (0 dismisses it)",
    description="Trust & safety staff decide claims as admins do; the decision records the "
    "deciding role (`decided_by`: `admin` or `trust`).",
)
async def decide_claim(
    request: Request,
    claim_id: uuid.UUID,
    body: ClaimDecision,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.ADMIN, Role.TRUST)
    outbox = request.app.state.outbox
    by = principal.role.value
    return await _answer(
        request,
        principal,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda conn: claims.decide(conn, outbox, claim_id, body.amount, body.note, by),
    )


@router.post(
    "/claims/{claim_id}/withdraw",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The host withdraws a claim that is not decided yet",
)
async def withdraw_claim(
    request: Request,
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.HOST)
    outbox = request.app.state.outbox
    return await _answer(
        request,
        principal,
        idempotency_key,
        {},
        lambda conn: claims.withdraw(conn, outbox, claim_id, principal.sub),
    )


@router.post(
    "/claims/{claim_id}/retry",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="An admin retries the failed charge of a claim (before the deposit's release)",
)
async def retry_claim(
    request: Request,
    claim_id: uuid.UUID,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.ADMIN)
    outbox = request.app.state.outbox
    return await _answer(
        request, principal, idempotency_key, {}, lambda conn: claims.retry(conn, outbox, claim_id)
    )
