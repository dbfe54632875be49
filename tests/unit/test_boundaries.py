"""Services never call each other: no module of one service imports another service's modules.
They meet only through published messages (ADR 0001). The composition root may import them all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["applications", "audits", "decisions", "registry", "projections"]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_itself_and_shared(service):
    for path in (ROOT / "services" / service).glob("*.py"):
        for module in imported_modules(path):
            if module.startswith("services."):
                assert module.split(".")[1] == service, f"{path.relative_to(ROOT)} imports {module}"


def test_shared_imports_no_service():
    for path in (ROOT / "shared").rglob("*.py"):
        assert not any(m.startswith("services") for m in imported_modules(path)), path
