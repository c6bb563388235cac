"""The ``/v1`` endpoint: auth, fault injection, idempotency, routing, expansion."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from stripesim.errors import (
    StripeAPIError,
    api_error,
    authentication,
    idempotency,
    invalid_request,
    unrecognized_url,
)
from stripesim.forms import Params, check_known, get_list, parse_form, parse_pairs
from stripesim.jsonio import SimJSONResponse as JSONResponse
from stripesim.jsonio import clone
from stripesim.resources import ROUTES
from stripesim.routing import expand, match
from stripesim.state import Ctx, IdempotencyRecord, SimState, new_id
from stripesim.timers import Timers
from stripesim.webhooks import WebhookDispatcher

DEFAULT_API_VERSION = "2026-10-28.endive"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_UPLOAD_BYTES = 16 * 1024 * 1024  # past Stripe's own limits per purpose (``files``)
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details."
)


def authenticate(header: str | None) -> str:
    """Return the API key of ``Authorization: Bearer sk_test_...`` (or Basic ``sk_test_...:``)."""
    if not header:
        raise authentication(_NO_KEY)
    scheme, _, value = header.partition(" ")
    key = value.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode("utf-8").partition(":")[0]
        except ValueError:
            key = ""
    elif scheme.lower() != "bearer":
        raise authentication(_NO_KEY)
    if not key.startswith("sk_test_"):
        shown = f"{key[:8]}{'*' * 12}{key[-4:]}" if len(key) > 12 else "****"
        raise authentication(f"Invalid API Key provided: {shown}")
    return key


async def read_params(request: Request, method: str) -> Params:
    """The request's parameters: a form-encoded body or query string, or a multipart body (a
    File upload, which the SDK sends to its ``files`` base address). A file part becomes a dict
    with its name, size, digest and base64 content, so an idempotent replay compares it too."""
    if method != "POST":
        return parse_form(request.url.query)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return parse_form(await request.body())
    pairs: list[tuple[str, Any]] = []
    try:
        async with request.form(max_part_size=MAX_UPLOAD_BYTES) as form:
            for key, value in form.multi_items():
                pairs.append((key, await _part(value)))
    except MultiPartException as exc:
        raise invalid_request(f"Invalid multipart body: {exc.message}") from exc
    return parse_pairs(pairs)


async def _part(value: str | UploadFile) -> Any:
    if not isinstance(value, UploadFile):
        return value
    content = await value.read()
    return {
        "filename": value.filename or "blob",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "content_b64": base64.b64encode(content).decode("ascii"),
    }


class ApiEndpoint:
    def __init__(self, state: SimState, dispatcher: WebhookDispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.timers = Timers()
        # Set when the state is kept (persistence.durable): a change is answered once written.
        self.durable: Callable[[], Awaitable[None]] | None = None

    def context(
        self,
        version: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Ctx:
        return Ctx(
            self.state,
            version or DEFAULT_API_VERSION,
            request_id,
            idempotency_key,
            webhooks_enabled=self.dispatcher.enabled,
        )

    def run_timers(self, version: str | None = None) -> dict[str, list[str]]:
        """What sim time has brought about: expired authorizations, settled bank debits."""
        return self.timers.run(self.context(version))

    def reset(self) -> None:
        self.state.reset()
        self.timers.clear()
        self.dispatcher.reset()

    async def __call__(self, request: Request) -> JSONResponse:
        request_id = new_id("req_", 14)
        method, path = request.method.upper(), request.url.path
        version = request.headers.get("stripe-version") or DEFAULT_API_VERSION
        headers = {"Request-Id": request_id, "Stripe-Version": version}
        key = request.headers.get("idempotency-key") if method == "POST" else None
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            api_key = authenticate(request.headers.get("authorization"))
            rule = self.state.take_failure(method, path)
            if rule is not None:
                raise api_error(rule.status)
            params = await read_params(request, method)
            if key is not None:
                replay = self._replay(api_key, key, method, path, params)
                if replay is not None:
                    headers.update(
                        {"Idempotent-Replayed": "true", "Original-Request": replay.request_id}
                    )
                    return JSONResponse(replay.body, replay.status, headers)
        except StripeAPIError as err:
            return JSONResponse(err.body(), err.status, headers)
        status, body, replayable = self._execute(
            self.context(version, request_id, key), method, path, params
        )
        if key is not None and replayable:
            self.state.remember(
                api_key,
                key,
                IdempotencyRecord(method, path, params, status, body, request_id, self.state.now()),
            )
        if method != "GET" and self.durable is not None:
            await self.durable()  # Stripe answers what it has stored
        return JSONResponse(body, status, headers)

    def _replay(
        self, api_key: str, key: str, method: str, path: str, params: Params
    ) -> IdempotencyRecord | None:
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise idempotency(
                f"Idempotency keys can be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters long."
            )
        record = self.state.idempotent(api_key, key)
        if record is None:
            return None
        if (record.method, record.path) != (method, path):
            raise idempotency(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{record.method} {record.path}' vs '{method} {path}'). "
                f"Try using a key other than '{key}' if you meant to execute a different "
                "request."
            )
        if record.params != params:
            raise idempotency(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        return record

    def _execute(
        self, ctx: Ctx, method: str, path: str, params: Params
    ) -> tuple[int, dict[str, Any], bool]:
        try:
            self.run_timers(ctx.api_version)
            found = match(ROUTES, method, path)
            if found is None:
                raise unrecognized_url(method, path)
            route, args = found
            check_known(params, route.allowed)
            paths = get_list(params, "expand")
            result = route.handler(ctx, params, args)
            body = expand(self.state, result, paths) if paths else clone(result)
            return 200, body, True
        except StripeAPIError as err:
            return err.status, err.body(), err.replayable
