"""Traces and logs without infrastructure: exporter choice, log formats, the HTTP middleware's
correlation id and trace ids, Stripe span names (docs/observability-traces.md)."""

from __future__ import annotations

import io
import json
import logging
import random
import uuid
from collections.abc import Iterator

import pytest
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from eventkit import logs, tracing
from eventkit.stripe_tracing import operation


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "none"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, "none"),
    ],
)
def test_the_exporter_is_none_unless_the_environment_names_one_or_a_collector(
    environ: dict[str, str], expected: str
) -> None:
    assert tracing.exporter_name(environ) == expected


def _sampled(sampler: Sampler, trace_id: int, parent: bool | None = None) -> bool:
    context = None
    if parent is not None:
        flags = TraceFlags(TraceFlags.SAMPLED if parent else TraceFlags.DEFAULT)
        remote = NonRecordingSpan(SpanContext(trace_id, 1, True, flags))
        context = trace.set_span_in_context(remote)
    return sampler.should_sample(context, trace_id, "span").decision.is_sampled()


def test_exporting_with_no_sampler_named_records_one_trace_in_100_and_children_follow() -> None:
    sampler = tracing.default_sampler(exporting=True, environ={})
    assert sampler is not None
    ids = [random.getrandbits(128) or 1 for _ in range(20_000)]
    share = sum(_sampled(sampler, trace_id) for trace_id in ids) / len(ids)
    assert tracing.DEFAULT_SAMPLE_RATIO == 0.01
    assert 0.006 < share < 0.014
    # Decided where the trace began: every service follows the parent's flag.
    assert all(_sampled(sampler, trace_id, parent=True) for trace_id in ids[:200])
    assert not any(_sampled(sampler, trace_id, parent=False) for trace_id in ids[:200])


def test_the_sampler_ratio_and_the_sampler_itself_come_from_the_standard_variables() -> None:
    every = tracing.default_sampler(True, {"OTEL_TRACES_SAMPLER_ARG": "1"})
    assert every is not None and _sampled(every, random.getrandbits(128) or 1)
    # Named: the SDK reads OTEL_TRACES_SAMPLER itself.
    assert tracing.default_sampler(True, {"OTEL_TRACES_SAMPLER": "always_on"}) is None
    # Nothing exported: nothing recorded at any ratio.
    quiet = tracing.default_sampler(False, {"OTEL_TRACES_SAMPLER_ARG": "1"})
    assert quiet is not None and not _sampled(quiet, random.getrandbits(128) or 1)
    with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER_ARG='2'"):
        tracing.default_sampler(True, {"OTEL_TRACES_SAMPLER_ARG": "2"})


def test_an_unknown_exporter_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER='jaeger'"):
        tracing.exporter_name({"OTEL_TRACES_EXPORTER": "jaeger"})


def test_log_format_is_text_on_a_terminal_and_json_otherwise_unless_chosen() -> None:
    assert logs.log_format({}, _Tty()) == "text"
    assert logs.log_format({}, io.StringIO()) == "json"
    assert logs.log_format({"LOG_FORMAT": "TEXT"}, io.StringIO()) == "text"
    assert logs.log_format({"LOG_FORMAT": "json"}, _Tty()) == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.log_format({"LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:12111/v1/payment_intents", "POST /v1/payment_intents"),
        (
            "https://api.stripe.com/v1/payment_intents/pi_3NxYz12/capture",
            "POST /v1/payment_intents/{id}/capture",
        ),
        (
            "https://api.stripe.com/v1/transfers/tr_1Abc/reversals",
            "POST /v1/transfers/{id}/reversals",
        ),
    ],
)
def test_stripe_spans_are_named_by_path_template_never_by_id(url: str, expected: str) -> None:
    assert operation("post", url) == expected


