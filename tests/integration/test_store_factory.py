"""``open_stores`` (URL schemes to backends, failures naming the setting) and
what only the SQLite backend promises about failures."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sidecar.errors import ConfigError, StoreUnavailable
from sidecar.stores.base import (
    ConsentAction,
    ConsentRecord,
    DedupStore,
    QuotaStore,
    StateStore,
)
from sidecar.stores.factory import open_stores
from sidecar.stores.sqlite import SqliteStateStore

pytestmark = pytest.mark.integration


async def test_sqlite_and_memory_urls_open_working_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stores = await open_stores("sqlite:///data/nested/state.db", "memory://")
    try:
        assert isinstance(stores.state, StateStore)
        assert isinstance(stores.dedup, DedupStore)
        assert isinstance(stores.quota, QuotaStore)
        await stores.state.set_meta("k", "v")
        assert await stores.dedup.claim(["e"], 60, 0.0) == [True]
        assert await stores.quota.acquire("pn", 1, 1) == 0.0
    finally:
        await stores.close()
    assert (tmp_path / "data" / "nested" / "state.db").is_file()


async def test_four_slashes_mean_an_absolute_path(tmp_path: Path) -> None:
    stores = await open_stores(f"sqlite:///{tmp_path}/abs/state.db", "memory://")
    await stores.close()
    assert (tmp_path / "abs" / "state.db").is_file()


@pytest.mark.parametrize(
    ("state_url", "quota_url", "setting"),
    [
        ("postgresql://u:secret@db:no-port/wa", "memory://", "WA_SIDECAR_STATE_URL"),
        ("mysql://u:secret@db/wa", "memory://", "WA_SIDECAR_STATE_URL"),
        ("state.db", "memory://", "WA_SIDECAR_STATE_URL"),
        ("sqlite://", "memory://", "WA_SIDECAR_STATE_URL"),
        ("sqlite:///:memory:", "redis://:secret@cache:no-port/0", "WA_SIDECAR_QUOTA_URL"),
        ("sqlite:///:memory:", "memcached://cache", "WA_SIDECAR_QUOTA_URL"),
    ],
)
async def test_unusable_urls_fail_naming_the_setting_but_not_the_url(
    state_url: str, quota_url: str, setting: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_stores(state_url, quota_url)
    assert caught.value.setting == setting
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://wa:secret@127.0.0.1:1/wa",  # nothing listens
        "postgresql://no_such_role:secret@127.0.0.1:5432/wa",  # the server refuses us
    ],
)
async def test_an_unreachable_postgresql_is_unavailable_without_the_password(url: str) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await open_stores(url, "memory://")
    assert "secret" not in str(caught.value)
    assert "no_such_role" not in str(caught.value)


@pytest.mark.redis
async def test_redis_urls_open_quota_and_dedup_shared_between_replicas(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    one = await open_stores(f"sqlite:///{tmp_path}/a.db", redis_url, quota_prefix=redis_prefix)
    two = await open_stores(f"sqlite:///{tmp_path}/b.db", redis_url, quota_prefix=redis_prefix)
    try:
        assert await one.dedup.claim(["wamid.A"], 60, 0.0) == [True]
        assert await two.dedup.claim(["wamid.A", "wamid.B"], 60, 0.0) == [False, True]
        assert await one.quota.acquire("rate:pn", rate=1, burst=1) == 0.0
        assert await two.quota.acquire("rate:pn", rate=1, burst=1) > 0.0
    finally:
        await one.close()
        await two.close()


@pytest.mark.redis
async def test_webhook_limits_on_redis_are_shared_and_kept_under_the_prefix(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as aioredis

    replicas = [
        await open_stores(f"sqlite:///{tmp_path}/{n}.db", redis_url, quota_prefix=redis_prefix)
        for n in "ab"
    ]
    try:
        quotas = [r.quota for r in replicas]
        hits = [await quotas[i % 2].hit_window("webhook:10.0.0.1", 3, 60.0) for i in range(5)]
    finally:
        for r in replicas:
            await r.close()
    assert hits == [True, True, True, False, False]
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=redis_prefix + "*")]
    finally:
        await client.aclose()
    assert keys == [redis_prefix + "hits:{webhook:10.0.0.1}"]


async def test_an_unreachable_redis_is_unavailable_without_the_password() -> None:
    from sidecar.testing import free_port

    url = f"redis://:secret@127.0.0.1:{free_port()}/0"  # nothing listens
    with pytest.raises(StoreUnavailable) as caught:
        await open_stores("sqlite:///:memory:", url)
    assert "secret" not in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)


async def test_an_unopenable_database_is_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()
    with pytest.raises(StoreUnavailable):
        await SqliteStateStore(tmp_path / "state.db").open()


async def test_a_file_that_is_not_a_database_is_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"not a database" * 100)
    store = SqliteStateStore(tmp_path / "state.db")
    with pytest.raises(StoreUnavailable):
        await store.open()
    with pytest.raises(StoreUnavailable):  # the failed open released its connection
        await store.ping()


async def test_a_closed_store_is_unavailable(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_one_failing_operation_does_not_fail_the_others_sent_with_it(
    tmp_path: Path,
) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    try:
        orphan = ConsentRecord(
            "c1", "no-such-subject", "MARKETING", ConsentAction.GRANT, 1.0, "a", b""
        )
        results = await asyncio.gather(
            *(store.set_meta(f"m{i}", "v") for i in range(5)),
            store.append_consent(orphan, "", lift_suppression=False),
            *(store.get_meta(f"m{i}") for i in range(5)),
            return_exceptions=True,
        )
        assert results[:5] == [None] * 5
        assert isinstance(results[5], sqlite3.IntegrityError)  # a bug, not an outage
        assert results[6:] == ["v"] * 5
    finally:
        await store.close()
