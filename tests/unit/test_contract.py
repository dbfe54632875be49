"""The published contract (shared/contract, ADR 0008) is complete, consistent and in step with the code.

- every event class of every ``published`` aggregate has a schema, and every schema an event class;
- each schema's fields are the event's keyword arguments (required: those without a default);
- the schemas are valid draft 2020-12, identified by their URN, and described;
- types.py is what the generator writes from the schema files;
- the AsyncAPI document lists exactly the schemas' event types, on their service's topic, with the
  headers the code defines, and its receive operations name the types each consumer's code reacts to;
- consumers name event types only through shared.contract.types.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from services.applications.application import Applications
from services.audits.application import Audits
from services.decisions.application import Decisions
from services.registry.application import Registry
from shared import contract, kafka
from shared.contract import generate, types

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = (Applications, Audits, Decisions, Registry)
PUBLISHED = generate.published_event_types(APPLICATIONS)  # service -> {type -> event class}
EVENT_CLASSES = {type_: (service, e) for service, events in PUBLISHED.items() for type_, e in events.items()}
ASYNCAPI = yaml.safe_load(contract.ASYNCAPI.read_text(encoding="utf-8"))

# The modules that react to other services' events, and the AsyncAPI consumer whose receive
# operations describe them.
CONSUMER_MODULES = {
    "applications": "services/applications/policies.py",
    "audits": "services/audits/policies.py",
    "decisions": "services/decisions/policies.py",
    "registry": "services/registry/policies.py",
    "projections.certificates": "services/projections/certificates.py",
}
TYPE_LITERAL = re.compile(r"""["'](Application|Audit|Decision|Appeal|Complaint|Certificate|Scheme)\.[A-Z][A-Za-z]*["']""")


def test_the_services_are_the_contracts_services():
    assert sorted(app.name for app in APPLICATIONS) == sorted(contract.SERVICES)


def test_every_published_event_class_has_a_schema():
    missing = sorted(f"{service}: {type_}" for type_, (service, _) in EVENT_CLASSES.items()
                     if type_ not in contract.EVENT_TYPES)
    assert not missing, (f"published event types without a contract: {missing}; write "
                         "shared/contract/schemas/<service>/<Type>.v1.json (python -m shared.contract.generate "
                         "--skeletons ... drafts one) and regenerate types.py")


def test_every_schema_names_an_event_class_of_its_service():
    for type_, event in contract.EVENT_TYPES.items():
        assert type_ in EVENT_CLASSES, f"{event.path.name}: no published aggregate records {type_}"
        assert EVENT_CLASSES[type_][0] == event.service, f"{type_} is published by {EVENT_CLASSES[type_][0]}"


def test_the_walk_finds_the_events_each_aggregate_records():
    assert len(EVENT_CLASSES) == 46 + 4 + 2  # governance (ADR 0019): the appeal committee's two, the staff register's two; person certification (ADR 0021): an examination arranged, a part scored
    assert {t for t in EVENT_CLASSES if t.startswith(("Decision.", "Appeal."))} == {
        "Decision.Recorded", "Appeal.Lodged", "Appeal.Decided", "Appeal.CommitteeConvened", "Appeal.VoteRecorded"}
    assert {t for t in EVENT_CLASSES if t.startswith("StaffInterest.")} == {
        "StaffInterest.Registered", "StaffInterest.Ended"}
    assert {t for t in EVENT_CLASSES if t.startswith("Complaint.")} == {
        "Complaint.Lodged", "Complaint.Acknowledged", "Complaint.AdmissibilityDecided", "Complaint.HandlerAssigned",
        "Complaint.AuditLinked", "Complaint.OutcomeDecided", "Complaint.Notified", "Complaint.Closed"}
    assert not [t for t in EVENT_CLASSES if t.endswith((".Created", ".Event"))]


@pytest.mark.parametrize("type_", sorted(EVENT_CLASSES))
def test_schema_fields_are_the_events_keyword_arguments(type_):
    """A field added to an event (or removed, or given a default) fails here until the schema follows."""
    service, event = EVENT_CLASSES[type_]
    schema = contract.EVENT_TYPES[type_].schema
    drafted = generate.skeleton(service, event)
    assert list(schema["properties"]) == list(drafted["properties"]), "properties differ from the signature"
    assert schema["required"] == drafted["required"], "required differs: fields without a default are required"


@pytest.mark.parametrize("type_", sorted(contract.EVENT_TYPES))
def test_each_schema_is_valid_identified_and_described(type_):
    event = contract.EVENT_TYPES[type_]
    schema = event.schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:hallmark:contract:{event.service}:{type_}:v{event.version}" == event.uri
    assert event.path == contract.SCHEMA_DIR / event.service / f"{type_}.v{event.version}.json"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["title"] and len(schema["description"]) > 40
    assert set(schema["required"]) <= set(schema["properties"])
    for name, field in schema["properties"].items():
        assert field.get("description"), f"{type_}.{name} has no description"
    assert "TODO" not in json.dumps(schema), "a skeleton was committed without review"
    assert "$ref" not in json.dumps(schema), "schemas are self-contained (their URN is no base for relative refs)"


def test_the_types_module_is_generated_from_the_schemas():
    assert (ROOT / "shared/contract/types.py").read_text(encoding="utf-8") == generate.render_types(
        generate.schema_types()), "out of step: run python -m shared.contract.generate"
    assert set(types.ALL) == set(contract.EVENT_TYPES)
    for type_ in contract.EVENT_TYPES:
        assert getattr(types, generate.constant_name(type_)) == type_


def test_constant_names():
    assert generate.constant_name("Decision.Recorded") == "DECISION_RECORDED"
    assert generate.constant_name("Scheme.DocumentVersionPublished") == "SCHEME_DOCUMENT_VERSION_PUBLISHED"


# -- the API of the contract module -------------------------------------------------------------------


def test_topics_uris_and_lookups():
    assert contract.topic_for("decisions") == "hallmark.decisions.events"
    assert contract.schema_uri("Decision.Recorded") == "urn:hallmark:contract:decisions:Decision.Recorded:v1"
    assert contract.schema_uri("Certificate.Issued", 1) == "urn:hallmark:contract:registry:Certificate.Issued:v1"
    assert contract.contract("Appeal.Lodged").topic == "hallmark.decisions.events"
    assert contract.types_of("decisions") == [
        "Appeal.CommitteeConvened", "Appeal.Decided", "Appeal.Lodged", "Appeal.VoteRecorded", "Complaint.Acknowledged",
        "Complaint.AdmissibilityDecided", "Complaint.AuditLinked", "Complaint.Closed", "Complaint.HandlerAssigned",
        "Complaint.Lodged", "Complaint.Notified", "Complaint.OutcomeDecided", "Decision.Recorded",
        "StaffInterest.Ended", "StaffInterest.Registered"]
    with pytest.raises(ValueError):
        contract.topic_for("projections")  # reads events, publishes none
    with pytest.raises(contract.UnknownEventType):
        contract.validate("Decision.Taken", {})
    with pytest.raises(contract.UnknownEventType):
        contract.schema_uri("Decision.Recorded", 2)


def test_the_topics_are_the_kafka_transports():
    for service in contract.SERVICES:
        assert contract.topic_for(service) == kafka.topic_for(service)


WITHDRAWN = {"actor": "Betonwerk Noord", "reason": "Plant closing"}


def test_validation_accepts_a_conforming_payload_and_names_what_is_wrong_otherwise():
    contract.validate(types.APPLICATION_WITHDRAWN, WITHDRAWN)
    assert contract.errors(types.APPLICATION_WITHDRAWN, {"actor": "x"}) == ["(data): 'reason' is a required property"]
    problems = contract.errors(types.APPLICATION_REVIEWED, {"outcome": "maybe", "reviewed_on": "2026-13-01",
                                                            "actor": 7, "reason": "r", "by": "x"})
    assert len(problems) == 4, problems
    with pytest.raises(contract.ContractViolation) as raised:
        contract.validate(types.APPLICATION_WITHDRAWN, {**WITHDRAWN, "when": "now"})
    assert "when" in str(raised.value) and raised.value.type == types.APPLICATION_WITHDRAWN


def test_nullable_and_optional_fields():
    decision = {"outcome": "suspend", "application_id": "5d890963-9470-411b-8df3-49319a8110c2",
                "certificate_number": "BENOR-00001", "basis": [], "rationale": "r", "effective_from": "2026-11-25",
                "decided_on": "2026-11-25", "scope": None, "certified": None, "scheme": "PTV-1", "actor": "D",
                "reason": "r"}
    contract.validate(types.DECISION_RECORDED, decision)  # recorded before products could be named
    contract.validate(types.DECISION_RECORDED, {**decision, "products": None})
    contract.validate(types.DECISION_RECORDED, {**decision, "products": [{"name": "Kerb", "type": "kerb"}]})
    assert contract.errors(types.DECISION_RECORDED, {**decision, "products": [{"name": "Kerb"}]})
    assert contract.errors(types.DECISION_RECORDED, {**decision, "outcome": "pardon"})
    expiry = {"number": "BENOR-00001", "status": "expired", "previous": "active", "decision_id": "",
              "effective_from": "2029-11-26", "actor": "hallmark:registry", "reason": "validity ended"}
    contract.validate(types.CERTIFICATE_STATUS_CHANGED, expiry)
    assert contract.errors(types.CERTIFICATE_STATUS_CHANGED, {**expiry, "decision_id": "not-a-decision"})


def test_header_checks():
    headers = {"ce_specversion": "1.0", "ce_id": "decisions/5d890963-9470-411b-8df3-49319a8110c2/1",
               "ce_source": "hallmark/decisions", "ce_type": "Decision.Recorded",
               "ce_subject": "5d890963-9470-411b-8df3-49319a8110c2", "ce_time": "2026-11-25T09:54:48.123456+00:00",
               "content-type": "application/json", "hallmark_position": "12"}
    assert contract.header_errors("Decision.Recorded", headers) == []
    assert contract.header_errors("Decision.Recorded", {**headers, "ce_dataschema": contract.schema_uri(
        "Decision.Recorded")}) == []
    assert contract.header_errors("Appeal.Lodged", headers)  # another type
    assert contract.header_errors("Decision.Recorded", {**headers, "ce_source": "hallmark/registry"})
    assert contract.header_errors("Decision.Recorded", {**headers, "ce_dataschema": contract.schema_uri(
        "Appeal.Lodged")})
    assert contract.header_errors("Decision.Recorded", {k: v for k, v in headers.items() if k != "ce_id"})


# -- the AsyncAPI document ------------------------------------------------------------------------------


def _resolve(ref: str) -> dict:
    node = ASYNCAPI
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


CHECKPOINTS = "checkpoints"  # the transparency log's channel
PUBLIC_CHANGES = "publicChanges"  # the partners' change feed
NOT_EVENTS = {CHECKPOINTS, PUBLIC_CHANGES}  # every other channel is a service's events


def test_asyncapi_lists_every_event_type_and_only_those():
    messages = ASYNCAPI["components"]["messages"]
    assert set(messages) == set(contract.EVENT_TYPES) | {"TrailCheckpoint", "CertificateChange"}
    in_channels = {t for name, channel in ASYNCAPI["channels"].items() if name not in NOT_EVENTS
                   for t in channel["messages"]}
    assert in_channels == set(contract.EVENT_TYPES)


def test_asyncapi_names_the_checkpoint_topic_the_log_publishes_on():
    channel = ASYNCAPI["channels"][CHECKPOINTS]
    assert channel["address"] == channel["bindings"]["kafka"]["topic"] == kafka.checkpoint_topic()
    assert channel["messages"] == {"TrailCheckpoint": {"$ref": "#/components/messages/TrailCheckpoint"}}
    assert ASYNCAPI["operations"]["projections.publishCheckpoints"]["channel"] == {"$ref": f"#/channels/{CHECKPOINTS}"}


def test_asyncapi_names_the_partners_change_topic():
    from services.partners.domain import CHANGE_KINDS
    from services.partners.topic import changes_topic

    channel = ASYNCAPI["channels"][PUBLIC_CHANGES]
    assert channel["address"] == channel["bindings"]["kafka"]["topic"] == changes_topic(contract.TOPIC_PREFIX)
    types = ASYNCAPI["components"]["messages"]["CertificateChange"]["headers"]["properties"]["ce_type"]["enum"]
    assert types == [f"certificate.{kind}" for kind in CHANGE_KINDS]


def test_asyncapi_has_one_channel_per_service_topic():
    assert set(ASYNCAPI["channels"]) == set(contract.SERVICES) | NOT_EVENTS
    for service, channel in ASYNCAPI["channels"].items():
        if service in NOT_EVENTS:
            continue
        assert channel["address"] == channel["bindings"]["kafka"]["topic"] == contract.topic_for(service)
        assert set(channel["messages"]) == set(contract.types_of(service))
        for type_, ref in channel["messages"].items():
            assert ref == {"$ref": f"#/components/messages/{type_}"}
        configured = channel["bindings"]["kafka"]["topicConfiguration"]
        assert configured["cleanup.policy"] == [kafka.TOPIC_CONFIG["cleanup.policy"]]
        assert str(configured["retention.ms"]) == kafka.TOPIC_CONFIG["retention.ms"]
        assert str(configured["retention.bytes"]) == kafka.TOPIC_CONFIG["retention.bytes"]


@pytest.mark.parametrize("type_", sorted(contract.EVENT_TYPES))
def test_asyncapi_message_points_at_the_current_schema_and_pins_its_headers(type_):
    event = contract.EVENT_TYPES[type_]
    message = ASYNCAPI["components"]["messages"][type_]
    assert message["name"] == type_
    assert message["title"] == event.schema["title"]
    assert " ".join(message["description"].split()) == event.schema["description"]
    assert (contract.ASYNCAPI.parent / message["payload"]["$ref"]).resolve() == event.path
    common, pinned = message["headers"]["allOf"]
    assert common == {"$ref": "#/components/schemas/CloudEventHeaders"}
    assert pinned["properties"] == {"ce_type": {"const": type_}, "ce_source": {"const": event.source},
                                    "ce_dataschema": {"const": event.uri}}
    assert message["traits"] == [{"$ref": "#/components/messageTraits/HallmarkEvent"}]


def test_asyncapi_headers_are_the_codes_headers_and_the_key_is_the_aggregate_id():
    assert ASYNCAPI["components"]["schemas"]["CloudEventHeaders"] == contract.HEADERS_SCHEMA
    trait = ASYNCAPI["components"]["messageTraits"]["HallmarkEvent"]
    assert trait["contentType"] == contract.CONTENT_TYPE
    assert trait["bindings"]["kafka"]["key"]["format"] == "uuid"
    server = ASYNCAPI["servers"]["local"]
    assert (server["host"], server["protocol"]) == ("127.0.0.1:9092", "kafka")


def test_asyncapi_each_service_sends_on_its_own_channel():
    sends = {name: op for name, op in ASYNCAPI["operations"].items()
             if op["action"] == "send" and name not in ("projections.publishCheckpoints", "registry.publishChanges")}
    assert {op["channel"]["$ref"] for op in sends.values()} == {f"#/channels/{s}" for s in contract.SERVICES}
    assert sorted(sends) == sorted(f"{s}.publish" for s in contract.SERVICES)


def _received(consumer: str) -> dict[str, set[str]]:
    """upstream service -> the types the consumer's receive operations name (None: all of them)."""
    found: dict[str, set[str]] = {}
    for name, op in ASYNCAPI["operations"].items():
        if op["action"] == "receive" and name.startswith(f"{consumer}.receive."):
            upstream = op["channel"]["$ref"].rsplit("/", 1)[-1]
            assert name == f"{consumer}.receive.{upstream}"
            refs = op.get("messages")
            names = set(contract.types_of(upstream)) if refs is None else {r["$ref"].rsplit("/", 1)[-1] for r in refs}
            for ref in refs or []:
                assert ref["$ref"].startswith(f"#/channels/{upstream}/messages/") and _resolve(ref["$ref"])
            found[upstream] = names
    return found


def _types_named_in(path: str) -> dict[str, set[str]]:
    """upstream service -> the types a module imports from shared.contract.types."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "shared.contract.types":
            for alias in node.names:
                type_ = getattr(types, alias.name)
                found.setdefault(contract.EVENT_TYPES[type_].service, set()).add(type_)
    return found


@pytest.mark.parametrize("consumer", sorted(CONSUMER_MODULES))
def test_asyncapi_receive_operations_name_what_each_consumer_reacts_to(consumer):
    assert _received(consumer) == _types_named_in(CONSUMER_MODULES[consumer])


def test_asyncapi_the_trail_receives_everything():
    assert _received("projections.trail") == {s: set(contract.types_of(s)) for s in contract.SERVICES}


@pytest.mark.parametrize("path", sorted(CONSUMER_MODULES.values()) + ["services/projections/trail.py"])
def test_consumers_name_event_types_only_through_the_contract(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    assert not TYPE_LITERAL.findall(source), f"{path} compares with literal type strings; use shared.contract.types"
    assert "message.name ==" not in source


def test_the_skeleton_generator_drafts_from_the_signature():
    drafted = generate.skeleton("registry", EVENT_CLASSES["Certificate.Revised"][1])
    assert drafted["$id"] == "urn:hallmark:contract:registry:Certificate.Revised:v1"
    assert drafted["properties"]["products"]["type"] == ["array", "null"]
    assert drafted["properties"]["effective_from"] == {"type": "string", "format": "date", "description": "TODO"}
    assert "products" not in drafted["required"] and "number" in drafted["required"]
    assert "originator_id" not in drafted["properties"]
    Draft202012Validator.check_schema(drafted)


def test_the_walk_finds_a_new_event_type_which_then_has_no_schema():
    """What the first test guards against: a new event on an aggregate is found, and has no contract."""
    from eventsourcing.domain import Aggregate, event

    class Widget(Aggregate):
        @event("Made")
        def __init__(self, *, size: int) -> None:
            self.size = size

        @event("Painted")
        def paint(self, colour: str) -> None:
            self.colour = colour

    found = {e.cls.__name__: e for e in generate.emitted_events(Widget)}
    assert sorted(found) == ["Made", "Painted"]
    assert generate.skeleton("registry", found["Painted"])["required"] == ["colour"]
    assert not {f"Widget.{name}" for name in found} & set(contract.EVENT_TYPES)
