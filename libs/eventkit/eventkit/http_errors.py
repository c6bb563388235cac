"""One error convention for every service's HTTP API (docs/api-errors.md).

Every refusal is `{"error": {"code", "message", "details"?}}` with a machine-readable code:
malformed JSON is 400 `malformed_json`, a body or parameter that does not validate is 422
`validation_failed`, an unknown route 404 `not_found`, a method a route does not take 405
`method_not_allowed`, any other HTTPException its status with a code from `CODES` (or the
`code` its detail names), a body over `MAX_BODY_BYTES` (or its route's own limit) 413
`payload_too_large` (`CodedTooLarge`), Postgres or Kafka not answering 503 `unavailable` with
`Retry-After`, and any other unhandled exception 500 `internal_error` (logged with its
traceback; the client sees no internals). Routes that answer HTML get an HTML error page with
the same status instead. `install` also documents these responses on every operation of the
OpenAPI document, so a client (or schemathesis) finds every status it can be given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventkit.outages import is_outage

log = logging.getLogger("eventkit.http")

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
MALFORMED_JSON = "malformed_json"
# A request body is at most this, unless its route names a larger limit (FastAPI's
# `max_body_size`, for routes that take files): the largest JSON a service takes is a few kB.
MAX_BODY_BYTES = 1024 * 1024
# Postgres or Kafka not answering (a restart): 503 `unavailable`, to be retried after this.
OUTAGE_RETRY_AFTER_SECONDS = 2
# Ids in paths and queries of every service: printable ASCII without spaces, at most 100.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"
ID_MAX_LENGTH = 100
TITLES = {400: "Bad request", 401: "Sign-in needed", 403: "Not allowed", 404: "Not found"}


class ErrorBody(BaseModel):
    code: str = Field(examples=["slot_unavailable"], description="Machine-readable reason.")
    message: str
    details: list[dict[str, Any]] | None = Field(
        default=None, description="validation_failed: one entry per field (`loc`, `msg`, `type`)."
    )


class ErrorOut(BaseModel):
    error: ErrorBody


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("eventkit", "templates"), autoescape=select_autoescape(default=True)
    )


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def answers_html(request: Request) -> bool:
    """The matched route answers HTML (a page for people), or a browser posted a form (its
    answer is a redirect, but a refusal must still be a page), or a browser asked for a page
    no route answers (a mistyped console address, or one that only a form posts to): its
    errors are pages too."""
    route = request.scope.get("route")
    response_class = getattr(route, "response_class", None) if isinstance(route, APIRoute) else None
    if isinstance(response_class, type) and issubclass(response_class, HTMLResponse):
        return True
    wants_page = "text/html" in request.headers.get("accept", "")
    if request.method in ("GET", "HEAD") and (
        route is None or (isinstance(route, APIRoute) and "GET" not in (route.methods or ()))
    ):
        return wants_page
    posted_form = request.headers.get("content-type", "").startswith(FORMS)
    return posted_form and wants_page


def _sentence(details: list[dict[str, Any]]) -> str:
    """What is wrong, field by field (`loc` without its body/query/path part)."""
    parts = []
    for d in details[:5]:
        loc = [str(x) for x in d["loc"][1:] if x != "body"] or [str(x) for x in d["loc"]]
        parts.append(f"{'.'.join(loc)}: {d['msg']}")
    return "; ".join(parts)


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error as JSON, or as an HTML page for a route that answers HTML."""
    if answers_html(request):
        title = TITLES.get(status, "Something went wrong" if status >= 500 else "Not possible")
        page = (
            _templates()
            .get_template("error.html")
            .render(status=status, title=title, code=code, message=message)
        )
        return HTMLResponse(page, status, headers=headers)
    return JSONResponse(error_body(code, message, details), status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    code = CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    message = detail if isinstance(detail, str) else "request refused"
    if isinstance(detail, dict):  # HTTPException(404, {"code": ..., "message": ...})
        code, message = str(detail.get("code", code)), str(detail.get("message", message))
    posted_form = request.headers.get("content-type", "").startswith(FORMS)
    if exc.status_code == 400 and isinstance(detail, str) and posted_form:
        # The form parser's refusal of a body it cannot read (no boundary, a part it cannot
        # parse): read, but not acceptable, as a form field that does not validate.
        return error_response(
            request, 422, "validation_failed", f"the body is not a valid form: {message}"
        )
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        code = MALFORMED_JSON  # FastAPI could not decode the body it expected as JSON
    if exc.status_code == 404 and detail == "Not Found":
        message = f"no route {request.url.path}"
    if exc.status_code == 413 and detail == TOO_LARGE:
        message = _too_large(request.scope)
    headers = exc.headers
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
    return error_response(request, exc.status_code, code, message, headers=headers)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette names only the first route's,
    and a path's GET and POST are often two routes, or two included routers')."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return sorted([*allowed, "HEAD"]) if "GET" in allowed else allowed  # eventkit.head


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(request, 400, MALFORMED_JSON, "the body is not valid JSON")
    details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    message = f"request is not valid: {_sentence(details)}" if details else "request is not valid"
    return error_response(request, 422, "validation_failed", message, details)


