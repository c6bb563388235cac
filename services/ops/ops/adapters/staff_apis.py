"""What the typed async clients of the staff APIs share (the clients: `finance_api`,
`disputes_api`, `booking_api`, `payments_api`): the base client, ops's own credential and the
error they raise.

Each client is an `httpx.AsyncClient` on a base URL with a token provider: a callable giving
the bearer token for the next request (sync or async, so a provider can cache and renew).
Finance and disputes admit ops's own credential (`ServiceCredential`, role `service`); every
change names the staff member it is made for (`acting_for`, sent as `X-Acting-For`), and the
service records it as `<person> via service:ops`. The gateway has no `service` role: give
`BookingApi` the signed-in staff member's own token (docs/security.md).

A refusal raises `ApiError(status, code, message)` with the service's machine-readable code
(`entry_not_found`, `illegal_transition`, `forbidden`, ...); an unreachable service raises it
with status 503 and code `service_unavailable`. Results are the services' JSON documents.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from eventkit.acting import ACTING_FOR_HEADER
from eventkit.auth import SERVICE_TOKEN_TTL_SECONDS, service_token
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN

_ID = re.compile(ID_PATTERN)
TokenProvider = Callable[[], str | Awaitable[str]]
Json = dict[str, Any]


class ApiError(Exception):
    """A staff API refused, in its error body's terms."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def error_of(response: httpx.Response) -> ApiError:
    """The project's error body (`{"error": {"code", "message", "details"?}}`) as an ApiError;
    anything else (a proxy's page) keeps the status with a code made from it."""
    try:
        error = response.json()["error"]
        message, details = str(error["message"]), error.get("details")
        if isinstance(details, list) and details and ":" not in message:
            # The service's field-by-field reasons, for a person reading the refusal.
            said = [
                f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg', '')}"
                for d in details[:5]
                if isinstance(d, dict)
            ]
            message = f"{message}: {'; '.join(said)}" if said else message
        return ApiError(response.status_code, str(error["code"]), message, details)
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, f"http_{response.status_code}", response.text[:500])


class ServiceCredential:
    """Ops's own token provider: a `service` token minted from the shared secret, renewed a
    while before it expires so no request goes out with a token about to lapse."""

    def __init__(
        self,
        secret: str,
        service: str = "ops",
        ttl_seconds: int = SERVICE_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        mint: Callable[[str, str, int], str] = service_token,
    ) -> None:
        self._secret, self._service, self._ttl = secret, service, ttl_seconds
        self._clock, self._mint = clock, mint
        self._token = ""
        self._renew_at = 0.0

    def __call__(self) -> str:
        now = self._clock()
        if now >= self._renew_at:
            self._token = self._mint(self._secret, self._service, self._ttl)
            self._renew_at = now + self._ttl * 0.8
        return self._token


def seg(value: Any) -> str:
    """One path segment from a caller's value: an id of the form every service's ids take
    (eventkit.http_errors.ID_PATTERN, so never `..`, a slash or a query), percent-encoded; else
    ApiError 422 `validation_failed`, before any request goes out."""
    text = value.isoformat() if isinstance(value, date | datetime) else str(value)
    if len(text) > 2 * ID_MAX_LENGTH + 1 or not _ID.fullmatch(text):
        raise ApiError(422, "validation_failed", f"{text[:50]!r} is not an id")
    return quote(text, safe=":@")


def plain(value: Any) -> Any:
    """A query or body value as JSON takes it (dates as ISO 8601)."""
    return value.isoformat() if isinstance(value, date | datetime) else value


class StaffApi:
    """What every staff API client shares: auth headers, requests, error mapping."""

    service = "api"

    def __init__(
        self,
        base_url: str,
        token: TokenProvider,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _headers(self, acting_for: str | None) -> dict[str, str]:
        token = self._token()
        if inspect.isawaitable(token):
            token = await token
        headers = {"Authorization": f"Bearer {token}"}
        if acting_for is not None:
            headers[ACTING_FOR_HEADER] = acting_for
        return headers

    async def _call(
        self,
        method: str,
        path: str,
        *,
        acting_for: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **body: Any,
    ) -> httpx.Response:
        sent = await self._headers(acting_for) | dict(headers or {})
        query = {k: plain(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, params=query, headers=sent, **body)
        except httpx.InvalidURL as exc:  # an id or filter too long for any URL
            raise ApiError(422, "validation_failed", f"an id or filter is too long: {exc}") from exc
        except httpx.HTTPError as exc:
            message = f"{self.service} did not answer {method} {path}: {exc!r}"
            raise ApiError(503, "service_unavailable", message) from exc
        if response.is_error:
            raise error_of(response)
        return response

    async def _doc(self, method: str, path: str, **kw: Any) -> Json:
        found: Json = (await self._call(method, path, **kw)).json()
        return found

    async def _list(self, method: str, path: str, **kw: Any) -> list[Json]:
        found: list[Json] = (await self._call(method, path, **kw)).json()
        return found

    async def _page(self, path: str, filters: Mapping[str, Any], **defaults: Any) -> Json:
        """One page of a list route: GET `path` with the filters given over the route's
        `defaults` (a filter of None is not sent)."""
        return await self._doc("GET", path, params=defaults | dict(filters))


def idempotency_header(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}
