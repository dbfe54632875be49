"""Distributed mode routes each request by its path's prefix (``supervisor.ROUTES`` for ``make up`` and the
distributed demo, the production ingress in k8s): every path a component serves must reach it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from services.bootstrap import bootstrap
from services.settings import Settings
from services.supervisor import PORTS, ROUTES
from services.web import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def component_paths(tmp_path_factory) -> dict[str, list[str]]:
    hallmark = bootstrap(Settings(data_dir=tmp_path_factory.mktemp("routes") / "data", store="sqlite"))
    try:
        return create_app(hallmark, run_pump=False).state.component_paths
    finally:
        hallmark.close()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _api_paths(component_paths):
    for component, paths in component_paths.items():
        for path in paths:
            if path.startswith(("/v1/", "/public/v1/")):
                yield component, _concrete(path)


def test_every_api_path_is_routed_to_its_component(component_paths):
    routed = {(c, p): next((name for name, prefixes in ROUTES.items() if p.startswith(prefixes)), None)
              for c, p in _api_paths(component_paths)}
    assert routed and {key: to for key, to in routed.items() if to != key[0]} == {}


def test_the_production_ingress_routes_every_api_path_to_its_component(component_paths):
    port_of = {port: name for name, port in PORTS.items()}
    rules = []
    for document in yaml.safe_load_all((ROOT / "k8s/overlays/production/ingress.yaml").read_text()):
        for rule in document["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                rules.append((entry["path"], entry["pathType"], port_of[entry["backend"]["service"]["port"]["number"]]))

    def route(path: str) -> str | None:  # nginx: an exact match first, then the longest prefix
        exact = [to for p, kind, to in rules if kind == "Exact" and p == path]
        prefixes = sorted(((p, to) for p, kind, to in rules if kind == "Prefix"
                           and (path == p or path.startswith(p.rstrip("/") + "/"))), key=lambda r: -len(r[0]))
        return exact[0] if exact else (prefixes[0][1] if prefixes else None)

    wrong = {(c, p): route(p) for c, p in _api_paths(component_paths) if route(p) != c}
    assert wrong == {}
