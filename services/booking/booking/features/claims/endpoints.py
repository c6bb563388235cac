"""Gateway routes of damage claims against a booking's security deposit.

A claim is filed as multipart/form-data (`amount`, `description`, `evidence` files), read by
FastAPI's `Form`/`UploadFile` (python-multipart), or as JSON without files. The upload's limits
and their codes:

- more than `MAX_UPLOAD_BYTES` (the route's `max_body_size`: as `Content-Length` says, before
  anything is read; or as the body comes): 413 `payload_too_large`, as every service's limit;
- more than `MAX_EVIDENCE_FILES` files: 422 `evidence_invalid`; each file's type and size are
  the domain's rule (`check_evidence`, 422 `evidence_invalid`);
- fields that are missing, malformed or unknown, or a body that is not multipart/form-data
  although it says so: 422 `validation_failed`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol, TypeVar

import asyncpg
from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload

from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import Principal, Role
from booking.entrypoints.command import AdminCommand, Command, GuestCommand, HostCommand, command
from booking.entrypoints.common import ERRORS, Reader, shown_to
from booking.features.claims import service as claims
from booking.features.claims import views as claims_views
from booking.features.claims.domain.rules import (
    MAX_EVIDENCE_BYTES,
    MAX_EVIDENCE_FILES,
    ClaimWindows,
    Evidence,
)
from booking.features.claims.schemas import ClaimContest, ClaimDecision, ClaimOut, FileClaimRequest
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.fields import MULTI_LINE

# -- the claim's body: its limits, read before FastAPI parses it --------------------------------
MAX_UPLOAD_BYTES = MAX_EVIDENCE_FILES * MAX_EVIDENCE_BYTES + 1024 * 1024

# FastAPI documents the multipart body from the route's `Form`/`File` parameters; this adds
# the JSON variant, and says which form fields are required (they are optional parameters only
# because a JSON body leaves the form empty).
FILE_CLAIM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"required": ["amount", "description"]}},
            "application/json": {"schema": FileClaimRequest.model_json_schema()},
        },
    }
}


# A form sends the amount as text: digits only (no sign, point or exponent), as JSON's integer.
AMOUNT_TEXT = re.compile(r"[0-9]{1,13}")


def _is_form(request: Request) -> bool:
    """A form body (multipart or urlencoded): FastAPI has read it already for the route's form
    parameters, so it is read as a form (its stream is spent)."""
    kind = request.headers.get("content-type", "").lower()
    return kind.startswith(("multipart/", "application/x-www-form-urlencoded"))


def _invalid(exc: ValidationError) -> BookingError:
    return BookingError(
        ErrorCode.VALIDATION_FAILED, f"the claim is not valid: {exc.errors()[0]['msg']}"
    )


async def read_claim(request: Request) -> tuple[FileClaimRequest, list[Evidence]]:
    """The claim's fields (validated by `FileClaimRequest`, as a JSON body is: an unknown field
    is refused) and its files, in the order sent (every part with a file name is evidence)."""
    if not _is_form(request):
        body = await request.body()  # at most MAX_UPLOAD_BYTES: the route's limit
        try:
            # Strict, as every JSON body of the gateway: "100", 100.0 and true are no amount.
            return FileClaimRequest.model_validate_json(body or b"{}", strict=True), []
        except ValidationError as exc:
            raise _invalid(exc) from None
    form = await request.form()  # FastAPI parsed it for the route's parameters: Starlette keeps it
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    files = [v for _, v in form.multi_items() if isinstance(v, StarletteUpload)]
    if not AMOUNT_TEXT.fullmatch(str(fields.get("amount", ""))):
        raise BookingError(
            ErrorCode.VALIDATION_FAILED,
            "the claim is not valid: amount: whole minor units (digits)",
        )
    try:
        cmd = FileClaimRequest.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if len(files) > MAX_EVIDENCE_FILES:
        raise BookingError(
            ErrorCode.EVIDENCE_INVALID, f"at most {MAX_EVIDENCE_FILES} evidence files"
        )
    return cmd, [
        Evidence(f.filename or "evidence", f.content_type or "", await f.read()) for f in files
    ]


# -- the routes ---------------------------------------------------------------------------------
router = APIRouter(prefix="/v1", tags=["claims"], responses=ERRORS)
AMOUNT = "Claimed, in minor units: at most what is left of the deposit."
EVIDENCE = (
    "Images (JPEG, PNG, GIF, WebP, HEIC), PDF or text; "
    f"at most {MAX_EVIDENCE_FILES} files of 10 MB each."
)


UNTIL_RESPOND_BY = "Until `respond_by` (409 `claim_response_window_closed` after)."

Route = TypeVar("Route", bound=Callable[..., Awaitable[ClaimOut]])


def _on_claim(
    action: str, *, summary: str, description: str | None = None
) -> Callable[[Route], Route]:
    """A command on a claim (`POST /v1/claims/{claim_id}/<action>`) that answers the claim."""
    return router.post(
        f"/claims/{{claim_id}}/{action}",
        response_model=ClaimOut,
        summary=summary,
        description=description,
    )


def _windows(call: Command) -> ClaimWindows:
    """The windows bootstrap built from the settings."""
    windows: ClaimWindows = call.settings.claim_windows
    return windows


class _PartyAnswer(Protocol):
    """A use case by which the guest or the host answers a claim, without a body."""

    def __call__(
        self, uow: UnitOfWork, claim_id: uuid.UUID, party: str, /, *, windows: ClaimWindows
    ) -> Awaitable[dict[str, Any]]: ...


async def _by_party(call: Command, answer: _PartyAnswer, claim_id: uuid.UUID) -> ClaimOut:
    """Run `answer` as the calling guest or host, with the claim windows."""
    party, windows = call.principal.sub, _windows(call)
    return await call.run(lambda conn: answer(call.uow(conn), claim_id, party, windows=windows), {})


async def file_claim(
    request: Request,
    booking_id: uuid.UUID,
    call: HostCommand,
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
            call.uow(conn),
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
    summary="The host files a damage claim against the booking's deposit, with evidence",
    description="multipart/form-data with `amount`, `description` and `evidence` files "
    "(images, PDF or text, 10 MB each), or JSON without files. Only after the booking's end, "
    "within the claim window (72 h: 409 `claim_window_closed`), for a booking with a deposit "
    "(409 `no_deposit`), one open claim at a time (409 `claim_open`), at most what is left of "
    "the deposit (422 `claim_exceeds_deposit`). The guest accepts or contests within 48 h.",
    openapi_extra=FILE_CLAIM_BODY,
    max_body_size=MAX_UPLOAD_BYTES,  # its files, past the services' default (http_errors)
)


async def _visible(
    conn: asyncpg.Connection, claim_id: uuid.UUID, principal: Principal
) -> dict[str, Any]:
    view = await claims_views.view(conn, claim_id)
    return shown_to(principal, view, ErrorCode.CLAIM_NOT_FOUND, f"claim {claim_id}")


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimOut,
    summary="A claim, for the booking's guest and host and admins",
)
async def get_claim(claim_id: uuid.UUID, read: Reader) -> dict[str, Any]:
    async with read.connection() as conn:
        return await _visible(conn, claim_id, read.principal)


@router.get(
    "/bookings/{booking_id}/claims",
    response_model=list[ClaimOut],
    summary="The claims of a booking, for its guest and host and admins",
)
async def list_claims(booking_id: uuid.UUID, read: Reader) -> list[dict[str, Any]]:
    async with read.connection() as conn:
        owner = await claims_views.booking_parties(conn, booking_id)
        shown_to(read.principal, owner, ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id}")
        return await claims_views.claims_of(conn, booking_id)


@router.get(
    "/claims/{claim_id}/evidence/{n}",
    responses={200: {"content": {"application/octet-stream": {}}}},
    summary="Download an evidence file of a claim (its guest, host and admins)",
)
async def get_evidence(
    claim_id: uuid.UUID,
    n: Annotated[int, Path(ge=1, le=MAX_EVIDENCE_FILES)],
    read: Reader,
) -> Response:
    async with read.connection() as conn:
        await _visible(conn, claim_id, read.principal)
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


@_on_claim(
    "accept",
    summary="The guest accepts the claim: its amount is charged off-session",
    description=UNTIL_RESPOND_BY,
)
async def accept_claim(claim_id: uuid.UUID, call: GuestCommand) -> ClaimOut:
    return await _by_party(call, claims.accept, claim_id)


@_on_claim(
    "contest",
    summary="The guest contests the claim: an admin decides it",
    description=UNTIL_RESPOND_BY,
)
async def contest_claim(claim_id: uuid.UUID, body: ClaimContest, call: GuestCommand) -> ClaimOut:
    guest_id = call.principal.sub
    return await call.run(
        lambda conn: claims.contest(call.uow(conn), claim_id, guest_id, body.reason),
        body.model_dump(mode="json"),
    )


@_on_claim(
    "decide",
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
            call.uow(conn), claim_id, body.amount, body.note, by, windows=windows
        ),
        body.model_dump(mode="json"),
    )


@_on_claim(
    "withdraw",
    summary="The host withdraws a claim that is not decided yet",
)
async def withdraw_claim(claim_id: uuid.UUID, call: HostCommand) -> ClaimOut:
    return await _by_party(call, claims.withdraw, claim_id)


@_on_claim(
    "retry",
    summary="An admin retries the failed charge of a claim (before the deposit's release)",
)
async def retry_claim(claim_id: uuid.UUID, call: AdminCommand) -> ClaimOut:
    return await call.run(lambda conn: claims.retry(call.uow(conn), claim_id), {})
