"""All configuration, read from the environment in one place.

Nothing here connects to anything: `Settings.from_env()` only reads variables, so
importing any module of Mukti is free of side effects.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

# A development-only signing key. `Settings.check()` refuses it in production.
DEV_JWT_SECRET = "mukti-development-secret-do-not-use-in-production-0123456789abcdef"

T = TypeVar("T")


def _env(name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
    """The variable `name` parsed, or `default` when it is unset or empty; a value that
    `parse` refuses is an error naming the variable and what it must be."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be {expected}, got {raw!r}") from exc


def _switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _int(name: str, default: int) -> int:
    return _env(name, default, int, "an integer")


def _float(name: str, default: float) -> float:
    return _env(name, default, float, "a number")


def _bool(name: str, default: bool) -> bool:
    return _env(name, default, _switch, "on or off (1/0, true/false, yes/no)")


# How a field of each type is read. An empty optional string is unset; other strings are
# taken as given.
_READERS: dict[str, Callable[[str, Any], Any]] = {
    "int": _int,
    "float": _float,
    "bool": _bool,
    "str | None": lambda name, default: os.environ.get(name) or default,
    "str": lambda name, default: os.environ.get(name, default),
    "Path": lambda name, default: Path(os.environ.get(name, str(default))),
}

# Variables that keep the names other tools give them; every other field is MUKTI_<FIELD>.
_UNPREFIXED = {
    "database_url": "DATABASE_URL",
    "llm_base_url": "LLM_BASE_URL",
    "llm_api_key": "LLM_API_KEY",
    "llm_timeout": "LLM_TIMEOUT",
}


def env_name(field_name: str) -> str:
    """The environment variable of a Settings field."""
    return _UNPREFIXED.get(field_name, "MUKTI_" + field_name.upper())


