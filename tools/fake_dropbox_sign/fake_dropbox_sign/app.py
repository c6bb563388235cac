"""FastAPI application of the fake: ``/v3/...`` speaks Dropbox Sign, ``/_fake/...`` controls it."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from fake_dropbox_sign.callbacks import CallbackDispatcher, build_event
from fake_dropbox_sign.forms import FormError, indexed, nest, read_body
from fake_dropbox_sign.state import (
    Failure,
    FakeFile,
    FakeRequest,
    FakeSigner,
    FakeState,
    render_pdf,
)

DEFAULT_API_KEY = "fake_dropbox_sign_api_key"
SEND_PARAMS = {
    "title",
    "subject",
    "message",
    "signers",
    "files",
    "file",
    "file_urls",
    "file_url",
    "metadata",
    "test_mode",
    "allow_decline",
    "signing_options",
    "expires_at",
    "signing_redirect_url",
    "cc_email_addresses",
    "client_id",
    "use_text_tags",
    "hide_text_tags",
}
SIGNING_OPTIONS = {
    "draw",
    "type",
    "upload",
    "phone",
    "default_type",
    "force_advanced_signature_details",
}
DAY = 86_400
FILE_TYPES = (".pdf", ".txt", ".html", ".htm", ".doc", ".docx", ".png", ".jpg", ".jpeg")


def api_error(status: int, name: str, message: str, path: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"error_msg": message, "error_name": name}
    if path is not None:
        error["error_path"] = path
    return JSONResponse({"error": error}, status)


class BadRequest(Exception):
    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def create_app(
    api_key: str = DEFAULT_API_KEY,
    callback_url: str | None = None,
    *,
    callback_max_attempts: int = 3,
    callback_backoff: float = 0.2,
) -> FastAPI:
    """A fake with fresh state. Callbacks (signed with `api_key`, as Dropbox Sign does) go to
    `callback_url`, if any; ``POST /_fake/config`` changes both at run time."""
    state = FakeState(api_key)
    dispatcher = CallbackDispatcher(
        callback_url, max_attempts=callback_max_attempts, backoff=callback_backoff
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await dispatcher.stop()

    app = FastAPI(
        title="fake_dropbox_sign",
        lifespan=lifespan,
        openapi_url="/_fake/openapi.json",
        docs_url="/_fake/docs",
        redoc_url=None,
    )
    app.state.fake = state
    app.state.dispatcher = dispatcher

    def emit(
        request: Request,
        event_type: str,
        sr: FakeRequest | None,
        *,
        signature_id: str | None = None,
        tamper: bool = False,
    ) -> None:
        payload = build_event(
            state.api_key,
            event_type,
            sr.to_api(str(request.base_url)) if sr is not None else None,
            related_signature_id=signature_id,
            tamper=tamper,
        )
        dispatcher.enqueue(event_type, payload, tampered=tamper)

    # -- the API -------------------------------------------------------------------------------
    api = APIRouter(prefix="/v3")

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == state.api_key

    def guard(request: Request, *, after_commit: bool = False) -> Response | None:
        if not after_commit and not authorized(request):
            return api_error(401, "unauthorized", "Unauthorized api key")
        failure = state.take_failure(request.url.path, after_commit)
        if failure is not None:
            return api_error(failure.status, "internal_error", "Injected failure")
        return None

    def lookup(request_id: str) -> FakeRequest | Response:
        sr = state.requests.get(request_id)
        if sr is None:
            return api_error(404, "not_found", "Not found")
        if sr.canceled:
            return api_error(410, "deleted", "This resource has been deleted")
        return sr

    @api.post("/signature_request/send")
    async def send(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        try:
            fields, uploads = read_body(
                await request.body(), request.headers.get("content-type", "")
            )
            sr = parse_send(state, nest(fields), uploads)
        except FormError as exc:
            return api_error(400, "bad_request", str(exc))
        except BadRequest as exc:
            return api_error(400, "bad_request", exc.message, exc.path)
        state.requests[sr.signature_request_id] = sr
        emit(request, "signature_request_sent", sr)
        if (failed := guard(request, after_commit=True)) is not None:
            return failed
        return JSONResponse({"signature_request": sr.to_api(str(request.base_url))})

    @api.get("/signature_request/list")
    async def list_requests(request: Request, page: int = 1, page_size: int = 20) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        if page < 1 or not 1 <= page_size <= 100:
            return api_error(400, "bad_request", "page >= 1, page_size 1..100")
        listed = [r for r in state.requests.values() if not r.canceled]
        listed.sort(key=lambda r: r.created_at, reverse=True)
        chunk = listed[(page - 1) * page_size : page * page_size]
        return JSONResponse(
            {
                "list_info": {
                    "page": page,
                    "num_pages": max(1, -(-len(listed) // page_size)),
                    "num_results": len(listed),
                    "page_size": page_size,
                },
                "signature_requests": [r.to_api(str(request.base_url)) for r in chunk],
            }
        )

    @api.get("/signature_request/files/{request_id}")
    async def files(request: Request, request_id: str, file_type: str = "pdf") -> Response:
        if (refused := guard(request)) is not None:
            return refused
        found = lookup(request_id)
        if isinstance(found, Response):
            return found
        if file_type != "pdf":
            return api_error(400, "bad_request", "the fake serves file_type=pdf only")
        return Response(
            render_pdf(found),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{request_id}.pdf"'},
        )

    @api.get("/signature_request/{request_id}")
    async def get_request(request: Request, request_id: str) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        found = lookup(request_id)
        if isinstance(found, Response):
            return found
        return JSONResponse({"signature_request": found.to_api(str(request.base_url))})

    @api.post("/signature_request/cancel/{request_id}")
    async def cancel(request: Request, request_id: str) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        found = lookup(request_id)
        if isinstance(found, Response):
            return found
        if found.is_complete or found.is_declined:
            return api_error(400, "bad_request", "Signature request is already complete")
        found.canceled = True
        emit(request, "signature_request_canceled", found)
        return Response(status_code=200)

    # -- controls ------------------------------------------------------------------------------
    control = APIRouter(prefix="/_fake")

    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def open_request(request_id: str) -> FakeRequest | Response:
        sr = state.requests.get(request_id)
        if sr is None:
            return JSONResponse({"detail": "no such signature request"}, 404)
        if not sr.open:
            return JSONResponse({"detail": "signature request is not open"}, 409)
        return sr

    @control.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        dispatcher.reset()
        return {"reset": True}

    @control.get("/config")
    async def get_config() -> dict[str, Any]:
        return {"api_key": state.api_key, "callback_url": dispatcher.url}

    @control.post("/config")
    async def set_config(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        if "callback_url" in body:
            dispatcher.url = body["callback_url"] or None
        if body.get("api_key"):
            state.api_key = str(body["api_key"])
        return {"api_key": state.api_key, "callback_url": dispatcher.url}

    @control.get("/requests")
    async def all_requests(request: Request) -> dict[str, Any]:
        return {"data": [r.describe(str(request.base_url)) for r in state.requests.values()]}

    @control.get("/requests/{request_id}")
    async def one_request(request: Request, request_id: str) -> Response:
        sr = state.requests.get(request_id)
        if sr is None:
            return JSONResponse({"detail": "no such signature request"}, 404)
        return JSONResponse(sr.describe(str(request.base_url)))

    @control.get("/requests/{request_id}/files/{index}")
    async def uploaded_file(request_id: str, index: int) -> Response:
        sr = state.requests.get(request_id)
        if sr is None or not 0 <= index < len(sr.files):
            return JSONResponse({"detail": "no such file"}, 404)
        f = sr.files[index]
        return Response(f.content, media_type=f.content_type)

    @control.post("/signature_request/{request_id}/view")
    async def view(request: Request, request_id: str) -> Response:
        sr = open_request(request_id)
        if isinstance(sr, Response):
            return sr
        signer = sr.signers[0]
        signer.last_viewed_at = int(time.time())
        emit(request, "signature_request_viewed", sr, signature_id=signer.signature_id)
        return JSONResponse(sr.describe(str(request.base_url)))

    @control.post("/signature_request/{request_id}/sign")
    async def sign(request: Request, request_id: str) -> Response:
        sr = open_request(request_id)
        if isinstance(sr, Response):
            return sr
        now = int(time.time())
        for signer in sr.signers:
            if signer.status_code == "awaiting_signature":
                signer.status_code, signer.signed_at = "signed", now
                emit(request, "signature_request_signed", sr, signature_id=signer.signature_id)
        sr.is_complete = True
        emit(request, "signature_request_all_signed", sr)
        emit(request, "signature_request_downloadable", sr)
        return JSONResponse(sr.describe(str(request.base_url)))

    @control.post("/signature_request/{request_id}/decline")
    async def decline(request: Request, request_id: str) -> Response:
        sr = open_request(request_id)
        if isinstance(sr, Response):
            return sr
        body = await json_body(request)
        signer = sr.signers[0]
        signer.status_code = "declined"
        signer.decline_reason = str(body.get("reason") or "declined in the fake")
        sr.is_declined = True
        emit(request, "signature_request_declined", sr, signature_id=signer.signature_id)
        return JSONResponse(sr.describe(str(request.base_url)))

    @control.post("/signature_request/{request_id}/expire")
    async def expire(request: Request, request_id: str) -> Response:
        sr = open_request(request_id)
        if isinstance(sr, Response):
            return sr
        sr.expires_at = int(time.time()) - 1
        for signer in sr.signers:
            if signer.status_code == "awaiting_signature":
                signer.status_code = "expired"
        emit(request, "signature_request_expired", sr)
        return JSONResponse(sr.describe(str(request.base_url)))

    @control.post("/callbacks")
    async def send_callback(request: Request) -> Response:
        """Deliver an arbitrary event: ``{"event_type", "signature_request_id"?, "tamper"?}``."""
        body = await json_body(request)
        event_type = str(body.get("event_type") or "callback_test")
        request_id = body.get("signature_request_id")
        sr = state.requests.get(str(request_id)) if request_id else None
        if request_id and sr is None:
            return JSONResponse({"detail": "no such signature request"}, 404)
        if dispatcher.url is None:
            return JSONResponse({"detail": "no callback_url configured"}, 409)
        emit(request, event_type, sr, tamper=bool(body.get("tamper")))
        return JSONResponse(dispatcher.deliveries[-1].as_dict(), 202)

    @control.get("/callbacks")
    async def deliveries(status: str | None = None) -> dict[str, Any]:
        return {"data": [d.as_dict() for d in dispatcher.deliveries if status in (None, d.status)]}

    @control.post("/failures")
    async def inject(request: Request) -> dict[str, Any]:
        """Fail the next ``count`` calls to ``path`` with ``status``; ``after_commit``: do the
        work first (the caller loses the response of a call that succeeded)."""
        body = await json_body(request)
        failure = Failure(
            str(body["path"]),
            int(body.get("count", 1)),
            int(body.get("status", 500)),
            bool(body.get("after_commit", False)),
        )
        state.failures.append(failure)
        return {"path": failure.path, "count": failure.count, "status": failure.status}

    @control.get("/sign/{request_id}", response_class=HTMLResponse)
    async def signing_page(request_id: str) -> Response:
        """Stands in for Dropbox Sign's signer page (the ``signing_url`` of open requests)."""
        sr = state.requests.get(request_id)
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

    app.include_router(api)
    app.include_router(control)
    return app


