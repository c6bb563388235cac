"""`--traced` for the benchmarks: trace as a service does, at the cost a service pays.

Spans go through the services' own setup (`eventkit.tracing.setup_tracing`) and a
`BatchSpanProcessor`, to an exporter that encodes each batch as OTLP protobuf (the CPU an OTLP
exporter spends in the process) and then drops it: no collector, no network in the figure.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from eventkit.tracing import TRACEPARENT, setup_tracing


class EncodeOnlyExporter(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0
        self.processor = BatchSpanProcessor(self)

    def flush(self) -> int:
        """Export what the batch still holds; the spans exported in all."""
        self.processor.force_flush()
        return self.spans

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


def start_tracing(service: str) -> EncodeOnlyExporter:
    exporter = EncodeOnlyExporter()
    setup_tracing(service, exporter.processor)
    return exporter


def traceparent_header(sampled: float = 1.0) -> tuple[str, bytes]:
    """The header the relay sends with a traced row. The trace's sampling was decided where it
    began (the gateway: `OTEL_TRACES_SAMPLER`); a fraction `sampled` of them were sampled, and
    the consumer follows its parent (parent-based sampling)."""
    flags = "01" if random.random() < sampled else "00"
    return TRACEPARENT, f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{flags}".encode()
