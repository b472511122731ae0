"""OpenTelemetry traces and metrics for one process.

Spans go to OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, otherwise to a JSON-lines
file when the service's ``trace_file`` is set, otherwise nowhere. gRPC server and client
calls are instrumented here; each database transaction is a span of its own (``db.py``).
Attribute values are cut to the kit's bound (``redact.MAX_VALUE_CHARS``) when they are set,
and the local exporter scrubs attributes and status texts as log lines are scrubbed (a
caller's user agent or method path is caller text).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.util import ns_to_iso_str
from opentelemetry.trace import format_span_id, format_trace_id

from medpay_kit.redact import MAX_VALUE_CHARS, scrub


def _iso(ns: int | None) -> str | None:
    return ns_to_iso_str(ns) if ns else None


def _attributes(attributes: object) -> dict | None:
    return scrub(dict(attributes)) if attributes is not None else None  # type: ignore[call-overload]


def span_record(span: ReadableSpan, resource: dict) -> dict:
    """The fields of ``ReadableSpan.to_json`` as a dict, built once (no JSON round trip)."""
    ctx = span.context
    status = {"status_code": span.status.status_code.name}
    if span.status.description:
        status["description"] = scrub(span.status.description)
    return {
        "name": span.name,
        "context": {"trace_id": f"0x{format_trace_id(ctx.trace_id)}",
                    "span_id": f"0x{format_span_id(ctx.span_id)}",
                    "trace_state": repr(ctx.trace_state)} if ctx else None,
        "kind": str(span.kind),
        "parent_id": f"0x{format_span_id(span.parent.span_id)}" if span.parent else None,
        "start_time": _iso(span.start_time),
        "end_time": _iso(span.end_time),
        "status": status,
        "attributes": _attributes(span.attributes),
        "events": [{"name": e.name, "timestamp": ns_to_iso_str(e.timestamp),
                    "attributes": _attributes(e.attributes)} for e in span.events],
        "links": [{"context": {"trace_id": f"0x{format_trace_id(link.context.trace_id)}",
                               "span_id": f"0x{format_span_id(link.context.span_id)}",
                               "trace_state": repr(link.context.trace_state)},
                   "attributes": _attributes(link.attributes)} for link in span.links],
        "resource": resource,
    }


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one compact JSON object per line (the local default).

    The record is built straight from the span (the resource, the same for every span of
    the process, is rendered once), then written with one ``json.dumps``.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[str] = path.open("a", encoding="utf-8")
        self._resources: dict[int, dict] = {}

    def _resource(self, span: ReadableSpan) -> dict:
        key = id(span.resource)
        cached = self._resources.get(key)
        if cached is None:
            cached = self._resources[key] = json.loads(span.resource.to_json())
        return cached

    def export(self, spans: list[ReadableSpan]) -> SpanExportResult:  # type: ignore[override]
        dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode
        self._out.write("".join(dumps(span_record(span, self._resource(span))) + "\n"
                                for span in spans))
        self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


class Telemetry:
    """Owns the tracer and meter providers of one process; ``shutdown`` flushes them."""

    def __init__(self, service: str, trace_file: Path | None, *, instrument: bool = True) -> None:
        resource = Resource.create({"service.name": f"medpay-{service}"})
        self.tracer_provider = TracerProvider(
            resource=resource, span_limits=SpanLimits(max_attribute_length=MAX_VALUE_CHARS))
        readers = []
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            self.tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        elif trace_file is not None:
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(JsonLinesSpanExporter(trace_file), schedule_delay_millis=500)
            )
        self.meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        if instrument:
            GrpcAioInstrumentorServer().instrument(tracer_provider=self.tracer_provider)
            GrpcAioInstrumentorClient().instrument(tracer_provider=self.tracer_provider)

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
