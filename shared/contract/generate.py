"""Keeps the contract's generated parts in step with its reviewed schema files.

    python -m shared.contract.generate
        rewrites shared/contract/types.py (one constant per published type) from the schema files.

    python -m shared.contract.generate --skeletons services.applications.application:Applications \\
        services.audits.application:Audits services.decisions.application:Decisions \\
        services.registry.application:Registry
        also writes a skeleton schema for every event class of the named applications' ``published``
        aggregates that has no schema yet, from the event's signature. A skeleton is a start, not a
        contract: write the descriptions, tighten the types, review it, then commit it.

The applications are named on the command line, so this module (like all of ``shared``) imports no
service.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from eventsourcing.domain import AggregateCreated, AggregateEvent, CommandMethodDecorator

HERE = Path(__file__).resolve().parent
SCHEMA_DIR = HERE / "schemas"
TYPES_MODULE = HERE / "types.py"
URI_PREFIX = "urn:hallmark:contract"

# Fields of every stored event that the message carries in its envelope, not in its data.
ENVELOPE = ("self", "originator_id", "originator_version", "timestamp", "originator_topic")


def constant_name(type: str) -> str:
    """``Scheme.DocumentVersionPublished`` -> ``SCHEME_DOCUMENT_VERSION_PUBLISHED``."""
    return "_".join(re.sub(r"(?<!^)(?=[A-Z])", "_", part).upper() for part in type.split("."))


def render_types(services: dict[str, list[str]]) -> str:
    """The source of types.py for these types, grouped by the service that publishes them."""
    lines = [
        '"""The type string of every published event: compare ``Message.type`` with these, never with literals.',
        "",
        "Generated from shared/contract/schemas by ``python -m shared.contract.generate``; do not edit by hand",
        '(tests/unit/test_contract.py fails when it is out of step)."""',
        "",
    ]
    every = []
    for service, types in services.items():
        lines += ["", f"# {service}: topic hallmark.{service}.events"]
        for type_ in types:
            lines.append(f'{constant_name(type_)} = "{type_}"')
            every.append(constant_name(type_))
    lines += ["", "ALL = (", *(f"    {name}," for name in every), ")", ""]
    return "\n".join(lines)


def schema_types(schema_dir: Path = SCHEMA_DIR) -> dict[str, list[str]]:
    """The types that have a schema file, by service (directory), sorted."""
    found: dict[str, list[str]] = {}
    for path in sorted(schema_dir.glob("*/*.json")):
        type_ = path.name.rsplit(".v", 1)[0]
        found.setdefault(path.parent.name, [])
        if type_ not in found[path.parent.name]:
            found[path.parent.name].append(type_)
    return found


@dataclass(frozen=True)
class EventClass:
    """One event class an aggregate records, with the signature of the method that records it."""

    type: str  # the message type: the class's qualified name, e.g. "Decision.Recorded"
    cls: type
    signature: inspect.Signature  # the recording method's (``__init__`` for a created event), with defaults


def emitted_events(aggregate: type) -> list[EventClass]:
    """The event classes an aggregate records: one per ``@event`` method or decorated ``__init__``.

    Skips the aggregate's base ``Event`` class and the generic ``Created`` class eventsourcing also
    defines when ``__init__`` is decorated with its own created event (e.g. ``Submitted``)."""
    classes = [value for value in vars(aggregate).values()
               if isinstance(value, type) and issubclass(value, AggregateEvent) and value is not aggregate.Event]
    created = [cls for cls in classes if issubclass(cls, AggregateCreated)]
    if len(created) > 1:
        classes = [cls for cls in classes if cls is not aggregate.Created]
    methods = {}
    for value in vars(aggregate).values():
        if isinstance(value, CommandMethodDecorator):
            name = value.given_event_cls.__name__ if value.given_event_cls else value.event_cls_name
            methods[name] = value.decorated_func
    found = []
    for cls in classes:
        if issubclass(cls, AggregateCreated):
            signature = inspect.signature(aggregate.__init__)
        elif cls.__name__ in methods:
            signature = inspect.signature(methods[cls.__name__])
        else:
            signature = inspect.signature(cls)
        parameters = [p for name, p in signature.parameters.items() if name not in ENVELOPE]
        found.append(EventClass(cls.__qualname__, cls, signature.replace(parameters=parameters)))
    return found


def published_event_types(applications: Iterable[Any]) -> dict[str, dict[str, EventClass]]:
    """service name -> {type string -> event class} for the applications' ``published`` aggregates."""
    return {app.name: {e.type: e for aggregate in app.published for e in emitted_events(aggregate)}
            for app in applications}


_SIMPLE = {"str": {"type": "string"}, "int": {"type": "integer"}, "bool": {"type": "boolean"},
           "float": {"type": "number"}, "date": {"type": "string", "format": "date"},
           "datetime": {"type": "string", "format": "date-time"}, "UUID": {"type": "string", "format": "uuid"},
           "Any": {}}


def _annotation_schema(annotation: Any) -> dict[str, Any]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [part.strip() for part in text.split("|")]
    nullable = "None" in parts
    parts = [part for part in parts if part != "None"]
    base = parts[0] if len(parts) == 1 else ""
    if base in _SIMPLE:
        schema = dict(_SIMPLE[base])
    elif base.startswith(("list[", "tuple[", "set[")):
        schema = {"type": "array", "items": _annotation_schema(base[base.index("[") + 1:-1].split(",")[0])}
    elif base.startswith("dict["):
        schema = {"type": "object"}
    else:
        schema = {}
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


def skeleton(service: str, event: EventClass) -> dict[str, Any]:
    """A first draft of a schema for an event class, from its signature: every keyword argument is a
    property; those without a default are required. Descriptions are left for a person to write."""
    type_ = event.type
    properties, required = {}, []
    for name, parameter in event.signature.parameters.items():
        properties[name] = {**_annotation_schema(parameter.annotation), "description": "TODO"}
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{URI_PREFIX}:{service}:{type_}:v1",
        "title": "TODO",
        "description": "TODO: what happened, in the domain's words",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _application(target: str) -> Any:
    module, _, attribute = target.partition(":")
    if not attribute:
        raise SystemExit(f"{target}: name an application as module:Class")
    return getattr(importlib.import_module(module), attribute)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skeletons", nargs="+", metavar="MODULE:APPLICATION", default=[],
                        help="write a skeleton schema for each published event type of these applications that has none")
    args = parser.parse_args(argv)
    if args.skeletons:
        for service, events in published_event_types(_application(t) for t in args.skeletons).items():
            for type_, event in events.items():
                if not list((SCHEMA_DIR / service).glob(f"{type_}.v*.json")):
                    path = SCHEMA_DIR / service / f"{type_}.v1.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(skeleton(service, event), indent=2) + "\n", encoding="utf-8")
                    print(f"wrote a skeleton {path.relative_to(HERE.parent.parent)}: review it", file=sys.stderr)
    TYPES_MODULE.write_text(render_types(schema_types()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
