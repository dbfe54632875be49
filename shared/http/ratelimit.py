"""Rate limits, as a pure ASGI middleware: the public surface per client address, partners per partner.

- **Public** (``/public/...``, ``/.well-known/...``, the directory pages ``/`` and
  ``/certificates/...``, and ``POST /v1/oauth/token``, where anyone may try client secrets): one
  bucket per client address. The address is the socket peer; only when the peer is a trusted proxy
  (``HALLMARK_TRUSTED_PROXIES``) is ``X-Forwarded-For`` read, right to left, and the first address
  that is not a trusted proxy is the client (what lies to its left is whatever the client chose to
  send). IPv6 clients count per /64, the block one subscriber holds.
- **Partner**: a request whose bearer token verifies (as ``shared.http.auth`` checks it) and carries
  the role ``partner`` is counted against the token's ``sub`` (a valid ``X-API-Key`` against
  ``partner:<id>``, the same name), whichever address it comes from and whatever it asks for, the
  public lookup included.
- Anything else (staff APIs, health probes, /docs) is not limited here.

Each bucket holds ``quota`` requests and refills at ``quota / window`` per second (a token bucket
whose burst is the quota). Past it: 429 ``rate-limited`` with ``Retry-After``. Every limited answer,
2xx included, says where its client stands, as draft-ietf-httpapi-ratelimit-headers has it:
``RateLimit-Policy: "public";q=120;w=60`` and ``RateLimit: "public";r=<remaining>;t=<seconds until
the bucket is full again>``.

The buckets live in this process's memory: with several replicas a client gets up to the quota from
each, so a multi-replica deployment also limits at the ingress (k8s/overlays/production). Memory is
bounded: a bucket idle for a whole window is full, the same as none, and is dropped; beyond
``max_keys`` buckets per policy the least recently used goes first (it comes back full), so an
attacker rotating addresses cycles through a fixed amount of memory.

Settings (``services/settings.py``): ``HALLMARK_PUBLIC_RATE_LIMIT`` and ``HALLMARK_PARTNER_RATE_LIMIT``
(``<requests>/<window>``, window in ``s``, ``m`` or ``h``; ``0`` turns the policy off; unset: 120/60s
and 600/60s with ``HALLMARK_ENV=production``, off otherwise), ``HALLMARK_TRUSTED_PROXIES`` (IPs and
CIDRs, comma-separated; none by default) and ``HALLMARK_RATE_LIMIT_MAX_KEYS`` (default 50000).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable

import anyio
import jwt
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http import problems
from shared.http.auth import AuthConfig, roles_of
from shared.http.fields import MAX_NAME

log = logging.getLogger("hallmark.http")

DEFAULT_PUBLIC = "120/60s"
DEFAULT_PARTNER = "600/60s"
DEFAULT_MAX_KEYS = 50_000  # per policy; a bucket takes about 340 bytes, so at most some 17 MB each
PARTNER_ROLE = "partner"
OAUTH_TOKEN = "/v1/oauth/token"

PROBLEM_TYPES = {
    "rate-limited": "Too many requests. This client sent more requests than its quota allows in the window "
    "(HALLMARK_PUBLIC_RATE_LIMIT per address for the public lookup, HALLMARK_PARTNER_RATE_LIMIT per partner); "
    "nothing was done. Retry-After says when to try again, the RateLimit header where the client stands.",
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(path: str) -> bool:
    """The public surface: what anyone may read without a token."""
    return path.startswith(("/public/", "/.well-known/", "/certificates/")) or path in ("/", "/certificates")


def per_address(path: str) -> bool:
    """What is counted per client address: the public surface, and the partners' token endpoint, where
    anyone may try client secrets."""
    return is_public(path) or path == OAUTH_TOKEN


@dataclass(frozen=True)
class Quota:
    requests: int
    window: int  # seconds

    _FORM = re.compile(r"(\d+)\s*/\s*(\d+)\s*([smh]?)")

    @classmethod
    def parse(cls, name: str, raw: str) -> "Quota | None":
        """``120/60s`` (or ``/1m``, ``/1h``; seconds without a unit); ``0`` is off (None)."""
        text = raw.strip().lower()
        if text == "0":
            return None
        match = cls._FORM.fullmatch(text)
        seconds = int(match[2]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[3]] if match else 0
        if not match or not seconds:
            raise ValueError(f"{name}={raw!r}: give '<requests>/<window>' (e.g. 120/60s, 600/1m), or 0 for no limit")
        requests = int(match[1])
        return cls(requests, seconds) if requests else None


def parse_networks(name: str, raw: str) -> tuple[Network, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{name}: {item!r} is neither an IP address nor a CIDR block (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


@dataclass(frozen=True)
class RateLimits:
    public: Quota | None = None
    partner: Quota | None = None
    trusted_proxies: tuple[Network, ...] = ()
    max_keys: int = DEFAULT_MAX_KEYS
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)  # seconds; tests pass their own

    @classmethod
    def parse(cls, *, public: str, partner: str, trusted_proxies: str, max_keys: int,
              production: bool) -> "RateLimits":
        """From the settings' texts; an empty quota means the environment's default (on in production)."""
        if max_keys < 1:
            raise ValueError(f"HALLMARK_RATE_LIMIT_MAX_KEYS={max_keys}: give a positive number")
        off = "0"
        return cls(
            public=Quota.parse("HALLMARK_PUBLIC_RATE_LIMIT", public or (DEFAULT_PUBLIC if production else off)),
            partner=Quota.parse("HALLMARK_PARTNER_RATE_LIMIT", partner or (DEFAULT_PARTNER if production else off)),
            trusted_proxies=parse_networks("HALLMARK_TRUSTED_PROXIES", trusted_proxies),
            max_keys=max_keys,
        )


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one more request is allowed; 0 when allowed


class Buckets:
    """One policy's token buckets, by key; the least recently used first."""

    def __init__(self, quota: Quota, max_keys: int, clock: Callable[[], float]) -> None:
        self.quota = quota
        self.capacity = float(quota.requests)
        self.rate = quota.requests / quota.window  # tokens per second
        self.max_keys = max_keys
        self.clock = clock
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)

    def __len__(self) -> int:
        return len(self._levels)

    def take(self, key: str) -> Outcome:
        now = self.clock()
        self._drop_idle(now)
        tokens = self._level(self._levels.pop(key, None), now)
        allowed = tokens >= 1 - 1e-9  # a client that waited exactly Retry-After is let in despite rounding
        if allowed:
            tokens = max(0.0, tokens - 1)
        self._levels[key] = (tokens, now)  # now the most recently used
        while len(self._levels) > self.max_keys:
            self._levels.popitem(last=False)
        return Outcome(
            allowed=allowed,
            remaining=math.floor(tokens),
            reset=math.ceil((self.capacity - tokens) / self.rate),
            retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / self.rate)),
        )

    def _level(self, entry: tuple[float, float] | None, now: float) -> float:
        if entry is None:
            return self.capacity
        tokens, when = entry
        return min(self.capacity, tokens + max(0.0, now - when) * self.rate)

    def _drop_idle(self, now: float) -> None:
        # Ordered by last use, so the oldest come first; a full bucket is the same as none.
        while self._levels:
            key, entry = next(iter(self._levels.items()))
            if self._level(entry, now) < self.capacity:
                return
            del self._levels[key]


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _key(address: Address | None, raw: str) -> str:
    if address is None:
        return raw[:64] or "-"  # not an address (a test client, a unix socket): as given
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _peer(scope: Scope) -> str:
    return (scope.get("client") or ("",))[0] or ""


