"""A real Hallmark server process per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from services.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    settings: Settings
    port: int
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "HALLMARK_DATA": str(s.data_dir),
            "HALLMARK_STORE": s.store,
            "HALLMARK_PG_SCHEMA_PREFIX": s.pg_schema_prefix,
            "PORT": str(self.port),
        }

    def start(self) -> "Server":
        self.log = self.settings.data_dir.parent / f"server-{time.monotonic_ns()}.log"
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run"], env=self.env(),
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"server did not become ready: {self.log.read_text()}")

    def kill(self) -> None:
        """Stop the process without any chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            return self.process.wait(15)
        return self.process.returncode if self.process else 0


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    server = Server(settings, _free_port()).start()
    yield server
    server.kill()
    for log in settings.data_dir.parent.glob("server-*.log"):
        errors = [line for line in log.read_text().splitlines() if '"level": "error"' in line]
        assert not errors, f"the server logged errors: {errors[:3]}"
