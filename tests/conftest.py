"""Fixtures shared by the suite: a fresh Hallmark on SQLite and, when enabled, on the real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from services.settings import Settings

POSTGRES_REQUIRED = os.environ.get("HALLMARK_TEST_POSTGRES") == "1"


def _postgres_reachable(settings: Settings) -> bool:
    import psycopg

    try:
        with psycopg.connect(settings.pg_conninfo, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def backends() -> list:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def make_settings(backend: str, tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", store=backend)
    settings.sweep_seconds = 3600
    if backend == "postgres":
        if not _postgres_reachable(settings):
            if POSTGRES_REQUIRED:
                pytest.fail("PostgreSQL is not reachable; 'make test' starts it with deploy/postgres.sh")
            pytest.skip("PostgreSQL not running (make test starts it)")
        settings.pg_schema_prefix = f"t{uuid.uuid4().hex[:10]}_"
    return settings


def drop_schemas(settings: Settings) -> None:
    if settings.store != "postgres":
        return
    import psycopg

    with psycopg.connect(settings.pg_conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (settings.pg_schema_prefix + "%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=backends())
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    settings = make_settings(request.param, tmp_path)
    yield settings
    drop_schemas(settings)