def _trusted(candidate: Address | None, trusted: tuple[Network, ...]) -> bool:
    return candidate is not None and any(candidate in network for network in trusted)


def client_key(scope: Scope, trusted: Iterable[Network]) -> str:
    """Whom a public request counts against: the peer, or the address a trusted proxy forwarded."""
    trusted = tuple(trusted)
    peer = _peer(scope)
    address = _address(peer)
    if not _trusted(address, trusted):
        return _key(address, peer)
    hops = [hop.strip() for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",") if hop.strip()]
    for hop in reversed(hops):
        candidate = _address(hop)
        if not _trusted(candidate, trusted):
            return _key(candidate, hop)
    if hops:  # every hop is one of ours: the left-most sent it
        return _key(_address(hops[0]), hops[0])
    return _key(address, peer)


async def partner_of(scope: Scope, config: AuthConfig | None) -> str | None:
    """Which partner a request comes from, named as ``shared.http.auth.authenticate`` names it: the
    ``sub`` of a verified token with role ``partner``, or ``partner:<id>`` for a valid API key. None
    for anything else: no credentials, another role, credentials refused (the route answers for them)."""
    if config is None:
        return None
    headers = Headers(scope=scope)
    api_keys = getattr(config, "api_keys", None)
    if "x-api-key" in headers and api_keys is not None:
        try:  # a look-up in the partner store: off the event loop
            partner_id = await anyio.to_thread.run_sync(api_keys, headers["x-api-key"].strip())
        except Exception:
            return None
        return f"partner:{partner_id}" if partner_id else None
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    try:  # staff tokens are the common case: skip verifying what could never be a partner's
        claimed = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    if not isinstance(claimed.get("roles"), list) or PARTNER_ROLE not in claimed["roles"]:
        return None
    try:  # off the event loop: checking may fetch the identity provider's keys or ask the partner store
        claims = await anyio.to_thread.run_sync(config.decode, token)
        roles = roles_of(claims)
    except Exception:  # refused, or the provider is down: the route answers 401 or 503 itself
        return None
    subject = str(claims.get("sub", "")).strip()
    return subject if PARTNER_ROLE in roles and 0 < len(subject) <= MAX_NAME else None


