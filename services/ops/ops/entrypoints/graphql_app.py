"""POST /graphql: the staff API. The bearer token is checked before GraphQL runs (401 without
one, 403 for a non-staff role, in the project's error body); each field then checks its roles."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.fastapi import GraphQLRouter

from eventkit.auth import Principal, Role, require
from eventkit.endpoint import refusals
from eventkit.http_errors import MALFORMED_JSON, error_body
from ops.entrypoints.graphql_schema import build_schema

STAFF_ONLY = require(Role.ADMIN, Role.FINANCE, Role.TRUST)


def context_for(request: Request, principal: Principal, token: str) -> dict[str, Any]:
    """What every resolver gets: the caller, their own token (the gateway is called with it),
    the pool, the settings and the staff API clients (`ops.adapters.staff_gateway`)."""
    runtime = request.app.state.runtime
    return {
        "principal": principal,
        "token": token,
        "pool": runtime.db,
        "settings": runtime.settings,
        "apis": runtime.state["apis"],
    }


async def _context(
    request: Request, principal: Annotated[Principal, Depends(STAFF_ONLY)]
) -> dict[str, Any]:
    # STAFF_ONLY has already read and checked the bearer token.
    token = request.headers["authorization"].partition(" ")[2].strip()
    return context_for(request, principal, token)


def install(app: FastAPI) -> None:
    schema = build_schema()
    app.state.graphql_schema = schema
    # No GraphiQL page: it would need a token before it could even load; the console is the UI.
    # Multipart requests (file uploads: uploadDisputeEvidence) are safe to admit here: the API
    # is authorized by a bearer header, never a cookie, so another site's form cannot use it.
    router: GraphQLRouter[Any, None] = GraphQLRouter(
        schema,
        context_getter=_context,
        graphql_ide=None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=True,
    )
    # POST only, as the OpenAPI document says: without the IDE and queries by GET, Strawberry's
    # GET route would only answer 404; without it, a GET is 405 with `Allow: POST`.
    router.routes = [r for r in router.routes if "GET" not in (getattr(r, "methods", None) or ())]
    app.include_router(
        router,
        prefix="/graphql",
        tags=["staff"],
        responses=refusals(
            r400="The body is not a GraphQL request: not JSON (`malformed_json`), another "
            "content type, an empty or batched body (`invalid_request`)"
        ),
    )
    app.middleware("http")(coded_transport_refusals)
    app.add_middleware(JsonOperationCheck)


class JsonOperationCheck:
    """A JSON body posted to /graphql must be UTF-8 JSON holding an object (one operation) or
    an array (a batch, which Strawberry refuses itself): anything else (a string, a number,
    null, bytes that are not UTF-8) is 400 in the project's error body before Strawberry, which
    would fail on it with a 500. Other content types (multipart uploads) pass as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _json_post_to_graphql(scope):
            await self.app(scope, receive, send)
            return
        more, messages = True, []
        while more:
            message = await receive()
            messages.append(message)
            more = message.get("more_body", False) and message["type"] == "http.request"
        problem = _not_an_operation(b"".join(m.get("body", b"") for m in messages))
        if problem is not None:
            response = JSONResponse(error_body(*problem), status_code=400)
            await response(scope, receive, send)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


def _json_post_to_graphql(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    if not scope["path"].rstrip("/").endswith("/graphql"):
        return False
    headers = dict(scope["headers"])
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind == b"application/json"


def _not_an_operation(body: bytes) -> tuple[str, str] | None:
    """(code, message) of what is wrong with the body, or None."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return MALFORMED_JSON, "the body is not UTF-8 JSON"
    if not isinstance(parsed, dict | list):
        return "invalid_request", "the body is not a GraphQL request: a JSON object is expected"
    return None


async def coded_transport_refusals(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Strawberry answers a request it cannot read (a body that is not JSON, another content
    type, a query by GET) with a plain-text 4xx; here it gets the project's error body."""
    try:
        response = await call_next(request)
    except RecursionError:  # a body nested past the JSON parser's depth
        return JSONResponse(error_body(MALFORMED_JSON, "nested too deep"), status_code=400)
    plain = response.headers.get("content-type", "").startswith("text/plain")
    if not (request.url.path.startswith("/graphql") and response.status_code >= 400 and plain):
        return response
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    reason = body.decode(errors="replace")[:500]
    code = MALFORMED_JSON if "JSON" in reason else "invalid_request"
    return JSONResponse(error_body(code, reason), status_code=response.status_code)
