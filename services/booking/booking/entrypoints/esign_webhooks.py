"""Dropbox Sign callbacks: read the form, verify and apply it, answer the text Dropbox Sign expects.

Dropbox Sign posts ``multipart/form-data`` with one field, ``json``; FastAPI reads the form
(python-multipart). A bare JSON body is taken too. Refusals keep the e-sign error codes: 400
(not authentic or not readable, including a form that cannot be parsed), 503 when the outcome
could not be confirmed with the API, so that Dropbox Sign retries.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute

from booking.service_layer.documents import Documents
from booking.service_layer.esign_callbacks import CallbackRefused, receive_callback

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
