"""Log lines that say whose work they are: service, correlation id, trace and span ids, and the
booking or payment id when known (docs/observability-traces.md, "Logs").

The context lives in a contextvar, so it follows the asyncio task that does the work:
* the HTTP middleware (`install`) binds the request's correlation id (`X-Correlation-Id` when
  the client sends a UUID, else a new one; echoed on the response) and logs one access line;
* the consumer binds each event's envelope (`event_scope`, `bind_envelope`) while handling it.
The trace and span ids are read from the current OpenTelemetry span when a line is written.

`LOG_FORMAT` chooses the output: `json` (one object per line) or `text` (the human-readable
line of `make run`). Unset: `text` when stderr is a terminal, else `json` (services under
`make up`, CI, containers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domainkit.ids import new_uuid

FORMAT_ENV = "LOG_FORMAT"
FORMATS = ("json", "text")
CORRELATION_HEADER = "X-Correlation-Id"
# The envelope's data fields copied onto the lines of its handling: ids, never amounts or PII.
DATA_IDS = ("booking_id", "payment_id", "group_id", "refund_id", "payout_id", "dispute_id")
CONTEXT_FIELDS = ("service", "correlation_id", "trace_id", "span_id", "event_type", *DATA_IDS)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "eventkit"

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("eventkit_log_context", default=_EMPTY)
access_log = logging.getLogger("eventkit.http")


def log_format(environ: Mapping[str, str] | None = None, stream: Any = None) -> str:
    env = os.environ if environ is None else environ
    name = env.get(FORMAT_ENV, "").strip().lower()
    if not name:
        return "text" if (stream or sys.stderr).isatty() else "json"
    if name not in FORMATS:
        raise ValueError(f"{FORMAT_ENV}={name!r}: expected json or text")
    return name


def bind(**fields: Any) -> None:
    """Add fields to the current context (until the enclosing scope ends)."""
    _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})


def current() -> Mapping[str, str]:
    return _context.get()


def correlation_id() -> uuid.UUID | None:
    """The correlation id bound to the current request or event, if any."""
    value = _context.get().get("correlation_id")
    return uuid.UUID(value) if value else None


def bind_envelope(envelope: Any) -> None:
    data = envelope.data
    bind(
        correlation_id=envelope.correlation_id,
        event_type=envelope.type,
        **{name: data[name] for name in DATA_IDS if data.get(name) is not None},
    )


def enter_event(envelope: Any = None) -> Token[Mapping[str, str]]:
    """A fresh context for one event's handling, until `exit_event(token)`."""
    token = _context.set(_EMPTY)
    if envelope is not None:
        bind_envelope(envelope)
    return token


def exit_event(token: Token[Mapping[str, str]]) -> None:
    _context.reset(token)


@contextlib.contextmanager
def event_scope(envelope: Any = None) -> Iterator[None]:
    """`enter_event` … `exit_event` as a `with` block: the caller's context is back after it."""
    token = enter_event(envelope)
    try:
        yield
    finally:
        exit_event(token)


class ContextFilter(logging.Filter):
    """Copies the context and the current span's ids onto every record the handler writes."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        for name, value in _context.get().items():
            setattr(record, name, value)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = trace.format_trace_id(span.trace_id)
            record.span_id = trace.format_span_id(span.span_id)
        return True


class TextFormatter(logging.Formatter):
    """The readable line, with the correlation and trace ids at its end when there are some."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={getattr(record, name)}"
            for name in ("correlation_id", "trace_id")
            if hasattr(record, name)
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


class Repeats(logging.Filter):
    """The Kafka client's own lines, which repeat many times a second while a broker is away
    ("Unable connect to node", "Failed fetch messages"): the first of a kind (logger, level,
    message template) goes out, the same again only `window` seconds later, carrying how many
    were left out meanwhile (`repeated`). The services' own lines all go out."""

    PREFIXES = ("aiokafka",)

    def __init__(self, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window, self.clock = window, clock
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.PREFIXES):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        seen = self._last.get(kind)
        if seen is not None and now - seen[0] < self.window:
            self._last[kind] = (seen[0], seen[1] + 1)
            return False
        if seen is not None and seen[1]:
            record.repeated = seen[1]  # left out since the last one that went out
        if len(self._last) > 1000:  # kinds are few; never grow without bound
            self._last.clear()
        self._last[kind] = (now, 0)
        return True


def setup_logging(
    level: str, service: str = "", fmt: str | None = None, stream: Any = None
) -> None:
    """Root handler on `stream` (stderr) in `fmt` (default: `log_format()`), replacing the one
    an earlier call installed."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if (fmt or log_format()) == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(TextFormatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter(service or "-"))
    handler.addFilter(Repeats())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    # Only an earlier handler of ours is replaced: a test's capture handlers stay.
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a warning is a line of the same format too


class CorrelationMiddleware:
    """Binds the request's correlation id, echoes it, and logs one access line per request."""

    QUIET = frozenset({"/healthz", "/metrics"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-correlation-id")
        token = _context.set({"correlation_id": str(_uuid_or_new(given))})
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                value = _context.get()["correlation_id"].encode()
                headers.append((CORRELATION_HEADER.lower().encode(), value))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["path"] not in self.QUIET:
                access_log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            _context.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _uuid_or_new(value: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(value) if value else new_uuid()
    except ValueError:  # not ours to trust as a saga id: the request gets its own
        return new_uuid()
