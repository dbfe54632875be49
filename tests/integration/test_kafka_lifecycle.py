"""The whole lifecycle with every service joined by Apache Kafka only (relays and Kafka feeds, in one
process here; one process each in tests/e2e/test_distributed.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import Hallmark, bootstrap
from services.settings import Settings
from services.web import create_app
from tests.support import Api, File

pytestmark = pytest.mark.kafka


@pytest.fixture
def kafka_hallmark(settings: Settings, kafka_bootstrap: str, kafka_prefix: str) -> Iterator[Hallmark]:
    settings.transport = "kafka"
    settings.kafka_bootstrap = kafka_bootstrap
    settings.kafka_prefix = kafka_prefix
    system = bootstrap(settings)
    yield system
    system.close()


@pytest.fixture
def kafka_api(kafka_hallmark: Hallmark) -> Iterator[Api]:
    with TestClient(create_app(kafka_hallmark, run_pump=False), raise_server_exceptions=False) as client:
        yield Api(client, kafka_hallmark.settings.local_secret(), kafka_hallmark.settle)


def test_the_lifecycle_over_kafka(kafka_api, kafka_hallmark):
    api = kafka_api
    file = File(api).granted()
    refused = file.decide("grant", by=("Luc Lead", "decision_maker"))
    assert refused.status_code == 409
    file.ok(file.decide("suspend"), 201)
    public = api.get(f"/public/v1/certificates/{file.certificate}").json()
    assert public["status"] == "suspended"
    entries = api.get("/v1/audit-trail", *File.ADMIN, certificate_number=file.certificate).json()["entries"]
    assert [e["type"] for e in entries if e["service"] == "decisions"] == ["Decision.Recorded", "Decision.Recorded"]
    report = kafka_hallmark.verify_trail()
    assert report["ok"], report
    for relay in kafka_hallmark.relays:
        assert relay.lag() == 0


def test_each_event_once_in_the_trail_over_kafka(kafka_api, kafka_hallmark):
    for _ in range(2):
        File(kafka_api).granted()
    kafka_hallmark.settle()
    entries = kafka_hallmark.trail.all_entries()
    stored = sum(1 for app in kafka_hallmark.services
                 for n in app.recorder.select_notifications(start=None, limit=100_000) if app.message(n))
    assert len(entries) == len({e["event_id"] for e in entries}) == stored


def test_a_rebuild_from_the_topics_gives_the_same_views(kafka_api, kafka_hallmark):
    import io

    from services.rebuild import rebuild

    File(kafka_api).granted()
    kafka_hallmark.settle()

    def content():
        trail = [(e["index"], e["event_id"]) for e in kafka_hallmark.trail.all_entries()]
        return trail, kafka_hallmark.certificates.snapshot(), kafka_hallmark.trail.log.entries()

    before = content()
    counts = rebuild(kafka_hallmark, "all", out=io.StringIO())
    assert counts["trail"] == len(before[0]) and content() == before


def test_a_component_alone_rebuilds_only_the_views_it_holds(settings, kafka_bootstrap, kafka_prefix):
    import io

    from services.rebuild import rebuild
    from services.settings import ConfigurationError

    settings.transport, settings.kafka_bootstrap, settings.kafka_prefix = "kafka", kafka_bootstrap, kafka_prefix
    registry_only = bootstrap(settings, component="registry")
    try:
        assert registry_only.trail is None and registry_only.certificates is not None
        assert [c.name for c in registry_only.consumers] == ["registry<-decisions", "certificates<-registry"]
        with pytest.raises(ConfigurationError, match="trail"):
            rebuild(registry_only, "trail", out=io.StringIO())
    finally:
        registry_only.close()


def test_checkpoints_go_to_their_topic_names_go_sealed_and_a_lost_log_is_found_from_the_topic(
        kafka_api, kafka_hallmark, settings):
    """Over Kafka the checkpoint topic keeps every checkpoint the log signs (for partners and
    witnesses); records carry names sealed; and the topic alone reveals a projections database that
    lost its log, when the journal is gone too."""
    from shared.evidence.checkpoint import open_checkpoint
    from shared.kafka import CheckpointTopic, topic_for

    File(kafka_api).granted()
    kafka_hallmark.settle()
    log = kafka_hallmark.trail.log
    topic = CheckpointTopic(settings.kafka_bootstrap, kafka_hallmark.kafka_io, settings.kafka_prefix)
    notes = topic.notes()
    assert notes and notes == [c.note for c in log.checkpoints()]
    assert open_checkpoint(notes[-1], log.key.vkey, log.origin).size == log.size()

    raw = kafka_hallmark.kafka_io.run(_all_values(settings.kafka_bootstrap, topic_for("audits", settings.kafka_prefix)))
    assert raw and not any(b"Luc Lead" in value for value in raw)
    assert any(b'"sealed"' in value for value in raw)

    kafka_hallmark.close()
    if settings.store == "sqlite":
        (settings.data_dir / "projections.db").unlink()
    else:
        import psycopg

        with psycopg.connect(settings.pg_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{settings.pg_schema_prefix}projections" CASCADE')
    settings.checkpoint_journal.unlink()
    with pytest.raises(Exception, match="hallmark trail recover"):
        bootstrap(settings)


async def _all_values(bootstrap_servers: str, topic: str) -> list[bytes]:
    return [record.value for record in await _all_records(bootstrap_servers, topic)]


def test_the_change_feed_goes_to_partners_as_cloudevents(kafka_api, kafka_hallmark, settings):
    from services.partners.topic import changes_topic

    file = File(kafka_api).granted()
    file.ok(file.decide("suspend"), 201)
    kafka_hallmark.settle()
    records = kafka_hallmark.kafka_io.run(_all_records(settings.kafka_bootstrap, changes_topic(settings.kafka_prefix)))
    feed = kafka_api.get("/public/v1/changes").json()["items"]
    assert [json.loads(r.value)["change_seq"] for r in records] == [c["seq"] for c in feed]
    headers = [{k: v.decode() for k, v in r.headers} for r in records]
    assert [h["ce_type"] for h in headers] == ["certificate.issued", "certificate.suspended"]
    assert all(h["ce_specversion"] == "1.0" and h["ce_source"] == "hallmark/registry" for h in headers)
    assert json.loads(records[1].value)["certificate"] == feed[1]["certificate"]
    kafka_hallmark.settle()  # nothing published twice
    again = kafka_hallmark.kafka_io.run(_all_records(settings.kafka_bootstrap, changes_topic(settings.kafka_prefix)))
    assert len(again) == len(records)


async def _all_records(bootstrap_servers: str, topic: str) -> list:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    partition = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        consumer.seek(partition, 0)
        records: list = []
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=1000)
            records += batch.get(partition, [])
        return records
    finally:
        await consumer.stop()
