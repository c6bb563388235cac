"""``/_fake/...``: what tests and people do to the fake (sign, decline, expire, fail, reset)."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from fake_dropbox_sign.fake import fake_of
from fake_dropbox_sign.state import Failure, FakeRequest

router = APIRouter(prefix="/_fake")


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _open_request(request: Request, request_id: str) -> FakeRequest | Response:
    sr = fake_of(request).state.requests.get(request_id)
    if sr is None:
        return JSONResponse({"detail": "no such signature request"}, 404)
    if not sr.open:
        return JSONResponse({"detail": "signature request is not open"}, 409)
    return sr


def _described(request: Request, sr: FakeRequest) -> JSONResponse:
    return JSONResponse(sr.describe(str(request.base_url)))


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    fake = fake_of(request)
    fake.state.reset()
    fake.dispatcher.reset()
    return {"reset": True}


@router.get("/config")
async def get_config(request: Request) -> dict[str, Any]:
    fake = fake_of(request)
    return {"api_key": fake.state.api_key, "callback_url": fake.dispatcher.url}


@router.post("/config")
async def set_config(request: Request) -> dict[str, Any]:
    fake, body = fake_of(request), await _json_body(request)
    if "callback_url" in body:
        fake.dispatcher.url = body["callback_url"] or None
    if body.get("api_key"):
        fake.state.api_key = str(body["api_key"])
    return {"api_key": fake.state.api_key, "callback_url": fake.dispatcher.url}


@router.get("/requests")
async def all_requests(request: Request) -> dict[str, Any]:
    described = [
        r.describe(str(request.base_url)) for r in fake_of(request).state.requests.values()
    ]
    return {"data": described}


@router.get("/requests/{request_id}")
async def one_request(request: Request, request_id: str) -> Response:
    sr = fake_of(request).state.requests.get(request_id)
    if sr is None:
        return JSONResponse({"detail": "no such signature request"}, 404)
    return _described(request, sr)


@router.get("/requests/{request_id}/files/{index}")
async def uploaded_file(request: Request, request_id: str, index: int) -> Response:
    sr = fake_of(request).state.requests.get(request_id)
    if sr is None or not 0 <= index < len(sr.files):
        return JSONResponse({"detail": "no such file"}, 404)
    f = sr.files[index]
    return Response(f.content, media_type=f.content_type)


@router.post("/signature_request/{request_id}/view")
async def view(request: Request, request_id: str) -> Response:
    sr = _open_request(request, request_id)
    if isinstance(sr, Response):
        return sr
    signer = sr.signers[0]
    signer.last_viewed_at = int(time.time())
    fake_of(request).emit(request, "signature_request_viewed", sr, signature_id=signer.signature_id)
    return _described(request, sr)


@router.post("/signature_request/{request_id}/sign")
async def sign(request: Request, request_id: str) -> Response:
    sr = _open_request(request, request_id)
    if isinstance(sr, Response):
        return sr
    fake, now = fake_of(request), int(time.time())
    for signer in sr.signers:
        if signer.status_code == "awaiting_signature":
            signer.status_code, signer.signed_at = "signed", now
            fake.emit(request, "signature_request_signed", sr, signature_id=signer.signature_id)
    sr.is_complete = True
    fake.emit(request, "signature_request_all_signed", sr)
    fake.emit(request, "signature_request_downloadable", sr)
    return _described(request, sr)


@router.post("/signature_request/{request_id}/decline")
async def decline(request: Request, request_id: str) -> Response:
    sr = _open_request(request, request_id)
    if isinstance(sr, Response):
        return sr
    body = await _json_body(request)
    signer = sr.signers[0]
    signer.status_code = "declined"
    signer.decline_reason = str(body.get("reason") or "declined in the fake")
    sr.is_declined = True
    fake_of(request).emit(
        request, "signature_request_declined", sr, signature_id=signer.signature_id
    )
    return _described(request, sr)


@router.post("/signature_request/{request_id}/expire")
async def expire(request: Request, request_id: str) -> Response:
    sr = _open_request(request, request_id)
    if isinstance(sr, Response):
        return sr
    sr.expires_at = int(time.time()) - 1
    for signer in sr.signers:
        if signer.status_code == "awaiting_signature":
            signer.status_code = "expired"
    fake_of(request).emit(request, "signature_request_expired", sr)
    return _described(request, sr)


@router.post("/callbacks")
async def send_callback(request: Request) -> Response:
    """Deliver an arbitrary event: ``{"event_type", "signature_request_id"?, "tamper"?}``."""
    fake, body = fake_of(request), await _json_body(request)
    event_type = str(body.get("event_type") or "callback_test")
    request_id = body.get("signature_request_id")
    sr = fake.state.requests.get(str(request_id)) if request_id else None
    if request_id and sr is None:
        return JSONResponse({"detail": "no such signature request"}, 404)
    if fake.dispatcher.url is None:
        return JSONResponse({"detail": "no callback_url configured"}, 409)
    fake.emit(request, event_type, sr, tamper=bool(body.get("tamper")))
    return JSONResponse(fake.dispatcher.deliveries[-1].as_dict(), 202)


@router.get("/callbacks")
async def deliveries(request: Request, status: str | None = None) -> dict[str, Any]:
    listed = fake_of(request).dispatcher.deliveries
    return {"data": [d.as_dict() for d in listed if status in (None, d.status)]}


@router.post("/failures")
async def inject(request: Request) -> Response:
    """Fail the next ``count`` calls to ``path`` with ``status``; ``after_commit``: do the
    work first (the caller loses the response of a call that succeeded)."""
    body = await _json_body(request)
    try:
        failure = Failure(
            str(body["path"]),
            int(body.get("count", 1)),
            int(body.get("status", 500)),
            bool(body.get("after_commit", False)),
        )
    except (KeyError, TypeError, ValueError):
        detail = "a JSON object with path, and optionally count, status (integers), after_commit"
        return JSONResponse({"detail": detail}, 422)
    fake_of(request).state.failures.append(failure)
    return JSONResponse({"path": failure.path, "count": failure.count, "status": failure.status})


@router.get("/sign/{request_id}", response_class=HTMLResponse)
async def signing_page(request: Request, request_id: str) -> Response:
    """Stands in for Dropbox Sign's signer page (the ``signing_url`` of open requests)."""
    sr = fake_of(request).state.requests.get(request_id)
    if sr is None:
        return HTMLResponse("<h1>Not found</h1>", 404)
    if not sr.open:
        return HTMLResponse("<h1>This request is closed</h1>", 409)
    names = "".join(f"<li>{escape(f.filename)}</li>" for f in sr.files)
    rid = escape(request_id)
    return HTMLResponse(
        f"<!doctype html><title>{escape(sr.title)}</title><h1>{escape(sr.title)}</h1>"
        f"<ul>{names}</ul>"
        f'<form method="post" action="/_fake/signature_request/{rid}/sign">'
        "<button>Sign</button></form>"
        f'<form method="post" action="/_fake/signature_request/{rid}/decline">'
        "<button>Decline</button></form>"
    )
