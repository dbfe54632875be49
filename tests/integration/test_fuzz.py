"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis): whatever the
input, valid or not, Hallmark answers with a problem or a result, never a 500.

Both generation modes run: positive (inputs the schema allows) and negative (inputs it refuses:
strings past their length, characters outside their pattern such as controls and bidi overrides,
lists past their bound). tests/integration/test_hostile_inputs.py sends the hostile values by hand."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from services.bootstrap import bootstrap
from services.settings import Settings
from services.web import create_app
from shared.http.auth import ROLES, issue_token

_DATA = Path(tempfile.mkdtemp(prefix="hallmark-fuzz-"))
_SETTINGS = Settings(data_dir=_DATA / "data", store="sqlite")
_HALLMARK = bootstrap(_SETTINGS)
_TOKEN = issue_token(_SETTINGS.local_secret(), "Fuzz Everyrole", ROLES)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_HALLMARK, run_pump=False))
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])


@pytest.fixture(scope="module", autouse=True)
def _close() -> Iterator[None]:
    yield
    _HALLMARK.close()
    shutil.rmtree(_DATA, ignore_errors=True)


@schema.parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_hallmark_fail(case):
    response = case.call(headers={"Authorization": f"Bearer {_TOKEN}"})
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
    if response.status_code >= 400:
        content_type = response.headers.get("content-type")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if case.path == "/v1/oauth/token" and content_type.startswith("application/json"):
            assert "error" in response.json()  # RFC 6749 5.2 for a refused grant; the RFC 9457 members too
        else:
            assert content_type.startswith("application/problem+json"), (case.method, case.path, content_type)
        assert {"type", "title", "status", "detail"} <= response.json().keys()
