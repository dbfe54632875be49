"""The published event contract: what other services (and, on Kafka, anyone) may rely on (ADR 0008).

Every event type a service publishes (its ``published`` aggregates' events, see
``ServiceApplication.message``) has a reviewed JSON Schema (draft 2020-12) for the message's ``data``,
one file per type and version: ``schemas/<service>/<Type>.v<N>.json``, identified by the URN
``urn:hallmark:contract:<service>:<Type>:v<N>``. On Kafka the events of a service travel on one topic,
``hallmark.<service>.events``, as CloudEvents 1.0 in binary content mode (``HEADERS_SCHEMA``);
``asyncapi.yaml`` beside this module describes the topics, messages and headers.

Consumers compare type strings with the constants of ``shared.contract.types``, never with literals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Mapping

from jsonschema import Draft202012Validator

from shared.contract import types

SCHEMA_DIR = Path(__file__).resolve().with_name("schemas")
ASYNCAPI = Path(__file__).resolve().with_name("asyncapi.yaml")
URI_PREFIX = "urn:hallmark:contract"
SERVICES = ("applications", "audits", "decisions", "registry")
SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

_FILE_NAME = re.compile(r"^(?P<type>[A-Z][A-Za-z]*\.[A-Z][A-Za-z]*)\.v(?P<version>[1-9][0-9]*)\.json$")

# The Kafka record headers of one event (CloudEvents 1.0 Kafka protocol binding, binary content mode,
# plus Hallmark's own headers), as ``shared.kafka.to_record`` writes them. Header values are UTF-8
# strings. asyncapi.yaml carries the same schema (components.schemas.CloudEventHeaders); a unit test
# keeps the two equal, and an integration test checks real records against it.
HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Kafka record headers of a Hallmark event: CloudEvents 1.0 attributes in binary content mode "
                   "(the record value is the event's data as JSON, the record key its aggregate id).",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "content-type",
                 "hallmark_position"],
    "properties": {
        "ce_specversion": {"const": SPECVERSION, "description": "The CloudEvents version."},
        "ce_id": {"type": "string", "pattern": "^[a-z]+/[0-9a-f-]{36}/[1-9][0-9]*$",
                  "description": "`<service>/<aggregate id>/<aggregate version>`: deterministic, so an event "
                                 "relayed twice has the same id."},
        "ce_source": {"type": "string", "pattern": "^hallmark/[a-z]+$",
                      "description": "`hallmark/<service>`: the service that recorded the event."},
        "ce_type": {"type": "string", "pattern": r"^[A-Z][A-Za-z]*\.[A-Z][A-Za-z]*$",
                    "description": "The event type, `<Aggregate>.<Event>`, e.g. `Decision.Recorded`."},
        "ce_subject": {"type": "string", "format": "uuid",
                       "description": "The aggregate id (also the record key): order is kept per subject."},
        "ce_time": {"type": "string", "format": "date-time",
                    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
                    "description": "When the event was recorded (RFC 3339)."},
        "content-type": {"const": CONTENT_TYPE, "description": "The record value is the event's data as JSON."},
        "ce_dataschema": {"type": "string", "pattern": "^urn:hallmark:contract:[a-z]+:[A-Za-z.]+:v[1-9][0-9]*$",
                          "description": "The URN of the JSON Schema the record value conforms to "
                                         "(`shared.contract.schema_uri(type)`)."},
        "ce_partitionkey": {"type": "string", "format": "uuid",
                            "description": "CloudEvents partitioning extension: the aggregate id, as the key."},
        "ce_hallmarkversion": {"type": "string", "pattern": "^[1-9][0-9]*$",
                               "description": "The aggregate version this event created (also the end of ce_id)."},
        "traceparent": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                        "description": "W3C Trace Context of the command that recorded the event, when traced."},
        "hallmark_position": {"type": "string", "pattern": "^[1-9][0-9]*$",
                              "description": "The event's notification id in its service's store: only grows "
                                             "within a topic partition, so a consumer recognises an event relayed "
                                             "twice."},
    },
}


class ContractViolation(ValueError):
    """A payload (or header set) that does not conform to the published contract."""

    def __init__(self, type: str, problems: list[str]) -> None:
        super().__init__(f"{type}: " + "; ".join(problems))
        self.type = type
        self.problems = problems


class UnknownEventType(KeyError):
    """A type string no service publishes (or a version of it that does not exist)."""


@dataclass(frozen=True)
class EventContract:
    """One published event type, at one version of its schema."""

    type: str  # "Decision.Recorded"
    service: str  # "decisions"
    version: int  # the schema version, 1, 2...
    schema: Mapping[str, Any]
    path: Path

    @property
    def uri(self) -> str:
        return str(self.schema["$id"])

    @property
    def topic(self) -> str:
        return topic_for(self.service)

    @property
    def source(self) -> str:
        return source_for(self.service)

    @property
    def aggregate(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.type.split(".", 1)[1]


TOPIC_PREFIX = "hallmark."


def topic_for(service: str, prefix: str = TOPIC_PREFIX) -> str:
    """The Kafka topic a service publishes its events on; another prefix keeps instances or test runs
    apart on one broker."""
    if service not in SERVICES:
        raise ValueError(f"{service!r} publishes no events; the services are {', '.join(SERVICES)}")
    return f"{prefix}{service}.events"


def source_for(service: str) -> str:
    """The CloudEvents ``source`` of a service's events."""
    topic_for(service)
    return f"hallmark/{service}"


