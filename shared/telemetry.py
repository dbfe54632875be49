"""Tracing with OpenTelemetry: one span per HTTP request, per command and per message applied.

Configured only through the standard ``OTEL_*`` variables: ``OTEL_TRACES_EXPORTER=console`` prints
spans; ``otlp`` needs the ``opentelemetry-exporter-otlp`` package installed beside Hallmark. With no
exporter configured, spans cost next to nothing and nothing is exported.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hallmark")


def configure(service_name: str = "hallmark") -> None:
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if exporter_name in ("", "none"):
        return
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    if exporter_name == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTEL_TRACES_EXPORTER=otlp needs 'pip install opentelemetry-exporter-otlp'; tracing is off")
            return
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        log.warning("OTEL_TRACES_EXPORTER=%s is not supported here (console, otlp); tracing is off", exporter_name)
        return
    trace.set_tracer_provider(provider)


@contextmanager
def span(name: str, parent: str | None = None, **attributes: Any) -> Iterator[trace.Span]:
    """A span; ``parent`` (a W3C traceparent carried by a message) continues the trace of the command
    that recorded the event, across the relay and Kafka."""
    context = propagate.extract({"traceparent": parent}) if parent else None
    kind = trace.SpanKind.CONSUMER if parent else trace.SpanKind.INTERNAL
    with tracer.start_as_current_span(name, context=context, kind=kind,
                                      attributes={k: v for k, v in attributes.items() if v is not None}) as s:
        yield s


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