@pytest.fixture
def captured_root() -> Iterator[io.StringIO]:
    """The root logger as a service sets it up, writing to a buffer; restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield io.StringIO()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    assert tracing.setup_tracing("tests", SimpleSpanProcessor(exporter)) is not None
    return exporter


def _app() -> FastAPI:
    app = FastAPI(telemetry=tracing.FASTAPI_TELEMETRY)

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str | None]:
        logs.bind(booking_id=thing_id)
        logging.getLogger("test.endpoint").info("looking at %s", thing_id)
        found = logs.correlation_id()
        return {"correlation_id": str(found) if found else None}

    app.add_middleware(logs.CorrelationMiddleware)
    return app


def test_a_request_logs_json_lines_with_its_correlation_id_trace_id_and_booking_id(
    captured_root: io.StringIO, spans: InMemorySpanExporter
) -> None:
    logs.setup_logging("INFO", "booking", "json", captured_root)
    trace_id = uuid.uuid4().hex
    given = uuid.uuid4()
    with TestClient(_app()) as client:
        response = client.get(
            "/v1/things/b-1",
            headers={
                "X-Correlation-Id": str(given),
                "traceparent": f"00-{trace_id}-{'1' * 16}-01",
            },
        )
    assert response.json() == {"correlation_id": str(given)}
    assert response.headers["X-Correlation-Id"] == str(given)
    lines = [json.loads(line) for line in captured_root.getvalue().splitlines()]
    ours = [line for line in lines if line.get("trace_id") == trace_id]
    assert {line["logger"] for line in ours} == {"test.endpoint", "eventkit.http"}
    for line in ours:
        assert (line["service"], line["correlation_id"]) == ("booking", str(given))
        assert line["level"] == "INFO" and len(line["span_id"]) == 16
    (endpoint,) = [line for line in ours if line["logger"] == "test.endpoint"]
    assert endpoint["booking_id"] == "b-1" and endpoint["message"] == "looking at b-1"
    server = [s for s in spans.get_finished_spans() if s.context.trace_id == int(trace_id, 16)]
    assert [s.name for s in server] == ["GET /v1/things/{thing_id}"]  # the route, not the path


def test_probes_and_scrapes_get_no_span_and_a_request_gets_exactly_one(
    spans: InMemorySpanExporter,
) -> None:
    spans.clear()
    app = _app()

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 404
        assert not spans.get_finished_spans()
        client.get("/v1/things/t-1")
    (server,) = spans.get_finished_spans()  # no spans of FastAPI's dependencies or endpoint
    assert server.name == "GET /v1/things/{thing_id}" and server.kind is SpanKind.SERVER
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200


def test_a_correlation_id_that_is_not_a_uuid_is_replaced_by_a_new_one() -> None:
    with TestClient(_app()) as client:
        response = client.get("/v1/things/x", headers={"X-Correlation-Id": "'; drop table"})
    echoed = response.headers["X-Correlation-Id"]
    assert uuid.UUID(echoed) and response.json() == {"correlation_id": echoed}


def test_text_lines_stay_readable_and_end_with_the_ids(captured_root: io.StringIO) -> None:
    logs.setup_logging("INFO", "payments", "text", captured_root)
    with logs.event_scope():
        logs.bind(correlation_id="c-1")
        logging.getLogger("payments.test").warning("card declined")
    (line,) = captured_root.getvalue().splitlines()
    assert " WARNING payments.test: card declined [correlation_id=c-1" in line
    assert not line.startswith("{")


def test_a_trace_not_sampled_where_it_began_is_passed_on_without_spans(
    spans: InMemorySpanExporter,
) -> None:
    unsampled = f"00-{'a' * 32}-{'b' * 16}-00"
    row = {"traceparent": unsampled, "topic": "t", "event_type": "x.y", "event_id": "e"}
    publish = tracing.PublishSpans("booking")
    assert publish.start(("t", 0), row) == [(tracing.TRACEPARENT, unsampled.encode())]
    publish.finish(("t", 0))
    record = ConsumerRecord(
        "t", 0, 7, 0, 0, b"k", b"v", None, 0, 0, [("traceparent", unsampled.encode())]
    )
    before = len(spans.get_finished_spans())
    with tracing.consuming("payments", record):
        assert tracing.current_traceparent() == unsampled  # its outbox rows carry it on
    assert len(spans.get_finished_spans()) == before


def test_a_sampled_record_is_handled_in_a_child_span_whose_rows_carry_it(
    spans: InMemorySpanExporter,
) -> None:
    sampled = f"00-{'c' * 32}-{'d' * 16}-01"
    record = ConsumerRecord(
        "t",
        1,
        9,
        0,
        0,
        b"k",
        b"v",
        None,
        0,
        0,
        [("event_type", b"x.y"), ("traceparent", sampled.encode())],
    )
    with tracing.consuming("payments", record) as span:
        inner = tracing.current_traceparent()
    (done,) = [
        s
        for s in spans.get_finished_spans()
        if s.context.span_id == span.get_span_context().span_id
    ]
    assert done.name == "payments handle x.y" and done.parent is not None
    assert (done.parent.trace_id, done.parent.span_id) == (int("c" * 32, 16), int("d" * 16, 16))
    assert inner == f"00-{'c' * 32}-{done.context.span_id:016x}-01"
