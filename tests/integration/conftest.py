from __future__ import annotations

from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import Hallmark, bootstrap
from services.settings import Settings
from services.web import create_app
from tests.support import Api


@pytest.fixture
def hallmark(settings: Settings) -> Iterator[Hallmark]:
    system = bootstrap(settings)
    yield system
    system.close()


@pytest.fixture
def api(hallmark: Hallmark) -> Iterator[Api]:
    """Deterministic: the bus is settled after every POST instead of running in the background."""
    app = create_app(hallmark, run_pump=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, hallmark.settings.local_secret(), hallmark.settle)