def uri_for(service: str, type: str, version: int) -> str:
    return f"{URI_PREFIX}:{service}:{type}:v{version}"


def _load() -> dict[str, dict[int, EventContract]]:
    found: dict[str, dict[int, EventContract]] = {}
    for service in SERVICES:
        for path in sorted((SCHEMA_DIR / service).glob("*.json")):
            match = _FILE_NAME.match(path.name)
            if match is None:
                raise RuntimeError(f"{path}: a schema file is named <Aggregate>.<Event>.v<N>.json")
            type_, version = match["type"], int(match["version"])
            schema = json.loads(path.read_text(encoding="utf-8"))
            if schema.get("$id") != uri_for(service, type_, version):
                raise RuntimeError(f"{path}: $id is {schema.get('$id')!r}, expected {uri_for(service, type_, version)!r}")
            if type_ in found and next(iter(found[type_].values())).service != service:
                raise RuntimeError(f"{path}: {type_} is already published by another service")
            found.setdefault(type_, {})[version] = EventContract(type_, service, version, schema, path)
    if not found:
        raise RuntimeError(f"no event schemas under {SCHEMA_DIR}: the package was installed without its data files")
    return {type_: dict(sorted(versions.items())) for type_, versions in sorted(found.items())}


# Every published type, with every version of its schema (oldest first).
VERSIONS: dict[str, dict[int, EventContract]] = _load()
# Every published type at its current (highest) schema version.
EVENT_TYPES: dict[str, EventContract] = {type_: versions[max(versions)] for type_, versions in VERSIONS.items()}


def contract(type: str, version: int | None = None) -> EventContract:
    """The contract of an event type, at its current version unless one is named."""
    versions = VERSIONS.get(type)
    if versions is None:
        raise UnknownEventType(f"{type!r} is not a published event type")
    if version is None:
        return versions[max(versions)]
    if version not in versions:
        raise UnknownEventType(f"{type!r} has no schema version {version}; it has {sorted(versions)}")
    return versions[version]


def schema_uri(type: str, version: int | None = None) -> str:
    """The URN of an event type's schema (``ce_dataschema``), current version unless one is named."""
    return contract(type, version).uri


def types_of(service: str) -> list[str]:
    """The event types one service publishes."""
    topic_for(service)
    return [type_ for type_, event in EVENT_TYPES.items() if event.service == service]


@cache
def _validator(type: str, version: int | None) -> Draft202012Validator:
    return Draft202012Validator(contract(type, version).schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


_HEADERS = Draft202012Validator(HEADERS_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _describe(errors: Any) -> list[str]:
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(data)'}: {error.message}"
            for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])]


def errors(type: str, data: Any, version: int | None = None) -> list[str]:
    """What is wrong with ``data`` as the payload of an event of this type; empty if it conforms.

    On the wire a person's name is sealed (``{"person", "sealed"}``, ADR 0011); the schemas describe
    the name it seals, so a sealed value is checked as a name."""
    from shared.sealed import as_names

    return _describe(_validator(type, version).iter_errors(as_names(data)))


def validate(type: str, data: Any, version: int | None = None) -> None:
    """Raise ContractViolation unless ``data`` conforms to the type's schema (UnknownEventType for an
    unknown type)."""
    problems = errors(type, data, version)
    if problems:
        raise ContractViolation(type, problems)


def header_errors(type: str, headers: Mapping[str, str]) -> list[str]:
    """What is wrong with a record's headers for an event of this type; empty if they conform."""
    problems = _describe(_HEADERS.iter_errors(dict(headers)))
    event = contract(type)
    if headers.get("ce_type") != type:
        problems.append(f"ce_type: {headers.get('ce_type')!r} is not {type!r}")
    if headers.get("ce_source") != event.source:
        problems.append(f"ce_source: {headers.get('ce_source')!r} is not {event.source!r}")
    if "ce_dataschema" in headers and headers["ce_dataschema"] not in {v.uri for v in VERSIONS[type].values()}:
        problems.append(f"ce_dataschema: {headers.get('ce_dataschema')!r} is no schema of {type}")
    return problems


__all__ = [
    "ASYNCAPI", "CONTENT_TYPE", "EVENT_TYPES", "HEADERS_SCHEMA", "SCHEMA_DIR", "SERVICES", "SPECVERSION", "URI_PREFIX",
    "VERSIONS", "ContractViolation", "EventContract", "UnknownEventType", "contract", "errors",
    "header_errors", "schema_uri", "source_for", "topic_for", "types", "types_of", "uri_for", "validate",
]
