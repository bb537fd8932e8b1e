"""Retention on a real SQLite state: old message records and dedup keys go, work stays."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sidecar.service.maintenance import Retention
from sidecar.stores.base import OperationRecord, SendRecord, SendState
from sidecar.stores.sqlite import SqliteStateStore

pytestmark = pytest.mark.integration

DAY = 86400.0
NOW = 1_800_000_000.0


def record(key: str, created_at: float, state: SendState = SendState.IN_FLIGHT) -> SendRecord:
    return SendRecord(
        key=key,
        fingerprint="f",
        state=state,
        owner="o",
        phone_number_id="1",
        category="utility",
        created_at=created_at,
        updated_at=created_at,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStateStore]:
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    yield store
    await store.close()


async def seed(store: SqliteStateStore) -> None:
    await store.begin_send(record("old-done", NOW - 40 * DAY))
    await store.finish_send("old-done", "o", "sent", "wamid.1", b"{}", NOW - 40 * DAY)
    await store.begin_send(record("new-done", NOW - 2 * DAY))
    await store.finish_send("new-done", "o", "sent", "wamid.2", b"{}", NOW - 2 * DAY)
    await store.begin_send(record("old-in-doubt", NOW - 40 * DAY))
    await store.enqueue([record("old-queued", NOW - 40 * DAY)])
    dedup = store.dedup()
    assert await dedup.claim(["event-old"], ttl=DAY, now=NOW - 2 * DAY) == [True]
    assert await dedup.claim(["event-new"], ttl=DAY, now=NOW - 60) == [True]
    for op_id, expires_at in (("op-expired", NOW - 60), ("op-open", NOW + 60)):
        await store.put_operation(
            OperationRecord(op_id, "erase_subject", b"sealed", "alice", NOW - DAY, expires_at)
        )


async def test_a_purge_deletes_finished_sends_past_retention_and_expired_dedup_keys(
    store: SqliteStateStore,
) -> None:
    await seed(store)
    retention = Retention(
        store, store, store.dedup(), retention_days=30, interval=3600, clock=lambda: NOW
    )
    purged = await retention.purge()
    assert (purged.sends, purged.dedup_keys, purged.operations) == (1, 1, 1)
    assert await store.get_operation("op-expired") is None
    assert await store.get_operation("op-open") is not None
    assert await store.get_send("old-done") is None
    for kept in ("new-done", "old-in-doubt", "old-queued"):
        assert await store.get_send(kept) is not None, kept
    dedup = store.dedup()
    assert await dedup.claim(["event-old", "event-new"], ttl=DAY, now=NOW) == [True, False]
    assert (await retention.purge()).sends == 0


async def test_the_task_survives_a_store_outage_and_purges_next_round(
    store: SqliteStateStore, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(store)
    await store.close()  # the outage: every call raises StoreUnavailable
    retention = Retention(
        store, store, store.dedup(), retention_days=30, interval=0.05, clock=lambda: NOW
    )
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="sidecar.service.maintenance"):
        task = asyncio.create_task(retention.run(stop))
        deadline = time.monotonic() + 10
        while not any(getattr(r, "event", "") == "retention_store_down" for r in caplog.records):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert not task.done()
        await store.open()  # the store is back
        while await store.get_send("old-done") is not None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)
    assert any(getattr(r, "event", "") == "retention_purged" for r in caplog.records)
    assert await store.get_send("new-done") is not None