def parse_send(state: FakeState, params: dict[str, Any], uploads: list[Any]) -> FakeRequest:
    """Validate a ``/signature_request/send`` as Dropbox Sign would (strict on unknown names)."""
    unknown = set(params) - SEND_PARAMS
    if unknown:
        raise BadRequest(f"Unrecognized parameter(s): {', '.join(sorted(unknown))}")
    signers_raw = params.get("signers")
    if not isinstance(signers_raw, dict) or not signers_raw:
        raise BadRequest("At least one signer is required", "signers")
    signers: list[FakeSigner] = []
    for i, raw in enumerate(indexed(signers_raw)):
        if not isinstance(raw, dict):
            raise BadRequest("Malformed signer", f"signers[{i}]")
        email, name = raw.get("email_address", ""), raw.get("name", "")
        if "@" not in email:
            raise BadRequest("Invalid email address", f"signers[{i}][email_address]")
        if not name:
            raise BadRequest("Signer name is required", f"signers[{i}][name]")
        order = raw.get("order")
        signers.append(
            FakeSigner(
                state.new_signature_id(), email, name, int(order) if order is not None else None
            )
        )
    files: list[FakeFile] = []
    for upload in uploads:
        key = upload.field.split("[", 1)[0]
        if key not in ("files", "file"):
            raise BadRequest(f"Unexpected file parameter {upload.field}", upload.field)
        if not upload.filename.lower().endswith(FILE_TYPES):
            raise BadRequest(f"Unsupported file type: {upload.filename}", upload.field)
        if not upload.content:
            raise BadRequest("Empty file", upload.field)
        files.append(FakeFile(upload.filename, upload.content_type, upload.content))
    urls_raw = params.get("file_urls") or params.get("file_url") or {}
    file_urls = [str(u) for u in indexed(urls_raw)] if isinstance(urls_raw, dict) else []
    if bool(files) == bool(file_urls):
        raise BadRequest("Provide files or file_urls (exactly one of them)", "files")
    metadata_raw = params.get("metadata") or {}
    if not isinstance(metadata_raw, dict):
        raise BadRequest("metadata must be key/value pairs", "metadata")
    if len(metadata_raw) > 10:
        raise BadRequest("metadata may have at most 10 keys", "metadata")
    for key, value in metadata_raw.items():
        if len(key) > 40 or not isinstance(value, str) or len(value) > 500:
            raise BadRequest("metadata keys <= 40, values <= 500 characters", f"metadata[{key}]")
    options = params.get("signing_options") or {}
    if not isinstance(options, dict) or set(options) - SIGNING_OPTIONS:
        raise BadRequest("Unknown signing_options", "signing_options")
    expires_at: int | None = None
    if params.get("expires_at"):
        try:
            expires_at = int(params["expires_at"])
        except ValueError as exc:
            raise BadRequest("expires_at must be a unix timestamp", "expires_at") from exc
        ahead = expires_at - time.time()
        if not DAY - 60 <= ahead <= 90 * DAY:
            raise BadRequest("expires_at must be between 1 and 90 days ahead", "expires_at")
        expires_at -= expires_at % 3600  # Dropbox Sign rounds down to the hour
    title = str(params.get("title", ""))
    if len(title) > 255:
        raise BadRequest("title is at most 255 characters", "title")
    return FakeRequest(
        signature_request_id=state.new_request_id(),
        title=title,
        subject=str(params.get("subject", "")),
        message=str(params.get("message", "")),
        signers=signers,
        files=files,
        file_urls=file_urls,
        metadata={str(k): str(v) for k, v in metadata_raw.items()},
        test_mode=str(params.get("test_mode", "0")).lower() in ("1", "true"),
        allow_decline=str(params.get("allow_decline", "0")).lower() in ("1", "true"),
        signing_options={str(k): str(v) for k, v in options.items()},
        expires_at=expires_at,
    )
