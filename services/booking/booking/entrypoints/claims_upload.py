"""A claim's body: multipart/form-data read by FastAPI (`Form`, `UploadFile`: python-multipart)
or JSON without files, and the upload's limits with their codes.

- more than `MAX_UPLOAD_BYTES` (as `Content-Length` says, before anything is parsed; or as the
  files add up): 422 `evidence_invalid`;
- more than `MAX_EVIDENCE_FILES` files: 422 `evidence_invalid`; each file's type and size are
  the domain's rule (`check_evidence`, 422 `evidence_invalid`);
- fields that are missing, malformed or unknown, or a body that is not multipart/form-data
  although it says so: 422 `validation_failed`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from booking.domain.claim_rules import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_FILES, Evidence
from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.claims_schemas import FileClaimRequest

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


def _too_large() -> BookingError:
    return BookingError(ErrorCode.EVIDENCE_INVALID, "the upload is too large")


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/")


class BoundedUpload(APIRoute):
    """The claim route: a body over the limit is refused before FastAPI parses it, and a
    multipart body python-multipart cannot read is `validation_failed` (FastAPI would answer
    400 `malformed_json`, which names JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
                raise _too_large()
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 400 and _is_multipart(request):
                    raise BookingError(
                        ErrorCode.VALIDATION_FAILED,
                        "the upload is not valid multipart/form-data",
                    ) from exc
                raise

        return bounded


def _invalid(exc: ValidationError) -> BookingError:
    return BookingError(
        ErrorCode.VALIDATION_FAILED, f"the claim is not valid: {exc.errors()[0]['msg']}"
    )


async def read_claim(request: Request) -> tuple[FileClaimRequest, list[Evidence]]:
    """The claim's fields (validated by `FileClaimRequest`, as a JSON body is: an unknown field
    is refused) and its files, in the order sent (every part with a file name is evidence)."""
    if not _is_multipart(request):
        body = await request.body()
        if len(body) > MAX_UPLOAD_BYTES:
            raise _too_large()
        try:
            return FileClaimRequest.model_validate_json(body or b"{}"), []
        except ValidationError as exc:
            raise _invalid(exc) from None
    form = await request.form()  # FastAPI parsed it for the route's parameters: Starlette keeps it
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    try:
        cmd = FileClaimRequest.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if len(files) > MAX_EVIDENCE_FILES:
        raise BookingError(
            ErrorCode.EVIDENCE_INVALID, f"at most {MAX_EVIDENCE_FILES} evidence files"
        )
    if sum(f.size or 0 for f in files) > MAX_UPLOAD_BYTES:
        raise _too_large()  # a body sent without Content-Length
    return cmd, [
        Evidence(f.filename or "evidence", f.content_type or "", await f.read()) for f in files
    ]
