"""The domain modules import no I/O: no web framework, HTTP client, database driver, message bus, nor any
service's application or API layer, neither directly nor through the project modules they import.

Checked statically with ``ast`` (no module is imported), following imports of project modules
(``services.*`` and ``shared.*``) recursively, including the packages' ``__init__`` modules that Python
runs on import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("services", "shared")

DOMAIN_MODULES = sorted(
    [p.relative_to(ROOT) for p in (ROOT / "services").glob("*/domain.py")]
    + [Path("shared/domain.py"), Path("shared/errors.py"), Path("shared/certificate_states.py"),
       Path("shared/calendar.py")]
)

FORBIDDEN_PREFIXES = (
    "fastapi", "starlette", "httpx", "sqlite3", "psycopg", "psycopg2", "psycopg_pool", "aiokafka",
    "shared.http", "shared.views", "shared.bus",
)
FORBIDDEN_SERVICE_LAYER = re.compile(r"^services\.[^.]+\.(application|api)(\.|$)")


def forbidden(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in FORBIDDEN_PREFIXES) or bool(
        FORBIDDEN_SERVICE_LAYER.match(module)
    )


def module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import statement in ``source`` names, anywhere in the file (also in functions
    and ``if TYPE_CHECKING`` blocks). ``from a import b`` names both ``a`` and ``a.b``."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module", "__import__"
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return {n for n in names if n}


def source_path(module: str) -> Path | None:
    """The project file of a module (or package), if it is one of ours."""
    if module.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def with_parent_packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(start: Path) -> dict[str, set[str]]:
    """module -> what it imports, for ``start`` and every project module reachable from it."""
    graph: dict[str, set[str]] = {}
    todo = with_parent_packages(module_name(start))
    while todo:
        module = todo.pop()
        if module in graph:
            continue
        path = source_path(module)
        if path is None:
            continue
        graph[module] = imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        for imported in graph[module]:
            todo.extend(m for m in with_parent_packages(imported) if m not in graph)
    return graph


def violations(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} imports {imported}" for module, imports in graph.items()
                  for imported in imports if forbidden(imported))


def test_the_domain_modules_exist():
    names = {module_name(p) for p in DOMAIN_MODULES}
    assert {"services.applications.domain", "services.audits.domain", "services.decisions.domain",
            "services.registry.domain", "shared.domain", "shared.errors", "shared.certificate_states"} <= names
    assert all((ROOT / p).is_file() for p in DOMAIN_MODULES)


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=str)
def test_a_domain_module_imports_no_io_directly(path):
    module = module_name(path)
    imports = imported_modules((ROOT / path).read_text(encoding="utf-8"), module)
    assert sorted(i for i in imports if forbidden(i)) == []


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=str)
def test_a_domain_module_imports_no_io_transitively(path):
    graph = import_closure(path)
    assert module_name(path) in graph
    assert violations(graph) == []


def test_the_project_modules_a_domain_module_imports_are_domain_modules():
    """So checking each listed module's own imports covers the transitive ones."""
    listed = {module_name(p) for p in DOMAIN_MODULES}
    packages = {m for name in listed for m in with_parent_packages(name)[:-1]}
    for path in DOMAIN_MODULES:
        for module in import_closure(path):
            assert module in listed or module in packages, f"{module_name(path)} reaches {module}"


# -- the checker itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "import fastapi",
    "from starlette.responses import JSONResponse",
    "import httpx as h",
    "def f():\n    import sqlite3",
    "from psycopg import connect",
    "import aiokafka.producer",
    "from shared.http.auth import issue_token",
    "from shared import views",
    "from shared.bus import Bus",
    "from services.registry.application import Registry",
    "from services.audits import api",
    "import services.decisions.application",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from shared.bus import Bus",
    "import importlib\nimportlib.import_module('httpx')",
])
def test_the_checker_detects_a_forbidden_import(source):
    assert any(forbidden(m) for m in imported_modules(source, "services.registry.domain"))


@pytest.mark.parametrize("source", [
    "from eventsourcing.domain import Aggregate, event",
    "from shared.errors import Duplicate",
    "from services.registry.domain import Certificate",
    "from services.applications import domain",
    "import datetime, uuid, dataclasses",
    "from shared.http_like import x",
])
def test_the_checker_accepts_a_pure_import(source):
    assert not any(forbidden(m) for m in imported_modules(source, "services.registry.domain"))


def test_the_checker_resolves_relative_imports():
    assert "services.registry.api" in imported_modules("from .api import router", "services.registry.domain")
    assert "services.registry.application" in imported_modules("from . import application", "services.registry.domain")
    assert "shared.bus" in imported_modules("from ..bus import Bus", "shared.http.auth")


def test_the_closure_follows_project_imports():
    graph = import_closure(Path("services/registry/policies.py"))  # a non-domain module, for contrast
    assert "services.registry.application" in graph
    assert violations(graph) != []