def sqlalchemy_url(url: str) -> str:
    """The same database URL with the psycopg (v3) driver named, for SQLAlchemy/Alembic."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def libpq_url(url: str) -> str:
    """The URL as libpq/asyncpg understand it (no SQLAlchemy driver suffix)."""
    if url.startswith("postgresql+psycopg://"):
        return "postgresql://" + url[len("postgresql+psycopg://") :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    # Sessions that need session state (LISTEN: Procrastinate's connector, live relays;
    # migrations) bypass a transaction-mode pooler; unset, they use database_url.
    direct_database_url: str | None = None
    # asyncpg's per-connection cache of named prepared statements. A transaction-mode
    # pooler (PgBouncer < 1.21) moves a client between server connections, so behind one
    # it must be 0 (asyncpg then uses unnamed statements, valid within one transaction).
    db_statement_cache_size: int = 100
    # A streaming standby for the read-only, lag-tolerant routes (routing: core/database/replica.py).
    replica_url: str | None = None
    replica_max_lag: float = 5.0
    replica_check_interval: float = 1.0
    env: str = "development"  # "development" | "production"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".mukti"))
    db_pool_min: int = 2
    # Per API process (and for the read replica's pool). Postgres does the most per core
    # with a few busy backends per core: on 2 cores, 2 processes x 20 connections cost it
    # 1.36-1.41 ms of CPU per accepted question against 1.10-1.16 ms with 2 x 4, and
    # accepted 6-11 % fewer (docs/operations.md, "Sizing the pools"). Requests beyond the
    # pool wait for a connection (MUKTI_DB_ACQUIRE_TIMEOUT).
    db_pool_max: int = 4
    db_acquire_timeout: float = 5.0
    # The role the API and worker act as when they log in as another (docs/privacy.md).
    db_role: str | None = None
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "mukti"
    jwt_audience: str = "mukti-api"
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 30.0
    worker_concurrency: int = 50
    worker_shutdown_timeout: float = 30.0
    worker_poll_interval: float = 0.1
    # Slots of a worker's concurrency kept for questions of the reserved priority or higher
    # (jobs/reserve.py); -1: a tenth of the concurrency. Priority -1: the highest plan's.
    worker_reserved_slots: int = -1
    worker_reserved_priority: int = -1
    # The most jobs a worker's fetch takes at once while that many ordinary slots are free
    # (jobs/fetch.py); 1: one job a fetch, as Procrastinate does.
    worker_fetch_batch: int = 4
    wake_window: float = 0.005
    # The most questions an API process sends to Postgres in one transaction when they
    # queue for its connections (api/conversations/batches.py); 1: each alone.
    accept_batch_max: int = 16
    # The most replies a worker process stores in one transaction, and how many such
    # transactions it runs at once (jobs/replies.py; at most the pool's size less one):
    # one sender batches the most.
    reply_batch_max: int = 16
    reply_senders: int = 1
    worker_give_up_after: float = 300.0
    forwarded_allow_ips: str = "127.0.0.1"
    max_attempts: int = 3
    webhook_secret: str = "mukti-development-webhook-secret"
    webhook_allow_private: bool = False
    billing_secret: str = "mukti-development-billing-secret"
    burst_limit: int = 5
    register_per_address: int = 10
    register_global: int = 1000
    burst_window: int = 10
    share_max_expiry: int = 90 * 24 * 3600
    max_body_size: int = 1024 * 1024  # bytes of a request body; larger ones are refused (413) unread
    log_format: str = "text"  # "text" | "json"
    metrics_flush_interval: float = 5.0  # seconds between a worker's writes of its metrics to Postgres
    follow_up_daily_budget: int = 1000
    web_client: bool = True
    # Lifetimes, in days, of the rows of growing tables (jobs/maintenance.py purges them).
    keep_finished_requests_days: int = 30
    keep_finished_jobs_days: int = 7
    keep_notifications_days: int = 90
    keep_webhook_deliveries_days: int = 30
    keep_refresh_tokens_days: int = 7
    keep_shared_link_views_days: int = 90
    keep_audit_log_days: int = 365
    # Live answers (jobs/relay.py, api/live/relay.py).
    live_flush_interval: float = 0.02
    live_cancel_poll: float = 0.25
    live_poll_interval: float = 1.0
    live_heartbeat: float = 15.0
    live_client_queue: int = 256

    @classmethod
    def from_env(cls) -> Settings:
        """Each field from its variable (`env_name`), read as its type says; unset, the default."""
        defaults = cls()
        return cls(**{f.name: _READERS[str(f.type)](env_name(f.name), getattr(defaults, f.name)) for f in fields(cls)})

    def lifetimes(self) -> dict[str, int]:
        """Days each growing table keeps its rows (see mukti_purge_expired_v1 for what
        counts as a row's age in each)."""
        return {
            "request_queue": self.keep_finished_requests_days,
            "procrastinate_jobs": self.keep_finished_jobs_days,
            "notifications": self.keep_notifications_days,
            "webhook_deliveries": self.keep_webhook_deliveries_days,
            "refresh_tokens": self.keep_refresh_tokens_days,
            "shared_link_views": self.keep_shared_link_views_days,
            "audit_log": self.keep_audit_log_days,
        }

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def reserved_slots(self) -> int:
        """How many of a worker's slots only questions of the reserved priority may take."""
        if self.worker_reserved_slots >= 0:
            return self.worker_reserved_slots
        return self.worker_concurrency // 10

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (mukti up starts an embedded Postgres for you)")
        return libpq_url(self.database_url)

    def require_direct_database_url(self) -> str:
        """The URL of a session of its own on the primary (LISTEN, migrations): never a
        transaction-mode pooler. MUKTI_DIRECT_DATABASE_URL, else DATABASE_URL."""
        if self.direct_database_url:
            return libpq_url(self.direct_database_url)
        return self.require_database_url()

    def check(self) -> None:
        """Refuse configurations that are unsafe to serve with."""
        if self.env not in ("development", "production"):
            raise ValueError("MUKTI_ENV must be 'development' or 'production'")
        if self.db_pool_max < 1 or not 0 <= self.db_pool_min <= self.db_pool_max:
            # asyncpg's own refusal names neither variable, and comes only when the pool opens.
            raise ValueError(
                "MUKTI_DB_POOL_MAX must be at least 1, and MUKTI_DB_POOL_MIN between 0 and MUKTI_DB_POOL_MAX "
                f"(got MUKTI_DB_POOL_MIN={self.db_pool_min}, MUKTI_DB_POOL_MAX={self.db_pool_max})"
            )
        if not 1 <= self.accept_batch_max <= 100:
            # 100: mukti_submit_questions_v1's own bound (a batch holds all its users' locks).
            raise ValueError(
                "MUKTI_ACCEPT_BATCH_MAX must be from 1 to 100 (1: every question in a transaction of its own)"
            )
        if not 1 <= self.reply_batch_max <= 100:
            # 100: mukti_complete_streams_v1's own bound.
            raise ValueError("MUKTI_REPLY_BATCH_MAX must be from 1 to 100 (1: every reply in a transaction of its own)")
        if self.reply_senders < 1:
            raise ValueError("MUKTI_REPLY_SENDERS must be at least 1")
        if self.db_statement_cache_size < 0:
            raise ValueError("MUKTI_DB_STATEMENT_CACHE_SIZE must be 0 or more")
        if self.replica_max_lag <= 0:
            raise ValueError("MUKTI_REPLICA_MAX_LAG must be a positive number of seconds")
        if self.replica_check_interval <= 0:
            raise ValueError("MUKTI_REPLICA_CHECK_INTERVAL must be a positive number of seconds")
        if self.worker_concurrency < 1:
            raise ValueError("MUKTI_WORKER_CONCURRENCY must be at least 1")
        if not -1 <= self.worker_reserved_slots < self.worker_concurrency:
            raise ValueError(
                "MUKTI_WORKER_RESERVED_SLOTS must be between 0 and MUKTI_WORKER_CONCURRENCY - 1 (-1: a tenth of it)"
            )
        if not 1 <= self.worker_fetch_batch <= 100:
            raise ValueError("MUKTI_WORKER_FETCH_BATCH must be from 1 to 100 (1: one job a fetch)")
        if self.worker_reserved_priority < -1:
            raise ValueError(
                "MUKTI_WORKER_RESERVED_PRIORITY must be a priority (0 or more), or -1 for the highest plan's"
            )
        if self.log_format not in ("text", "json"):
            raise ValueError("MUKTI_LOG_FORMAT must be 'text' or 'json'")
        if self.max_body_size < 1024:
            raise ValueError("MUKTI_MAX_BODY_SIZE must be at least 1024 bytes")
        if len(self.jwt_secret.encode()) < 32:
            raise ValueError("MUKTI_JWT_SECRET must be at least 256 bits (32 bytes)")
        if self.is_production:
            defaults = {
                "MUKTI_JWT_SECRET": self.jwt_secret == DEV_JWT_SECRET,
                "MUKTI_WEBHOOK_SECRET": self.webhook_secret == Settings.webhook_secret,
                "MUKTI_BILLING_SECRET": self.billing_secret == Settings.billing_secret,
            }
            bad = [name for name, is_default in defaults.items() if is_default]
            if bad:
                raise ValueError(f"production mode refuses the development defaults of: {', '.join(bad)}")
            if not self.public_url:
                # Share URLs would otherwise be built from the request's Host header.
                raise ValueError("production mode needs MUKTI_PUBLIC_URL (the public base URL of the API)")
