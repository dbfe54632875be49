"""Rate limits (issue 8): the public surface per client address, partners per partner, staff not at
all; 429 problems with Retry-After and the RateLimit headers; a clock of the test's own, never sleep."""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from services.settings import ConfigurationError, Settings
from services.web import create_app
from shared.http.auth import issue_token
from shared.http.ratelimit import Buckets, Quota, RateLimits, client_key
from tests.conftest import make_settings

LOOKUP = "/public/v1/certificates"
PROXY = ("10.0.0.2", 40000)  # the ingress, in HALLMARK_TRUSTED_PROXIES below


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings("sqlite", tmp_path)  # HTTP behaviour only: one store is enough


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(hallmark, clock) -> Iterator[Callable[..., Callable[[tuple[str, int]], TestClient]]]:
    """An app with the limits the test sets (as the environment would), on the test's clock; then a
    client per socket peer, all of them talking to that one app."""

    def make(public: str = "3/60s", partner: str = "4/60s", proxies: str = "10.0.0.0/8"):
        hallmark.settings.public_rate_limit, hallmark.settings.partner_rate_limit = public, partner
        hallmark.settings.trusted_proxies = proxies
        app = create_app(hallmark, run_pump=False)
        app.rate_limits = dataclasses.replace(app.rate_limits, clock=clock)
        return lambda peer=("192.0.2.10", 50000): TestClient(app, raise_server_exceptions=False, client=peer)

    yield make


def _limit(response) -> str:
    return response.headers["ratelimit"]


def _forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _bearer(hallmark, person: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(hallmark.settings.local_secret(), person, roles)}"}


