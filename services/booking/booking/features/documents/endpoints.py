"""Documents' routes: the signer's page of the built-in e-signature provider
(``GET/POST /sign/{envelope_id}``) and Dropbox Sign's callbacks (``POST /webhooks/dropbox-sign``,
below). Which one the app serves depends on the configured provider (bootstrap).

GET shows the documents (escaped), the signer's name and Sign / Decline buttons; POST (a
urlencoded form read by FastAPI: ``action=sign|decline``, ``token``, optional ``digest``)
records the decision through
`SigningProvider.decide` (the built-in provider). Both need the link's HMAC token, else 403; a
form a browser says another site made it post (`eventkit.forms`) is refused with 403 as well, so
a page that learned the link cannot sign in the signer's browser. Envelopes no longer
open (signed, declined, expired, voided) get a status page. Pages are self-contained HTML with
a strict CSP, no framing, no referrer to other sites (the token is in the URL) and no caching.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute

from booking.domain.signing import (
    Decision,
    DecisionOutcome,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    SigningView,
)
from booking.entrypoints.client import resolve_client_ip
from booking.entrypoints.pages import render
from booking.features.documents.service import CallbackRefused, Documents, receive_callback
from eventkit.forms import foreign_source
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # The token is in the URL: no other site may see it. The page's own form then says where
    # it comes from (`Origin`), which `eventkit.forms` checks.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
FORM_TYPE = "application/x-www-form-urlencoded"

STATUS_TEXT = {
    EnvelopeStatus.SIGNED: ("Already signed", "These documents have been signed. Thank you."),
    EnvelopeStatus.DECLINED: ("Declined", "These documents were declined; nothing was signed."),
    EnvelopeStatus.EXPIRED: ("Expired", "This signing request has expired."),
    EnvelopeStatus.VOIDED: ("Cancelled", "This signing request was cancelled."),
}


class SigningProvider(Protocol):
    """What the page needs of the built-in provider (bootstrap hands it over)."""

    def verify_link(self, envelope_id: str, token: str | None) -> bool: ...

    async def load_signing_view(self, envelope_id: str) -> SigningView | None: ...

    async def decide(
        self,
        envelope_id: str,
        decision: Decision,
        *,
        client_ip: str | None,
        user_agent: str | None,
        digest: str | None = None,
    ) -> DecisionOutcome: ...


class _SigningFormRoute(APIRoute):
    """The signing form's edge: a form another site made a browser post gets 403, anything but
    a urlencoded form 415, a body over `body_limit` 413, and a form FastAPI cannot read 400,
    each as a signer's page. The body is read here first; FastAPI parses the form from that
    copy."""

    body_limit = 16_384
    public_base_url: str | None = None  # the address signing links name: this server too

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            if request.method == "POST":
                refusal = await self._refusal(request)
                if refusal is not None:
                    return refusal
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                return _message(400, "Bad request", "Submit the signing form.")

        return handle

    async def _refusal(self, request: Request) -> Response | None:
        also = (self.public_base_url,) if self.public_base_url else ()
        if foreign_source(request.headers, also) is not None:
            return _message(403, "Not sent from this page", "Open the signing link and sign there.")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            return _message(415, "Unsupported", "Submit the signing form.")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.body_limit:
            return _message(413, "Too large", "The form is too large.")
        if len(await request.body()) > self.body_limit:
            return _message(413, "Too large", "The form is too large.")
        return None


def build_signing_router(
    provider: SigningProvider,
    *,
    forwarded_for_hops: int = 0,
    max_body_bytes: int = 16_384,
    public_base_url: str | None = None,
) -> APIRouter:
    """`forwarded_for_hops`: how many trusted reverse proxies sit in front (0: use the socket
    peer, ignore `X-Forwarded-For`); `public_base_url`: the address the signing links name,
    whose forms count as this page's own even when a proxy gave the request another `Host`."""

    given = public_base_url

    class Route(_SigningFormRoute):
        body_limit = max_body_bytes
        public_base_url = given

    # HTML, not API; the form is checked before FastAPI reads it (`_SigningFormRoute`).
    router = APIRouter(tags=["e-signature"], include_in_schema=False, route_class=Route)

    @router.get(
        "/sign/{envelope_id}",
        response_class=HTMLResponse,
        summary="The signer's page (needs the link's token)",
    )
    async def show(
        envelope_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
        token: Annotated[str | None, Query(max_length=512)] = None,
    ) -> HTMLResponse:
        return await _form_page(provider, envelope_id, token)

    @router.post(
        "/sign/{envelope_id}",
        response_class=HTMLResponse,
        summary="Sign or decline (form: action=sign|decline, token, digest)",
        form_limits={"max_fields": 20},
    )
    async def submit(
        envelope_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
        request: Request,
        action: Annotated[str, Form()] = "",  # the body's size bounds them (`_SigningFormRoute`)
        token: Annotated[str | None, Form()] = None,
        digest: Annotated[str | None, Form()] = None,
    ) -> HTMLResponse:
        if not provider.verify_link(envelope_id, token):
            return _forbidden()
        form = await request.form()  # as FastAPI read it: each field's every value
        if any(len(form.getlist(name)) > 1 for name in ("action", "token", "digest")):
            # `action=sign&action=decline` must not be read as its last value: refused whole.
            return _message(400, "Bad request", "Choose Sign or Decline, once.")
        try:
            decision = Decision(action)
        except ValueError:
            return _message(400, "Bad request", "Choose Sign or Decline.")
        peer = request.client.host if request.client else None
        ip = resolve_client_ip(peer, request.headers.get("x-forwarded-for"), forwarded_for_hops)
        try:
            outcome = await provider.decide(
                envelope_id,
                decision,
                client_ip=ip,
                user_agent=request.headers.get("user-agent"),
                digest=digest or None,
            )
        except ESignError as exc:
            return _refusal_page(exc)
        return _outcome_page(decision, outcome)

    return router