def outage_response(request: Request, exc: BaseException) -> Response:
    """503 `unavailable` with `Retry-After`: Postgres or Kafka restarting is neither the
    request's fault nor a bug (`eventkit.outages`)."""
    log.warning("%s %s: a dependency is not answering: %r", request.method, request.url.path, exc)
    return error_response(
        request,
        503,
        "unavailable",
        "a database or broker this service needs is not answering; retry shortly",
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):  # raised by a middleware, outside the routes' handlers
        return await _http_error(request, exc)
    if is_outage(exc):  # raised outside eventkit.http_outages (a middleware of the app's)
        return outage_response(request, exc)
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal_error", "internal error; it was logged")


TOO_LARGE = "Content Too Large"  # Starlette's body limit says only this, in plain text


def _too_large(scope: Scope) -> str:
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY, MAX_BODY_BYTES)
    return f"the request body is larger than {limit} bytes, the most this route takes"


class CodedTooLarge:
    """Starlette's body limit refuses a body over `max_body_size` with a plain-text 413
    (FastAPI's with `{"detail": ...}`) whatever the route answers. As the outermost layer of
    every service's app, this answers that refusal in the project's error body (or page), with
    the limit; every other response passes as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def coded(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 413:
                held.append(message)  # whose 413 it is shows in its body
                return
            if not held:
                await send(message)
                return
            held.append(message)
            if message.get("more_body", False):
                return
            body = b"".join(m.get("body", b"") for m in held[1:])
            if body in (TOO_LARGE.encode(), b'{"detail":"Content Too Large"}'):
                refusal = error_response(
                    Request(scope), 413, "payload_too_large", _too_large(scope)
                )
                await refusal(scope, receive, send)
                return
            for kept in held:
                await send(kept)

        await self.app(scope, receive, coded)


def install(app: FastAPI) -> None:
    """The handlers above, and their responses documented on every operation."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(generate())
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def _error_doc(description: str, html: bool) -> dict[str, Any]:
    if html:
        return {
            "description": description,
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    schema = {"$ref": "#/components/schemas/ErrorOut"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_errors(schema: dict[str, Any]) -> None:
    """Add the statuses this convention can answer to every operation, with the error body
    (HTML pages for operations that answer HTML); FastAPI's own 422 body is replaced."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, ErrorOut):
        components[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            ok: dict[str, Any] = next((r for s, r in responses.items() if s.startswith("2")), {})
            html = set(ok.get("content", {})) == {"text/html"}
            wanted = {
                # Any request may carry a body (even one its operation does not read).
                "413": "The body is larger than the route takes: `payload_too_large`",
                # Any query may name a parameter the operation does not have.
                "422": "A field or parameter is not valid, or not one the operation has: "
                "`validation_failed`",
                "500": "Unexpected error: `internal_error`",
                "503": "A database or broker the service needs is not answering (a restart): "
                "`unavailable`; retry after `Retry-After` seconds",
            }
            if "requestBody" in operation:
                wanted["400"] = "The body is not valid JSON: `malformed_json`"
            if "{" in path:
                wanted.setdefault("404", "Not found")
            if operation.get("security"):
                wanted["401"] = "Missing or invalid bearer token: `unauthenticated`"
                wanted["403"] = "The caller's role may not do this: `forbidden`"
            for status, description in wanted.items():
                current = responses.get(status)
                if current is None or _is_fastapi_validation(current):
                    responses[status] = _error_doc(description, html)
            if html:  # a page for people: every error is a page too
                for status, response in responses.items():
                    if not status.startswith("2"):
                        responses[status] = _error_doc(response.get("description", ""), True)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")
