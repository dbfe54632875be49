"""Fixtures shared by the suite: a fresh Hallmark on SQLite and, when enabled, on the real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
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


# -- Apache Kafka: one real broker per test session -------------------------------------------------

KAFKA_SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "kafka.sh"


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set (a broker someone runs); otherwise a broker of our own, started
    with deploy/kafka/kafka.sh on a free port in a temporary folder, and stopped at the end."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    import socket
    import subprocess

    def two_free_ports() -> int:  # the broker listens on port, its controller on port + 1
        for _ in range(50):
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", 0))
                port = a.getsockname()[1]
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
        raise RuntimeError("no two consecutive free ports for the Kafka broker")

    port = two_free_ports()
    folder = tmp_path_factory.mktemp("kafka")
    started = subprocess.run([str(KAFKA_SCRIPT), "start", str(folder), str(port)], capture_output=True, text=True,
                             timeout=300)
    if started.returncode != 0:
        pytest.fail(f"could not start the Kafka broker: {started.stderr[-2000:]}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)


@pytest.fixture
def kafka_prefix() -> str:
    """Topics of one test, apart from every other test's on the same broker."""
    return f"t{uuid.uuid4().hex[:10]}."


# -- The independent RFC 9162 and signed-note verifier (Go, tests/evidence_verifier) -------------

VERIFIER_SOURCE = Path(__file__).resolve().parent / "evidence_verifier"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def go_verifier(tmp_path_factory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain is not installed (no `go` on PATH): the independent verifier "
                    "in tests/evidence_verifier cannot be built")
    cache = ROOT / ".cache" / "go"  # git-ignored; kept between runs so that only the first one downloads
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPATH": str(cache / "path"),
           "GOMODCACHE": str(cache / "mod"), "GOCACHE": str(cache / "build")}
    binary = tmp_path_factory.mktemp("evidence_verifier") / "evidence_verifier"
    started = time.monotonic()
    built = subprocess.run([go, "build", "-o", str(binary), "."], cwd=VERIFIER_SOURCE, env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"go build failed after {time.monotonic() - started:.1f}s:\n{built.stderr}"
    return binary