# -- rendering (templates/signing.html) ------------------------------------------------------
def page(status_code: int, title: str, **context: Any) -> HTMLResponse:
    """A signer's page: `text` (a message) or `view` and `token` (the form)."""
    html = render("signing.html", title=title, **context)
    return HTMLResponse(html, status_code, headers=SECURITY_HEADERS)


def render_form(view: SigningView, token: str) -> str:
    return render("signing.html", title="Please review and sign", view=view, token=token)


async def _form_page(
    provider: SigningProvider, envelope_id: str, token: str | None
) -> HTMLResponse:
    """The documents and the form, or why they cannot be shown."""
    if not provider.verify_link(envelope_id, token):
        return _forbidden()
    view = await provider.load_signing_view(envelope_id)
    if view is None:
        return _message(404, "Not found", "This signing request does not exist.")
    if view.status.terminal:
        return _status_page(view.status)
    assert token is not None
    return page(200, "Please review and sign", view=view, token=token)


def _refusal_page(exc: ESignError) -> HTMLResponse:
    if exc.code == ESignErrorCode.ENVELOPE_NOT_FOUND:
        return _message(404, "Not found", "This signing request does not exist.")
    if exc.code == ESignErrorCode.INTEGRITY:
        return _message(409, "Documents changed", "The documents changed; reload the page.")
    raise exc


def _outcome_page(decision: Decision, outcome: DecisionOutcome) -> HTMLResponse:
    """What the signer's decision did; a decision that came too late shows the status, with
    409 when it is not the one asked for."""
    if outcome.applied:
        if outcome.status is EnvelopeStatus.SIGNED:
            return _message(200, "Signed", "Thank you: the documents are signed.")
        return _message(200, "Declined", "You declined; nothing was signed.")
    wanted = EnvelopeStatus.SIGNED if decision is Decision.SIGN else EnvelopeStatus.DECLINED
    return _status_page(outcome.status, 200 if outcome.status is wanted else 409)


def _message(status_code: int, title: str, text: str) -> HTMLResponse:
    return page(status_code, title, text=text)


def _status_page(status: EnvelopeStatus, status_code: int = 200) -> HTMLResponse:
    title, text = STATUS_TEXT.get(status, ("Pending", "This request is waiting for a signature."))
    return _message(status_code, title, text)


def _forbidden() -> HTMLResponse:
    return _message(403, "Link not valid", "This signing link is invalid or has expired.")


# -- Dropbox Sign callbacks: read the form, verify and apply it, answer the text Dropbox Sign expects.
#
# Dropbox Sign posts ``multipart/form-data`` with one field, ``json``; FastAPI reads the form
# (python-multipart). A bare JSON body is taken too. Refusals keep the e-sign error codes: 400
# (not authentic or not readable, including a form that cannot be parsed), 503 when the outcome
# could not be confirmed with the API, so that Dropbox Sign retries.

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
JSON_FIELD = "The callback: `{event: {event_time, event_type, event_hash}, signature_request}`"
_FORM_SCHEMA = {
    "type": "object",
    "properties": {"json": {"type": "string", "description": JSON_FIELD}},
}


def _refused(exc: CallbackRefused) -> JSONResponse:
    status = 503 if exc.retry else 400
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status)


class _CallbackRoute(APIRoute):
    """A form FastAPI cannot parse (its 400) is refused like any unverifiable callback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                return _refused(CallbackRefused.unreadable(str(exc.detail)))

        return handle


def build_dropbox_sign_router(documents: Documents, *, ack: str) -> APIRouter:
    """`ack`: the body Dropbox Sign wants in the answer, else it sends the callback again."""
    router = APIRouter(tags=["webhooks"], route_class=_CallbackRoute)

    @router.post(
        "/webhooks/dropbox-sign",
        summary="Dropbox Sign event callback",
        response_class=PlainTextResponse,
        responses={
            200: {"description": f"Handled: the body is `{ack}`"},
            400: {"description": "Not authentic or not readable: `esign_*` error codes"},
            503: {"description": "Not confirmed with Dropbox Sign's API; it will retry"},
        },
        openapi_extra={
            "requestBody": {"content": {"multipart/form-data": {"schema": _FORM_SCHEMA}}}
        },
    )
    async def dropbox_sign_callback(
        request: Request,
        payload: Annotated[str | None, Form(alias="json", description=JSON_FIELD)] = None,
    ) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body: bytes | None
        if payload is not None:
            body = payload.encode()
        elif content_type in FORM_TYPES:
            body = None  # a form without the field
        else:
            body = await request.body()  # a bare JSON body (FastAPI left it unread)
        try:
            await receive_callback(documents, body)
        except CallbackRefused as exc:
            return _refused(exc)
        return PlainTextResponse(ack)

    return router