def test_past_the_quota_a_public_client_gets_a_429_problem_with_retry_after_and_ratelimit_headers(limited, caplog):
    client = limited(public="3/60s")()
    answers = [client.get(LOOKUP) for _ in range(3)]
    for remaining, answer in zip((2, 1, 0), answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.headers["ratelimit-policy"] == '"public";q=3;w=60'
        assert _limit(answer) == f'"public";r={remaining};t={(3 - remaining) * 20}'  # one request back each 20 s

    caplog.clear()  # the access lines of the requests above, where an earlier test left the logger at INFO
    with caplog.at_level(logging.INFO, logger="hallmark.access"):
        refused = client.get(LOOKUP)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"] == "/problems/rate-limited" and problem["status"] == 429
    assert problem["title"] == "Too many requests" and problem["policy"] == "public"
    assert "3 requests in 60 s" in problem["detail"]
    assert refused.headers["retry-after"] == "20"
    assert refused.headers["ratelimit-policy"] == '"public";q=3;w=60'
    assert _limit(refused) == '"public";r=0;t=60'
    # The edge still dresses it: security headers, no caching, readable by the public pages, logged.
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["access-control-allow-origin"] == "*"
    assert [(r.path, r.status) for r in caplog.records if r.name == "hallmark.access"] == [(LOOKUP, 429)]
    assert client.get("/problems/rate-limited").status_code == 200  # the type is documented (not limited)


def test_every_public_path_counts_and_a_refused_request_reaches_nothing(limited):
    client = limited(public="2/60s")()
    assert client.get(LOOKUP).status_code == 200
    assert client.get("/public/v1/certificates/XX-00000").status_code == 404  # counted too
    body = client.post("/public/v1/verify", json={"items": [{"number": "XX-1"}]})
    assert body.status_code == 429  # before its body is read or anything is done
    assert client.get("/.well-known/jwks.json").status_code == 429


def test_addresses_behind_a_trusted_proxy_are_counted_apart(limited):
    through_proxy = limited(public="3/60s", proxies="10.0.0.0/8, 2001:db8:ffff::/48")(PROXY)
    for _ in range(3):
        assert through_proxy.get(LOOKUP, headers=_forwarded("198.51.100.1")).status_code == 200
    assert through_proxy.get(LOOKUP, headers=_forwarded("198.51.100.1")).status_code == 429
    # Another client behind the same proxy has its own bucket.
    other = through_proxy.get(LOOKUP, headers=_forwarded("198.51.100.2"))
    assert other.status_code == 200 and _limit(other) == '"public";r=2;t=20'
    # What the client put in front of the proxy's own entry changes nothing: the right-most
    # address that is not a trusted proxy is the client's.
    spoofed = through_proxy.get(LOOKUP, headers=_forwarded("203.0.113.7, 198.51.100.1, 10.0.0.9"))
    assert spoofed.status_code == 429


def test_an_untrusted_peer_cannot_choose_its_address_with_x_forwarded_for(limited, caplog):
    direct = limited(public="3/60s", proxies="10.0.0.0/8")(("192.0.2.50", 50000))
    with caplog.at_level(logging.WARNING, logger="hallmark.http"):
        statuses = [direct.get(LOOKUP, headers=_forwarded(f"198.51.100.{n}")).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Said once, for the operator whose proxy is missing from HALLMARK_TRUSTED_PROXIES.
    warnings = [r.getMessage() for r in caplog.records if r.name == "hallmark.http"]
    assert len(warnings) == 1 and "192.0.2.50" in warnings[0] and "HALLMARK_TRUSTED_PROXIES" in warnings[0]
    # With no trusted proxy configured (the default) the header is never read, whoever sends it.
    alone = limited(public="1/60s", proxies="")(PROXY)
    assert alone.get(LOOKUP, headers=_forwarded("198.51.100.1")).status_code == 200
    assert alone.get(LOOKUP, headers=_forwarded("198.51.100.2")).status_code == 429


def test_a_partner_is_counted_by_its_token_sub_not_by_its_address(limited, hallmark):
    make = limited(public="10/60s", partner="4/60s")
    first, second = make(("192.0.2.1", 50000)), make(("192.0.2.2", 50000))
    acme = _bearer(hallmark, "partner:acme", "partner")
    answers = [client.get(LOOKUP, headers=acme) for client in (first, second, first, second)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert answers[0].headers["ratelimit-policy"] == '"partner";q=4;w=60'
    assert [_limit(a) for a in answers][-1] == '"partner";r=0;t=60'
    # Whatever it asks for and from wherever: one bucket for the partner.
    refused = make(("198.51.100.9", 50000)).get("/v1/certificates", headers=acme)
    assert refused.status_code == 429 and refused.json()["policy"] == "partner"
    assert refused.headers["retry-after"] == "15"
    # Another partner, and the anonymous public at the same addresses, are not held back by acme.
    assert first.get(LOOKUP, headers=_bearer(hallmark, "partner:globex", "partner")).status_code == 200
    anonymous = first.get(LOOKUP)
    assert anonymous.status_code == 200 and _limit(anonymous) == '"public";r=9;t=6'


def test_staff_are_not_limited_and_a_forged_partner_token_counts_against_its_address(limited, hallmark):
    client = limited(public="2/60s", partner="2/60s")()
    admin = _bearer(hallmark, "Ada Admin", "admin")
    for _ in range(5):
        answer = client.get("/v1/certificates", headers=admin)
        assert answer.status_code == 200 and "ratelimit" not in answer.headers
    forged = {"Authorization": f"Bearer {issue_token(b'not-the-key' * 4, 'partner:acme', ['partner'])}"}
    statuses = [client.get(LOOKUP, headers=forged) for _ in range(3)]
    assert [s.status_code for s in statuses] == [200, 200, 429]
    assert statuses[-1].json()["policy"] == "public"
    # Off the public surface a token that does not verify is not a partner: not counted, 401.
    assert all(client.get("/v1/certificates", headers=forged).status_code == 401 for _ in range(3))


def test_the_bucket_fills_up_again_with_time(limited, clock):
    client = limited(public="3/60s")()
    assert [client.get(LOOKUP).status_code for _ in range(4)] == [200, 200, 200, 429]
    clock.advance(19)
    assert client.get(LOOKUP).status_code == 429  # not yet: one request comes back every 20 s
    clock.advance(1)
    again = client.get(LOOKUP)
    assert again.status_code == 200 and _limit(again) == '"public";r=0;t=60'
    assert client.get(LOOKUP).status_code == 429
    clock.advance(60)  # a whole window: the full quota, never more (the burst is the quota)
    assert [client.get(LOOKUP).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_memory_stays_bounded_while_addresses_rotate(clock):
    buckets = Buckets(Quota(3, 60), max_keys=100, clock=clock)
    for n in range(10_000):
        buckets.take(f"198.51.{n // 256}.{n % 256}")
        assert len(buckets) <= 100
    # The most recent are kept, with what they spent; the evicted come back full.
    assert buckets.take("198.51.39.15").remaining == 1
    clock.advance(60)  # idle a whole window: full, the same as no bucket at all
    buckets.take("192.0.2.1")
    assert len(buckets) == 1


def test_client_addresses_are_read_as_a_proxy_forwards_them():
    trusted = RateLimits.parse(public="", partner="", trusted_proxies="10.0.0.0/8, fd00::/8", max_keys=10,
                               production=True).trusted_proxies

    def key(peer: str, forwarded: str | None = None) -> str:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return client_key({"client": (peer, 1), "headers": headers}, trusted)

    assert key("192.0.2.1", "198.51.100.1") == "192.0.2.1"
    assert key("10.1.2.3", "198.51.100.1:4711, 10.9.9.9") == "198.51.100.1"
    assert key("fd00::1", "[2001:db8:1:2::99]:443") == "2001:db8:1:2::/64"  # a subscriber's /64
    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::2")
    assert key("::ffff:192.0.2.7") == "192.0.2.7"
    assert key("10.1.2.3", "10.0.0.5, 10.0.0.6") == "10.0.0.5"  # only our own hops: the first sent it
    assert key("10.1.2.3") == "10.1.2.3"
    assert key("testclient") == "testclient"


def test_limits_come_from_the_settings_on_in_production_off_elsewhere_unless_set(tmp_path, monkeypatch):
    local = Settings(data_dir=tmp_path)
    assert local.rate_limits().public is None and local.rate_limits().partner is None
    production = Settings(data_dir=tmp_path, environment="production").rate_limits()
    assert (production.public, production.partner) == (Quota(120, 60), Quota(600, 60))
    assert production.trusted_proxies == ()
    monkeypatch.setenv("HALLMARK_PUBLIC_RATE_LIMIT", "30/1m")
    monkeypatch.setenv("HALLMARK_PARTNER_RATE_LIMIT", "0")
    monkeypatch.setenv("HALLMARK_TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.1")
    configured = Settings(data_dir=tmp_path, environment="production").rate_limits()
    assert configured.public == Quota(30, 60) and configured.partner is None
    assert [str(n) for n in configured.trusted_proxies] == ["10.0.0.0/8", "192.0.2.1/32"]
    for name, value in (("HALLMARK_PUBLIC_RATE_LIMIT", "fast"), ("HALLMARK_PARTNER_RATE_LIMIT", "10/0s"),
                        ("HALLMARK_TRUSTED_PROXIES", "10.0.0.0/8, ingress"), ("HALLMARK_RATE_LIMIT_MAX_KEYS", "x")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigurationError, match=name):
            Settings(data_dir=tmp_path).rate_limits()
        monkeypatch.delenv(name)
