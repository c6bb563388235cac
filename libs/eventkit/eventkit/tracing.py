"""Traces: one trace per saga, across HTTP, the outbox, the relay and Kafka.

* `setup_tracing(service)` installs the process's OpenTelemetry tracer provider once, from the
  standard variables: `OTEL_TRACES_EXPORTER` (`otlp`, `console` or `none`), the OTLP/HTTP
  exporter's `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
  `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` (+ `_ARG`) and `OTEL_SDK_DISABLED`. Unset, the
  exporter is `otlp` when an OTLP endpoint is set and `none` otherwise, so a development
  machine never tries to reach a collector; with no exporter nothing is recorded, but trace ids
  are still made and propagated, so log lines carry them. Unset, the sampler is
  `parentbased_traceidratio` at `OTEL_TRACES_SAMPLER_ARG` (default `DEFAULT_SAMPLE_RATIO`) when
  exporting: the SDK's own default records every trace, which halves the consumer's rate
  (docs/benchmarks.md, "Cost of the instrumentation").
* `Outbox.add` stores the current span's W3C `traceparent` with the row (`current_traceparent`).
* The relay publishes each traced row in a PRODUCER span, child of the row's traceparent, and
  sends that span's traceparent as the record's `traceparent` header (`PublishSpans`).
* The consumer handles each record in a CONSUMER span, child of the header (`consuming`). A
  replayed dead letter keeps the original headers, so its replay joins the original trace.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, MutableMapping
from typing import Any

from aiokafka.structs import ConsumerRecord
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from eventkit import logs

log = logging.getLogger("eventkit.tracing")

TRACEPARENT = "traceparent"
EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
EXPORTERS = ("otlp", "console", "none")
SAMPLER_ENV, SAMPLER_ARG_ENV = "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"
# One trace in a hundred, decided where it begins (the gateway) and followed by every service.
# Measured on the consumer bench (docs/benchmarks.md): metrics plus tracing at 0.05 cost it
# 5-20 % of its CPU per event, at 0.01 4-6 %, against issue 14's 10 % budget; a few checkouts
# a second still give a trace or two a minute.
DEFAULT_SAMPLE_RATIO = 0.01
# Requests that are not work of the platform: probes and scrapes would be most of the spans.
EXCLUDED_PATHS = frozenset({"/healthz", "/metrics"})

_tracer = trace.get_tracer("eventkit")
# Set by setup_tracing: until then (tests, tools, OTEL_SDK_DISABLED) the consumer and relay skip
# their spans altogether, even the API's no-op ones (~15 us per record).
_enabled = False


def exporter_name(environ: dict[str, str] | None = None) -> str:
    """`OTEL_TRACES_EXPORTER`, else `otlp` when an OTLP endpoint is configured, else `none`."""
    env = os.environ if environ is None else environ
    name = env.get(EXPORTER_ENV, "").strip().lower()
    if not name:
        return "otlp" if any(env.get(var) for var in ENDPOINT_ENVS) else "none"
    if name not in EXPORTERS:
        raise ValueError(f"{EXPORTER_ENV}={name!r}: expected one of {', '.join(EXPORTERS)}")
    return name


def default_sampler(exporting: bool, environ: dict[str, str] | None = None) -> Sampler | None:
    """The sampler when `OTEL_TRACES_SAMPLER` is unset (None when it is set: the SDK reads it).
    Not exporting: record nothing (a recorded span costs ~30 µs; ids are still propagated).
    Exporting: parent-based ratio at `OTEL_TRACES_SAMPLER_ARG`, else `DEFAULT_SAMPLE_RATIO`."""
    env = os.environ if environ is None else environ
    if env.get(SAMPLER_ENV, "").strip():
        return None
    if not exporting:
        return ParentBased(ALWAYS_OFF)
    arg = env.get(SAMPLER_ARG_ENV, "").strip()
    ratio = float(arg) if arg else DEFAULT_SAMPLE_RATIO
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{SAMPLER_ARG_ENV}={arg!r}: expected a ratio from 0 to 1")
    return ParentBased(TraceIdRatioBased(ratio))


def _exporter(name: str) -> SpanExporter | None:
    if name == "otlp":
        # Imported here: only a process that exports over OTLP pays for protobuf.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    if name == "console":
        # One line per span, on stdout: a log file stays one JSON object per line.
        return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
    return None


def setup_tracing(service: str, processor: SpanProcessor | None = None) -> TracerProvider | None:
    """Install the process's tracer provider (once; later calls return the first one).

    `processor` replaces the exporter of the environment (tests pass an in-memory one).
    Returns None when `OTEL_SDK_DISABLED=true`: the API's no-op tracer stays in place."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        if processor is not None:
            current.add_span_processor(processor)
        return current
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    # A processor given (tests: in-memory) keeps the SDK's sampler: OTEL_TRACES_SAMPLER, else
    # every trace, which the one-checkout-one-trace test needs.
    sampler = None
    if processor is None:
        name = exporter_name()
        exporter = _exporter(name)
        if exporter is not None:
            # Batched, off the event loop: an export never delays a request or a handler.
            processor = BatchSpanProcessor(exporter)
        sampler = default_sampler(exporting=exporter is not None)
        chosen = sampler.get_description() if sampler else os.environ[SAMPLER_ENV]
        log.info("%s: traces exported to %s, sampler %s", service, name, chosen)
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    global _enabled
    _enabled = True
    return provider


def _not_traced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in EXCLUDED_PATHS


