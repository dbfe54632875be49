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


@pytest.mark.kafka
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_one_trace_from_the_request_through_kafka_to_the_consumers_effect(settings, kafka_bootstrap, kafka_prefix):
    from fastapi.testclient import TestClient

    from services.bootstrap import bootstrap
    from services.web import create_app
    from tests.support import Api

    settings.transport, settings.kafka_bootstrap, settings.kafka_prefix = "kafka", kafka_bootstrap, kafka_prefix
    system = bootstrap(settings)
    try:
        with TestClient(create_app(system, run_pump=False), raise_server_exceptions=False) as client:
            api = Api(client, settings.local_secret(), system.settle)
            EXPORTER.clear()
            traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            response = api.client.post("/v1/schemes", json=scheme_body(),
                                       headers={**api.headers("Ada", "admin"), "traceparent": traceparent})
            assert response.status_code == 201
            api.settle()
        spans = {s.name: s for s in EXPORTER.get_finished_spans()}
        consumer_span = spans["applications process Scheme.Registered"]  # in the consumer, after the hop
        assert format(consumer_span.context.trace_id, "032x") == traceparent.split("-")[1]
        assert consumer_span.kind == trace.SpanKind.CONSUMER
        assert consumer_span.attributes["messaging.destination.name"] == f"{kafka_prefix}registry.events"
    finally:
        system.close()
