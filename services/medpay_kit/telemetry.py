"""OpenTelemetry traces and metrics for one process.

Spans go to OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, otherwise to a JSON-lines
file when the service's ``trace_file`` is set, otherwise nowhere. gRPC server and client
calls are instrumented here; database engines are instrumented by :func:`instrument_engine`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from sqlalchemy.ext.asyncio import AsyncEngine


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one JSON object per line (the local default)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[str] = path.open("a", encoding="utf-8")

    def export(self, spans: list[ReadableSpan]) -> SpanExportResult:  # type: ignore[override]
        for span in spans:
            self._out.write(json.dumps(json.loads(span.to_json()), separators=(",", ":")) + "\n")
        self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


class Telemetry:
    """Owns the tracer and meter providers of one process; ``shutdown`` flushes them."""

    def __init__(self, service: str, trace_file: Path | None, *, instrument: bool = True) -> None:
        resource = Resource.create({"service.name": f"medpay-{service}"})
        self.tracer_provider = TracerProvider(resource=resource)
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
        self._instrument = instrument
        if instrument:
            GrpcAioInstrumentorServer().instrument(tracer_provider=self.tracer_provider)
            GrpcAioInstrumentorClient().instrument(tracer_provider=self.tracer_provider)

    def instrument_engine(self, engine: AsyncEngine) -> None:
        if not self._instrument:
            return
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=self.tracer_provider,
            enable_commenter=False,
        )

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
