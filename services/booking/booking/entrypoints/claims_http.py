"""Gateway routes of damage claims against a booking's security deposit.

A claim is filed as multipart/form-data (`amount`, `description`, `evidence` files), read by
FastAPI's `Form`/`UploadFile` (python-multipart), or as JSON without files. The upload's limits
and refusals: `claims_upload.py`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import Response

from booking.domain.claim_rules import MAX_EVIDENCE_FILES, ClaimWindows
from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import CurrentPrincipal, Principal, Role
from booking.entrypoints.claims_schemas import ClaimContest, ClaimDecision, ClaimOut
from booking.entrypoints.claims_upload import FILE_CLAIM_BODY, BoundedUpload, read_claim
from booking.entrypoints.command import Command, command
from booking.entrypoints.common import ERRORS, runtime_of, visible_to
from booking.entrypoints.fields import MULTI_LINE
from booking.service_layer import claims, claims_views

router = APIRouter(prefix="/v1", tags=["claims"])
AMOUNT = "Claimed, in minor units: at most what is left of the deposit."
EVIDENCE = (
    "Images (JPEG, PNG, GIF, WebP, HEIC), PDF or text; "
    f"at most {MAX_EVIDENCE_FILES} files of 10 MB each."
)


def _windows(call: Command) -> ClaimWindows:
    """The windows bootstrap built from the settings."""
    windows: ClaimWindows = call.settings.claim_windows
    return windows


async def file_claim(
    request: Request,
    booking_id: uuid.UUID,
    call: Annotated[Command, command(Role.HOST)],
    amount: Annotated[int | None, Form(ge=1, le=10**12, description=AMOUNT)] = None,
    description: Annotated[
        str | None, Form(min_length=1, max_length=5000, pattern=MULTI_LINE)
    ] = None,
    evidence: Annotated[list[UploadFile] | None, File(description=EVIDENCE)] = None,
) -> ClaimOut:
    """The form parameters document the multipart body (and FastAPI parses it); `read_claim`
    reads either body."""
    host_id, windows = call.principal.sub, _windows(call)
    cmd, files = await read_claim(request)
    fingerprint = {**cmd.model_dump(mode="json"), "evidence": [e.sha256 for e in files]}
    return await call.run(
        lambda conn: claims.file_claim(
            conn,
            call.outbox,
            booking_id,
            host_id,
            cmd.amount,
            cmd.description,
            files,
            windows=windows,
        ),
        fingerprint,
    )


router.add_api_route(
    "/bookings/{booking_id}/claims",
    file_claim,
    methods=["POST"],
    status_code=201,
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The host files a damage claim against the booking's deposit, with evidence",
    description="multipart/form-data with `amount`, `description` and `evidence` files "
    "(images, PDF or text, 10 MB each), or JSON without files. Only after the booking's end, "
    "within the claim window (72 h: 409 `claim_window_closed`), for a booking with a deposit "
    "(409 `no_deposit`), one open claim at a time (409 `claim_open`), at most what is left of "
    "the deposit (422 `claim_exceeds_deposit`). The guest accepts or contests within 48 h.",
    openapi_extra=FILE_CLAIM_BODY,
    route_class_override=BoundedUpload,
)


async def _visible(
    conn: asyncpg.Connection, claim_id: uuid.UUID, principal: Principal
) -> dict[str, Any]:
    view = await claims_views.view(conn, claim_id)
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
        owner = await claims_views.booking_parties(conn, booking_id)
        if not visible_to(principal, owner):
            raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
        return await claims_views.claims_of(conn, booking_id)


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
        row = await claims_views.evidence_file(conn, claim_id, n)
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


@router.post(
    "/claims/{claim_id}/accept",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The guest accepts the claim: its amount is charged off-session",
    description="Until `respond_by` (409 `claim_response_window_closed` after).",
)
async def accept_claim(
    claim_id: uuid.UUID, call: Annotated[Command, command(Role.GUEST)]
) -> ClaimOut:
    guest_id, windows = call.principal.sub, _windows(call)
    return await call.run(
        lambda conn: claims.accept(conn, call.outbox, claim_id, guest_id, windows=windows), {}
    )


@router.post(
    "/claims/{claim_id}/contest",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The guest contests the claim: an admin decides it",
    description="Until `respond_by` (409 `claim_response_window_closed` after).",
)
async def contest_claim(
    claim_id: uuid.UUID, body: ClaimContest, call: Annotated[Command, command(Role.GUEST)]
) -> ClaimOut:
    guest_id = call.principal.sub
    return await call.run(
        lambda conn: claims.contest(conn, call.outbox, claim_id, guest_id, body.reason),
        body.model_dump(mode="json"),
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
    claim_id: uuid.UUID,
    body: ClaimDecision,
    call: Annotated[Command, command(Role.ADMIN, Role.TRUST)],
) -> ClaimOut:
    by, windows = call.principal.role.value, _windows(call)
    return await call.run(
        lambda conn: claims.decide(
            conn, call.outbox, claim_id, body.amount, body.note, by, windows=windows
        ),
        body.model_dump(mode="json"),
    )


@router.post(
    "/claims/{claim_id}/withdraw",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="The host withdraws a claim that is not decided yet",
)
async def withdraw_claim(
    claim_id: uuid.UUID, call: Annotated[Command, command(Role.HOST)]
) -> ClaimOut:
    host_id, windows = call.principal.sub, _windows(call)
    return await call.run(
        lambda conn: claims.withdraw(conn, call.outbox, claim_id, host_id, windows=windows), {}
    )


@router.post(
    "/claims/{claim_id}/retry",
    response_model=ClaimOut,
    responses=ERRORS,
    summary="An admin retries the failed charge of a claim (before the deposit's release)",
)
async def retry_claim(
    claim_id: uuid.UUID, call: Annotated[Command, command(Role.ADMIN)]
) -> ClaimOut:
    return await call.run(lambda conn: claims.retry(conn, call.outbox, claim_id), {})
