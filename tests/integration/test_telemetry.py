"""Tracing: a request, its command and the messages it causes are spans; logs carry the trace id."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support import scheme_body

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider():
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)
    yield


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_request_command_and_messages_are_traced(api):
    EXPORTER.clear()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = api.client.post("/v1/schemes", json=scheme_body(),
                               headers={**api.headers("Ada", "admin"), "traceparent": traceparent})
    assert response.status_code == 201
    api.settle()
    spans = {s.name: s for s in EXPORTER.get_finished_spans()}
    assert "registry.register_scheme" in spans
    assert format(spans["registry.register_scheme"].context.trace_id, "032x") == traceparent.split("-")[1]
    assert "applications process Scheme.Registered" in spans
