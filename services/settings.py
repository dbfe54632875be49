"""Configuration, from environment variables only (twelve-factor)."""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from shared.evidence.checkpoint import NoteError, SigningKey, generate_key, load_key
from shared.http.auth import DEFAULT_MAX_LIFETIME_SECONDS, AuthConfig
from shared.http.ratelimit import DEFAULT_MAX_KEYS, RateLimits


class ConfigurationError(RuntimeError):
    pass


def _create_once(path: Path, make: Callable[[], str]) -> None:
    """A secret file, written whole under another name, owner-only from the start, then linked in
    place: of processes starting at once, exactly one wins and every process reads that one."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(make() + "\n")
    try:
        os.link(staging, path)
    except FileExistsError:
        pass
    finally:
        staging.unlink()


def _ed25519(path: Path, setting: str, *, private: bool) -> Any:
    """An Ed25519 private key (PKCS#8) or public key (SubjectPublicKeyInfo) from a PEM file."""
    if not path.exists():
        raise ConfigurationError(f"{setting} names {path}, which does not exist")
    kind = "private" if private else "public"
    try:
        pem = path.read_bytes()
        key = load_pem_private_key(pem, password=None) if private else load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ConfigurationError(f"{setting}: {path} is not an unencrypted {kind} key in PEM ({error})") from None
    if not isinstance(key, Ed25519PrivateKey if private else Ed25519PublicKey):
        raise ConfigurationError(f"{setting}: {path} holds a {type(key).__name__}; give an Ed25519 {kind} key")
    return key


def _positive_hours(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        hours = float(raw)
    except ValueError:
        hours = 0.0
    if not 0 < hours * 3600 < float("inf"):
        raise ConfigurationError(f"{name}={raw!r}: give a positive number of hours")
    return hours


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("HALLMARK_DATA", "data")))
    store: str = field(default_factory=lambda: os.environ.get("HALLMARK_STORE", "sqlite"))
    environment: str = field(default_factory=lambda: os.environ.get("HALLMARK_ENV", "development"))
    timezone: str = field(default_factory=lambda: os.environ.get("HALLMARK_TIMEZONE", "Europe/Brussels"))
    pg_host: str = field(default_factory=lambda: os.environ.get("HALLMARK_PG_HOST", "127.0.0.1"))
    pg_port: str = field(default_factory=lambda: os.environ.get("HALLMARK_PG_PORT", "5432"))
    pg_user: str = field(default_factory=lambda: os.environ.get("HALLMARK_PG_USER", "hallmark"))
    pg_password: str = field(default_factory=lambda: os.environ.get("HALLMARK_PG_PASSWORD", "hallmark"))
    pg_dbname: str = field(default_factory=lambda: os.environ.get("HALLMARK_PG_DBNAME", "hallmark"))
    pg_schema_prefix: str = field(default_factory=lambda: os.environ.get("HALLMARK_PG_SCHEMA_PREFIX", "hallmark_"))
    jwt_public_keys: str = field(default_factory=lambda: os.environ.get("HALLMARK_JWT_PUBLIC_KEYS", ""))
    jwt_issuer: str = field(default_factory=lambda: os.environ.get("HALLMARK_JWT_ISSUER", ""))
    jwt_audience: str = field(default_factory=lambda: os.environ.get("HALLMARK_JWT_AUDIENCE", ""))
    jwt_jwks_url: str = field(default_factory=lambda: os.environ.get("HALLMARK_JWT_JWKS_URL", ""))
    jwt_max_lifetime_hours: float = field(
        default_factory=lambda: _positive_hours("HALLMARK_JWT_MAX_LIFETIME_HOURS", DEFAULT_MAX_LIFETIME_SECONDS / 3600)
    )
    sweep_seconds: float = field(default_factory=lambda: float(os.environ.get("HALLMARK_SWEEP_SECONDS", "3600")))
    # embedded: every component in one process, joined in-process; kafka: joined by Apache Kafka only
    transport: str = field(default_factory=lambda: os.environ.get("HALLMARK_TRANSPORT", "embedded"))
    component: str = field(default_factory=lambda: os.environ.get("HALLMARK_COMPONENT", "all"))
    # Over Kafka: all (serve, relay, consume), worker (the same; one per component) or web (serve only:
    # commands wait on what the worker stored; scales past one replica). ADR 0009.
    role: str = field(default_factory=lambda: os.environ.get("HALLMARK_ROLE", "all"))
    kafka_bootstrap: str = field(default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    kafka_prefix: str = field(default_factory=lambda: os.environ.get("HALLMARK_KAFKA_TOPIC_PREFIX", "hallmark."))
    watchdog_stall_seconds: float = field(
        default_factory=lambda: float(os.environ.get("HALLMARK_WATCHDOG_STALL_SECONDS", "30")))
    kafka_partitions: int = field(default_factory=lambda: int(os.environ.get("HALLMARK_KAFKA_PARTITIONS", "1")))
    # The transparency log (ADR 0011): its name is the checkpoints' origin, hallmark/<instance>.
    instance: str = field(default_factory=lambda: os.environ.get("HALLMARK_INSTANCE", "local"))
    trail_key_path: str = field(default_factory=lambda: os.environ.get("HALLMARK_TRAIL_SIGNING_KEY_FILE", ""))
    checkpoint_journal_path: str = field(default_factory=lambda: os.environ.get("HALLMARK_CHECKPOINT_JOURNAL", ""))
    # The persons' keys (ADR 0011): one database every service of the instance reaches (distributed
    # mode with a database per service: name it here); default the instance's database.
    people_dbname: str = field(default_factory=lambda: os.environ.get("HALLMARK_PEOPLE_DBNAME", ""))
    checkpoint_seconds: float = field(
        default_factory=lambda: float(os.environ.get("HALLMARK_CHECKPOINT_SECONDS", "1")))
    # Rate limits (shared/http/ratelimit.py): "<requests>/<window>" or 0 (off); unset: on in production only.
    public_rate_limit: str = field(default_factory=lambda: os.environ.get("HALLMARK_PUBLIC_RATE_LIMIT", ""))
    partner_rate_limit: str = field(default_factory=lambda: os.environ.get("HALLMARK_PARTNER_RATE_LIMIT", ""))
    trusted_proxies: str = field(default_factory=lambda: os.environ.get("HALLMARK_TRUSTED_PROXIES", ""))
    rate_limit_max_keys: str = field(default_factory=lambda: os.environ.get("HALLMARK_RATE_LIMIT_MAX_KEYS", ""))
    # Partners (ADR 0014): the key of the tokens Hallmark issues to partners, and http webhooks.
    partner_token_key_path: str = field(default_factory=lambda: os.environ.get("HALLMARK_PARTNER_TOKEN_KEY_FILE", ""))
    webhooks_allow_http: str = field(default_factory=lambda: os.environ.get("HALLMARK_WEBHOOKS_ALLOW_HTTP", ""))
    # Signed answers of the public lookup (ADR 0013): the Ed25519 key (PEM), and earlier keys' public PEM files.
    answer_key_path: str = field(default_factory=lambda: os.environ.get("HALLMARK_ANSWER_SIGNING_KEY_FILE", ""))
    answer_previous_keys: str = field(default_factory=lambda: os.environ.get("HALLMARK_ANSWER_PREVIOUS_KEYS", ""))
    # Where the public directory is reached from outside (its pages are <public_url>/certificates/<number>):
    # printed on every certificate document as the link to the certificate's public page.
    public_url: str = field(default_factory=lambda: os.environ.get("HALLMARK_PUBLIC_URL", "http://127.0.0.1:8000"))

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,62}", self.instance):
            raise ConfigurationError(
                f"HALLMARK_INSTANCE={self.instance!r}: give a short name in lower-case letters, digits, '.' and "
                "'-' (it names the log: hallmark/<instance>)")
        if self.store not in ("sqlite", "postgres"):
            raise ConfigurationError(f"HALLMARK_STORE={self.store!r}: use 'sqlite' (default) or 'postgres'")
        if self.role not in ("all", "worker", "web"):
            raise ConfigurationError(f"HALLMARK_ROLE={self.role!r}: use 'all' (default), 'worker' or 'web'")
        if self.transport not in ("embedded", "kafka"):
            raise ConfigurationError(f"HALLMARK_TRANSPORT={self.transport!r}: use 'embedded' (default) or 'kafka'")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", self.public_url):
            raise ConfigurationError(f"HALLMARK_PUBLIC_URL={self.public_url!r}: give the public directory's base URL, "
                                     "e.g. https://register.example.be")

    @property
    def pg_conninfo(self) -> str:
        return self.conninfo(self.pg_dbname)

    def conninfo(self, dbname: str) -> str:
        return f"host={self.pg_host} port={self.pg_port} dbname={dbname} user={self.pg_user} password={self.pg_password}"

    def store_env(self, service: str) -> dict[str, str]:
        """The eventsourcing environment of one service's own store.

        ``<SERVICE>_POSTGRES_DBNAME`` and the like still override these, per service."""
        if self.store == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.data_dir / f"{service}.db"),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.pg_host,
            "POSTGRES_PORT": self.pg_port,
            "POSTGRES_USER": self.pg_user,
            "POSTGRES_PASSWORD": self.pg_password,
            "POSTGRES_DBNAME": self.pg_dbname,
            "POSTGRES_SCHEMA": self.pg_schema_prefix + service,
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_MAX_OVERFLOW": "4",
        }

    @contextmanager
    def exclusive(self, purpose: str, wait: float = 0.0) -> Iterator[None]:
        """Hold this instance's views alone: a server and a rebuild must never write the same views at
        once. On PostgreSQL a session advisory lock, which holds across hosts; on SQLite a file lock.

        ``wait``: seconds to keep asking for a PostgreSQL lock that is held. A process killed with -9
        leaves its session behind until PostgreSQL notices the closed connection; a supervisor that
        restarts it at once must not be refused for that moment. (A file lock dies with its process.)"""
        if self.store == "postgres":
            with self._advisory_lock(purpose, wait):
                yield
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / ".hallmark.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigurationError(
                    f"another Hallmark process is using {self.data_dir} and {purpose} needs it alone; "
                    "stop that process first (Ctrl-C in its terminal)"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def _advisory_lock(self, purpose: str, wait: float) -> Iterator[None]:
        import psycopg

        key = f"hallmark:{self.pg_dbname}:{self.pg_schema_prefix}:{self.component}"
        try:
            conn = psycopg.connect(self.pg_conninfo, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as error:
            raise ConfigurationError(
                f"Cannot reach PostgreSQL at {self.pg_host}:{self.pg_port} ({error}); start it with "
                "'deploy/postgres.sh start'") from None
        with conn:
            deadline = time.monotonic() + wait
            while not (got := conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                                           (key,)).fetchone()[0]) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not got:
                raise ConfigurationError(
                    f"another Hallmark process holds {key} (database {self.pg_dbname})"
                    f"{f' and kept it for {wait:.0f} s' if wait else ''}, and {purpose} needs it alone; stop that "
                    "process first")
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    @property
    def checkpoint_journal(self) -> Path:
        return Path(self.checkpoint_journal_path) if self.checkpoint_journal_path else \
            self.data_dir / "trail-checkpoints.jsonl"

    def _key_file(self, configured: str, setting: str, what: str, make_hint: str, default: str,
                  make: Callable[[], str]) -> Path:
        """Where a key is: the mounted secret ``configured`` names (required in production), or a file
        generated once in the data folder otherwise."""
        if configured:
            path = Path(configured)
            if not path.exists():
                raise ConfigurationError(f"{setting} names {path}, which does not exist; create one with "
                                         f"{make_hint} and mount it as a secret")
            return path
        if self.environment == "production":
            raise ConfigurationError(f"HALLMARK_ENV=production signs {what} with a key kept as a secret: set "
                                     f"{setting} (create the key with {make_hint})")
        path = self.data_dir / default
        _create_once(path, make)
        return path

    def trail_signing_key(self) -> SigningKey:
        """The Ed25519 key that signs the log's checkpoints: a mounted secret in production
        (HALLMARK_TRAIL_SIGNING_KEY_FILE), generated in the data folder on the embedded default's first start."""
        name = f"hallmark/{self.instance}"
        path = self._key_file(self.trail_key_path, "HALLMARK_TRAIL_SIGNING_KEY_FILE", "the audit trail",
                              "'hallmark trail keygen'", "trail-signing.skey", lambda: generate_key(name).skey)
        try:
            key = load_key(path.read_text())
        except NoteError as error:
            raise ConfigurationError(f"{path} is not a signer key ({error})") from None
        return key

    def answer_signing_keys(self) -> tuple[Ed25519PrivateKey, list[Ed25519PublicKey]]:
        """The Ed25519 key that signs the public lookup's answers (ADR 0013), a PKCS#8 PEM file: a mounted
        secret in production (HALLMARK_ANSWER_SIGNING_KEY_FILE), generated in the data folder on the
        embedded default's first start. With it, the public keys (PEM files) of the keys it replaced,
        HALLMARK_ANSWER_PREVIOUS_KEYS, still published so that the answers they signed verify."""
        path = self._key_file(
            self.answer_key_path, "HALLMARK_ANSWER_SIGNING_KEY_FILE", "the public lookup's answers",
            "'openssl genpkey -algorithm ed25519'", "answer-signing.pem",
            lambda: Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                NoEncryption()).decode().strip())
        key = _ed25519(path, "HALLMARK_ANSWER_SIGNING_KEY_FILE", private=True)
        previous = [_ed25519(Path(name), "HALLMARK_ANSWER_PREVIOUS_KEYS", private=False)
                    for name in filter(None, (n.strip() for n in self.answer_previous_keys.split(",")))]
        return key, previous

    def partner_token_key(self) -> bytes:
        """The HS256 key of the tokens Hallmark issues to partners at /v1/oauth/token (only Hallmark
        verifies them): a mounted secret in production (HALLMARK_PARTNER_TOKEN_KEY_FILE), generated in
        the data folder otherwise."""
        path = self._key_file(self.partner_token_key_path, "HALLMARK_PARTNER_TOKEN_KEY_FILE", "partners' tokens",
                              "'openssl rand -base64 48'", "partner-token.key", lambda: secrets.token_urlsafe(48))
        key = path.read_text().strip().encode()
        if len(key) < 32:
            raise ConfigurationError(f"{path} holds {len(key)} bytes; a partner token key has at least 32")
        return key

    @property
    def allow_http_webhooks(self) -> bool:
        """Webhooks go to https URLs; http too outside production unless HALLMARK_WEBHOOKS_ALLOW_HTTP=0."""
        if self.webhooks_allow_http.strip():
            return self.webhooks_allow_http.strip().lower() not in ("0", "false", "no")
        return self.environment != "production"

    def rate_limits(self) -> RateLimits:
        """The public lookup's limit per client address and the partners' per partner: 120/60s and
        600/60s in production unless set, off elsewhere (a local server, the tests) unless set."""
        try:
            max_keys = int(self.rate_limit_max_keys or DEFAULT_MAX_KEYS)
        except ValueError:
            raise ConfigurationError(f"HALLMARK_RATE_LIMIT_MAX_KEYS={self.rate_limit_max_keys!r}: give a number") from None
        try:
            return RateLimits.parse(public=self.public_rate_limit, partner=self.partner_rate_limit,
                                    trusted_proxies=self.trusted_proxies, max_keys=max_keys,
                                    production=self.environment == "production")
        except ValueError as error:
            raise ConfigurationError(str(error)) from None

    @property
    def secret_file(self) -> Path:
        return self.data_dir / "jwt-signing.key"

    def local_secret(self, create: bool = True) -> bytes:
        """The local default's HS256 signing key, generated on first use, readable by the owner only."""
        path = self.secret_file
        if not path.exists() and not create:
            raise ConfigurationError(f"No signing key at {path}; start Hallmark once ('make run') to create it")
        _create_once(path, lambda: secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def auth(self) -> AuthConfig:
        issuer, audience = self.jwt_issuer or None, self.jwt_audience or None
        keys = []
        for name in filter(None, (n.strip() for n in self.jwt_public_keys.split(","))):
            pem = Path(name)
            if not pem.exists():
                raise ConfigurationError(f"HALLMARK_JWT_PUBLIC_KEYS names {pem}, which does not exist")
            keys.append(pem.read_text())
        if keys or self.jwt_jwks_url:
            if self.environment == "production" and not (issuer and audience):
                raise ConfigurationError(
                    "HALLMARK_ENV=production checks whom tokens come from and are meant for: "
                    "set HALLMARK_JWT_ISSUER and HALLMARK_JWT_AUDIENCE"
                )
            try:
                return AuthConfig(public_keys=keys, jwks_url=self.jwt_jwks_url or None, issuer=issuer, audience=audience)
            except jwt.PyJWKClientError as error:
                raise ConfigurationError(f"HALLMARK_JWT_JWKS_URL={self.jwt_jwks_url!r}: {error}") from None
        if self.environment == "production":
            raise ConfigurationError(
                "HALLMARK_ENV=production needs the identity provider's keys: set HALLMARK_JWT_JWKS_URL "
                "(its JWKS endpoint) or HALLMARK_JWT_PUBLIC_KEYS (PEM files), and HALLMARK_JWT_ISSUER and "
                "HALLMARK_JWT_AUDIENCE"
            )
        return AuthConfig(
            secret=self.local_secret(), issuer=issuer, local=True,
            max_lifetime_seconds=round(self.jwt_max_lifetime_hours * 3600),
        )