# FastAPI's own telemetry (`FastAPI(telemetry=...)`, every service's app: eventkit.runtime): a
# SERVER span per request, named by the route's template, child of an incoming `traceparent`,
# on the tracer provider `setup_tracing` installs (none installed: no span at all). Only the
# request span: metrics are Prometheus's (eventkit.metrics) and logs our JSON lines, and the
# per-operation spans (dependencies, endpoint, serialization) would be four more per request.
# Measured per request against no tracing, unsampled (2026-12-05, in-process, a trivial route):
# +37 µs; opentelemetry-instrumentation-fastapi, used before, cost +120 µs (docs/benchmarks.md).
FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": True,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "exclude": _not_traced,
}


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None outside any trace."""
    return _format(trace.get_current_span().get_span_context())


def _format(context: SpanContext) -> str | None:
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


_SAMPLED, _UNSAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)


def _remote(traceparent: str | bytes | None) -> SpanContext | None:
    """The span context a W3C traceparent names (version 00), or None when it names none.
    Parsed here rather than by the propagator: a fifth of the cost, on every record."""
    if not traceparent:
        return None
    if isinstance(traceparent, str):
        traceparent = traceparent.encode("ascii", "replace")
    parts = traceparent.split(b"-")
    if len(parts) != 4 or parts[0] != b"00" or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        flags = _SAMPLED if int(parts[3], 16) & 1 else _UNSAMPLED
        context = SpanContext(int(parts[1], 16), int(parts[2], 16), True, flags)
    except ValueError:
        return None
    return context if context.is_valid else None


def header(record: ConsumerRecord, name: str) -> bytes | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value)
    return None


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """An INTERNAL span of the current trace: a service's transaction, a posting."""
    if not _enabled:
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


class consuming:
    """Handle `record` in a CONSUMER span whose parent is its `traceparent` header, with the
    log context of its envelope (`logs.bind_envelope`; given later when decoded later).

    A class rather than a generator: it runs for every record, and this is half the cost. The
    span is started and made current by hand (`start_span`, `context.attach`) rather than by
    `start_as_current_span`, whose three nested context managers cost a fifth of a sampled
    record's span (profiled: bench/consumer_bench.py --traced)."""

    __slots__ = ("_attached", "_logs", "_span", "envelope", "record", "service")

    def __init__(self, service: str, record: ConsumerRecord, envelope: Any = None) -> None:
        self.service, self.record, self.envelope = service, record, envelope
        self._attached: object = None
        self._span: Span | None = None

    def __enter__(self) -> Span:
        self._logs = logs.enter_event(self.envelope)
        if not _enabled:
            return trace.INVALID_SPAN
        remote = _remote(header(self.record, TRACEPARENT))
        if remote is not None and not remote.trace_flags.sampled:
            # Not sampled where the trace began: handled in its parent's context, without a
            # span of its own (the SDK's would record nothing; the ids in the logs are the same).
            unsampled = NonRecordingSpan(remote)
            self._attached = otel_context.attach(trace.set_span_in_context(unsampled))
            return unsampled
        record = self.record
        event_type = (header(record, "event_type") or b"?").decode("utf-8", "replace")
        span = self._span = _tracer.start_span(
            f"{self.service} handle {event_type}",
            context=trace.set_span_in_context(NonRecordingSpan(remote)) if remote else None,
            kind=SpanKind.CONSUMER,
            # Few attributes: each one is encoded and exported with every sampled record.
            attributes={
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
            },
        )
        self._attached = otel_context.attach(trace.set_span_in_context(span))
        return span

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        try:
            span = self._span
            if span is not None:
                if error is not None and span.is_recording():
                    # What `start_as_current_span` would have noted.
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                span.end()
        finally:
            if self._attached is not None:
                otel_context.detach(self._attached)  # type: ignore[arg-type]
            logs.exit_event(self._logs)


def set_outcome(current: Span, outcome: str) -> None:
    """A dead-lettered record is the trace's error even though its handling raised nothing."""
    current.set_attribute("eventkit.outcome", outcome)
    if outcome == "dead_lettered":
        current.set_status(Status(StatusCode.ERROR, "dead-lettered"))


class PublishSpans:
    """The relay's PRODUCER spans of one round: one per traced row, from its claim to the
    broker's acknowledgement of its batch. Untraced rows (timers, tracing off) cost nothing."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._open: dict[Any, list[Span]] = {}

    def start(self, target: Any, row: Any) -> list[tuple[str, bytes]]:
        """Open the row's span; the header that makes the consumer's span its child."""
        remote = _remote(row["traceparent"]) if _enabled else None
        if remote is None:
            return []
        if not remote.trace_flags.sampled:  # nobody records it: the row's own header will do
            return [(TRACEPARENT, row["traceparent"].encode())]
        current = _tracer.start_span(
            f"{self.service} publish {row['topic']}",
            context=trace.set_span_in_context(NonRecordingSpan(remote)),
            kind=SpanKind.PRODUCER,
            attributes={"event.id": str(row["event_id"])},
        )
        self._open.setdefault(target, []).append(current)
        return [(TRACEPARENT, (_format(current.get_span_context()) or "").encode())]

    def finish(self, target: Any, error: BaseException | None = None) -> None:
        for current in self._open.pop(target, ()):
            if error is not None:
                current.set_status(Status(StatusCode.ERROR, repr(error)))
            current.end()

    def unsent(self, target: Any) -> None:
        """End the last span of `target`: its row did not fit in the batch (sent next round)."""
        spans = self._open.get(target)
        if spans:
            current = spans.pop()
            current.set_attribute("eventkit.deferred", True)
            current.end()