def _headers(policy: str, quota: Quota, outcome: Outcome) -> dict[str, str]:
    return {
        "RateLimit-Policy": f'"{policy}";q={quota.requests};w={quota.window}',
        "RateLimit": f'"{policy}";r={outcome.remaining};t={outcome.reset}',
    }


def too_many(policy: str, quota: Quota, outcome: Outcome):
    who = "this address" if policy == "public" else "this partner client"
    return problems.problem(
        429, "rate-limited",
        f"More than {quota.requests} requests in {quota.window} s from {who}; try again in {outcome.retry_after} s.",
        title="Too many requests",
        headers={"Retry-After": str(outcome.retry_after), **_headers(policy, quota, outcome)},
        policy=policy, quota=quota.requests, window_seconds=quota.window,
    )


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: RateLimits, auth: Callable[[], AuthConfig | None]) -> None:
        self.app = app
        self.limits = limits
        self.auth = auth
        self.buckets = {
            policy: Buckets(quota, limits.max_keys, limits.clock)
            for policy, quota in (("public", limits.public), ("partner", limits.partner)) if quota is not None
        }
        self.warned = False

    async def _policy_and_key(self, scope: Scope) -> tuple[str, str] | None:
        if "partner" in self.buckets:
            partner = await partner_of(scope, self.auth())
            if partner is not None:
                return "partner", partner
        if "public" in self.buckets and per_address(scope["path"]):
            self._warn_of_an_unknown_proxy(scope)
            return "public", client_key(scope, self.limits.trusted_proxies)
        return None

    def _warn_of_an_unknown_proxy(self, scope: Scope) -> None:
        """Once: behind a proxy not named in HALLMARK_TRUSTED_PROXIES every client shares its bucket."""
        if self.warned or not any(name == b"x-forwarded-for" for name, _ in scope.get("headers", [])):
            return
        peer = _peer(scope)
        if not _trusted(_address(peer), self.limits.trusted_proxies):
            self.warned = True
            log.warning("X-Forwarded-For came from %s, which is not in HALLMARK_TRUSTED_PROXIES: public requests "
                        "count against that peer; if it is your proxy, every client behind it shares one quota", peer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = await self._policy_and_key(scope) if scope["type"] == "http" and self.buckets else None
        if counted is None:
            await self.app(scope, receive, send)
            return
        policy, key = counted
        buckets = self.buckets[policy]
        outcome = buckets.take(key)
        if not outcome.allowed:
            await too_many(policy, buckets.quota, outcome)(scope, receive, send)
            return
        extra = _headers(policy, buckets.quota, outcome)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                headers.update(extra)
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
