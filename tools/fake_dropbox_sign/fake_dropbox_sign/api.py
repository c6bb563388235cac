"""``/v3/...``: the part of Dropbox Sign's API the platform calls, with its errors."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from fake_dropbox_sign.fake import Fake, fake_of
from fake_dropbox_sign.forms import FormError, nest, read_body
from fake_dropbox_sign.send import BadRequest, parse_send
from fake_dropbox_sign.state import FakeRequest, render_pdf

router = APIRouter(prefix="/v3")


def api_error(status: int, name: str, message: str, path: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"error_msg": message, "error_name": name}
    if path is not None:
        error["error_path"] = path
    return JSONResponse({"error": error}, status)


def _authorized(fake: Fake, request: Request) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == fake.state.api_key


def _guard(fake: Fake, request: Request, *, after_commit: bool = False) -> Response | None:
    """The refusal of an unauthorized call or of an injected failure, if any."""
    if not after_commit and not _authorized(fake, request):
        return api_error(401, "unauthorized", "Unauthorized api key")
    failure = fake.state.take_failure(request.url.path, after_commit)
    if failure is not None:
        return api_error(failure.status, "internal_error", "Injected failure")
    return None


def _lookup(fake: Fake, request: Request, request_id: str) -> FakeRequest | Response:
    """The signature request, or the refusal of the call (guarded first)."""
    if (refused := _guard(fake, request)) is not None:
        return refused
    sr = fake.state.requests.get(request_id)
    if sr is None:
        return api_error(404, "not_found", "Not found")
    if sr.canceled:
        return api_error(410, "deleted", "This resource has been deleted")
    return sr


@router.post("/signature_request/send")
async def send(request: Request) -> Response:
    fake = fake_of(request)
    if (refused := _guard(fake, request)) is not None:
        return refused
    try:
        fields, uploads = read_body(await request.body(), request.headers.get("content-type", ""))
        sr = parse_send(fake.state, nest(fields), uploads)
    except FormError as exc:
        return api_error(400, "bad_request", str(exc))
    except BadRequest as exc:
        return api_error(400, "bad_request", exc.message, exc.path)
    fake.state.requests[sr.signature_request_id] = sr
    fake.emit(request, "signature_request_sent", sr)
    if (failed := _guard(fake, request, after_commit=True)) is not None:
        return failed
    return JSONResponse({"signature_request": sr.to_api(str(request.base_url))})


@router.get("/signature_request/list")
async def list_requests(request: Request, page: int = 1, page_size: int = 20) -> Response:
    fake = fake_of(request)
    if (refused := _guard(fake, request)) is not None:
        return refused
    if page < 1 or not 1 <= page_size <= 100:
        return api_error(400, "bad_request", "page >= 1, page_size 1..100")
    listed = [r for r in fake.state.requests.values() if not r.canceled]
    listed.sort(key=lambda r: r.created_at, reverse=True)
    chunk = listed[(page - 1) * page_size : page * page_size]
    info = {
        "page": page,
        "num_pages": max(1, -(-len(listed) // page_size)),
        "num_results": len(listed),
        "page_size": page_size,
    }
    requests = [r.to_api(str(request.base_url)) for r in chunk]
    return JSONResponse({"list_info": info, "signature_requests": requests})


@router.get("/signature_request/files/{request_id}")
async def files(request: Request, request_id: str, file_type: str = "pdf") -> Response:
    found = _lookup(fake_of(request), request, request_id)
    if isinstance(found, Response):
        return found
    if file_type != "pdf":
        return api_error(400, "bad_request", "the fake serves file_type=pdf only")
    return Response(
        render_pdf(found),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{request_id}.pdf"'},
    )


@router.get("/signature_request/{request_id}")
async def get_request(request: Request, request_id: str) -> Response:
    found = _lookup(fake_of(request), request, request_id)
    if isinstance(found, Response):
        return found
    return JSONResponse({"signature_request": found.to_api(str(request.base_url))})


@router.post("/signature_request/cancel/{request_id}")
async def cancel(request: Request, request_id: str) -> Response:
    fake = fake_of(request)
    found = _lookup(fake, request, request_id)
    if isinstance(found, Response):
        return found
    if found.is_complete or found.is_declined:
        return api_error(400, "bad_request", "Signature request is already complete")
    found.canceled = True
    fake.emit(request, "signature_request_canceled", found)
    return Response(status_code=200)
