"""A CLIENT span around every Stripe API call, for every service that calls Stripe.

The SDK's HTTP client is the one place all of a service's Stripe calls go through (retries
included: each try is its own span), so the adapters build their `stripe.StripeClient` on
`TracedStripeHTTPClient`: the SDK's aiohttp client (`stripe.AIOHTTPClient`), traced. aiohttp,
not the SDK's default HTTPX client: under load httpx and httpcore cost about 1.8 ms of CPU per
request (its pool is scanned per request, anyio wraps every socket call), aiohttp about 0.13 ms
(docs/benchmarks.md). The span is named by method and path
template (`stripe POST /v1/payment_intents/{id}/capture`): ids never go into span names. Each
call is also one INFO line (`eventkit.stripe`), in the log context of the work that made it.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import stripe
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

_tracer = trace.get_tracer("eventkit.stripe")
log = logging.getLogger("eventkit.stripe")
_VERSION = re.compile(r"v\d+")
KEEPALIVE_SECONDS = 2.0
_ID = re.compile(r".*[0-9A-Z].*")  # Stripe ids carry digits or capitals; resource names do not


def operation(method: str, url: str) -> str:
    """`POST /v1/payment_intents/{id}/capture` for any payment intent's capture."""
    parts = [
        "{id}" if (_ID.fullmatch(part) and not _VERSION.fullmatch(part)) or len(part) > 40 else part
        for part in urlsplit(url).path.split("/")
    ]
    return f"{method.upper()} {'/'.join(parts)}"


class TracedStripeHTTPClient(stripe.AIOHTTPClient):
    def __init__(self, timeout: float = 80.0, **kwargs: Any) -> None:
        import aiohttp  # the SDK imports it lazily too

        # aiohttp takes a ClientTimeout (a bare number is refused by recent versions).
        super().__init__(timeout=aiohttp.ClientTimeout(total=timeout), **kwargs)

    @property
    def _session(self) -> Any:
        """The SDK's session (made on first use, inside the running loop), whose idle
        connections are dropped before a server would close them (uvicorn: after 5 s), so a
        call never goes out on a connection the server is closing."""
        if self._cached_session is None:
            import aiohttp

            # Stripe's own CA bundle, as the SDK's session verifies with.
            tls = ssl.create_default_context(cafile=stripe.ca_bundle_path)
            connector = aiohttp.TCPConnector(ssl=tls, keepalive_timeout=KEEPALIVE_SECONDS)
            session: Any = aiohttp.ClientSession(connector=connector)
            self._cached_session = session
        return self._cached_session

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        name = operation(method, url)
        started = time.perf_counter()
        with _tracer.start_as_current_span(
            f"stripe {name}",
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": method.upper(), "server.address": _host(url)},
        ) as span:
            content, status, response_headers = await super().request_async(
                method, url, headers, post_data
            )
            span.set_attribute("http.response.status_code", status)
            # One line per call, like an access log of what the service asked of Stripe.
            log.info("stripe %s %s %.1fms", name, status, (time.perf_counter() - started) * 1000)
            if status >= 400:  # a decline is a 402: the call failed even if the saga goes on
                span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
            return content, status, response_headers


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""
