"""The one place that turns store URLs into backends.

    stores = await open_stores("sqlite:///./wa-sidecar.db", "memory://")
    ...
    await stores.close()

``WA_SIDECAR_STATE_URL`` picks the ``StateStore``; ``WA_SIDECAR_QUOTA_URL``
picks the ``QuotaStore``. The ``DedupStore`` lives with the shared quota
backend when there is one (Redis) and otherwise with the state (SQLite or
PostgreSQL), so re-delivered webhooks are recognised across restarts.

SQLite URLs follow the SQLAlchemy convention: ``sqlite:///relative/x.db``,
``sqlite:////absolute/x.db``, ``sqlite:///:memory:`` (tests only).
PostgreSQL URLs are libpq's: ``postgresql://user:password@host:5432/db``.
Errors name the setting and the scheme, never the URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sidecar.errors import ConfigError
from sidecar.stores.base import DedupStore, QuotaStore, StateStore
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.stores.postgres import PostgresStateStore
from sidecar.stores.redis import RedisQuotaStore
from sidecar.stores.sqlite import SqliteStateStore

STATE_SETTING = "WA_SIDECAR_STATE_URL"
QUOTA_SETTING = "WA_SIDECAR_QUOTA_URL"
_SCALE_OUT = "this backend arrives with the scale-out release"


@dataclass(frozen=True, slots=True)
class Stores:
    """The opened backends of one process; ``close`` releases all of them."""

    state: StateStore
    dedup: DedupStore
    quota: QuotaStore

    async def close(self) -> None:
        """Close quota, dedup, then state; a failure of one does not skip the rest."""
        for store in (self.quota, self.dedup, self.state):
            with contextlib.suppress(Exception):
                await store.close()


async def open_stores(state_url: str, quota_url: str, *, quota_prefix: str = "wa:") -> Stores:
    """Open (and migrate) the backends the URLs name.

    ``quota_prefix`` namespaces the keys of a shared quota backend (Redis).
    Raises ``ConfigError`` for a URL we cannot use and ``StoreUnavailable``
    when a named backend cannot be reached.
    """
    quota, shared_dedup = await _quota_backend(quota_url, quota_prefix)
    try:
        state, state_dedup = await _state_backend(state_url)
    except BaseException:
        await quota.close()
        raise
    return Stores(state=state, dedup=shared_dedup or state_dedup, quota=quota)


async def _state_backend(url: str) -> tuple[StateStore, DedupStore]:
    match _scheme(url, STATE_SETTING):
        case "sqlite":
            sqlite = SqliteStateStore(_sqlite_path(url))
            await sqlite.open()
            return sqlite, sqlite.dedup()
        case "postgresql" | "postgres":
            postgres = PostgresStateStore(url)
            try:
                await postgres.open()
            except ValueError:
                raise ConfigError(STATE_SETTING, "malformed PostgreSQL URL") from None
            return postgres, postgres.dedup()
        case other:
            raise ConfigError(
                STATE_SETTING, f"unsupported scheme {other!r}: use sqlite:///… or postgresql://…"
            )


async def _quota_backend(url: str, prefix: str) -> tuple[QuotaStore, DedupStore | None]:
    """The quota store and, for shared backends, the dedup store beside it."""
    match _scheme(url, QUOTA_SETTING):
        case "memory":
            return MemoryQuotaStore(), None
        case "redis" | "rediss":
            try:
                redis = RedisQuotaStore(url, key_prefix=prefix)
            except ValueError:  # redis-py's URL parser; its message may quote the URL
                raise ConfigError(QUOTA_SETTING, "not a usable redis:// URL") from None
            try:
                await redis.ping()
            except BaseException:
                await redis.close()
                raise
            return redis, redis.dedup()
        case other:
            raise ConfigError(
                QUOTA_SETTING, f"unsupported scheme {other!r}: use memory:// or redis://…"
            )


def _scheme(url: str, setting: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        raise ConfigError(setting, "must be a URL with a scheme")
    return scheme


def _sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if not url.lower().startswith(prefix) or "?" in url or "#" in url:
        raise ConfigError(STATE_SETTING, "SQLite URLs look like sqlite:///path/to/state.db")
    path = url[len(prefix) :]
    if not path:
        raise ConfigError(STATE_SETTING, "the SQLite URL names no file")
    if path == ":memory:":
        return path
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            STATE_SETTING, f"cannot create the SQLite directory: {exc.strerror}"
        ) from None
    return path
