"""The SQLite link's hops: group commit, and a failing operation that fails alone."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sidecar.errors import StoreUnavailable
from sidecar.stores.sqlite_link import Link


def _insert(db: sqlite3.Connection, key: str) -> int:
    db.execute("INSERT INTO meta (key, value) VALUES (?, 'v')", (key,))
    return int(db.execute("SELECT count(*) FROM meta WHERE key LIKE 't-%'").fetchone()[0])


def _committed(path: Path) -> set[str]:
    with sqlite3.connect(path) as other:  # another connection sees committed rows only
        return {r[0] for r in other.execute("SELECT key FROM meta WHERE key LIKE 't-%'")}


@pytest.fixture
async def link(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Link(tmp_path / "state.db")
    await opened.open()
    yield opened
    await opened.close()


async def test_one_hop_runs_every_operation_in_order(link: Link, tmp_path: Path) -> None:
    results = await asyncio.gather(*(link.run(_insert, f"t-{i}") for i in range(5)))
    # Each operation saw the ones submitted before it (same transaction, in order).
    assert results == [1, 2, 3, 4, 5]
    assert _committed(tmp_path / "state.db") == {f"t-{i}" for i in range(5)}


async def test_a_failing_operation_fails_alone(link: Link, tmp_path: Path) -> None:
    await link.run(_insert, "t-taken")
    outcomes = await asyncio.gather(
        link.run(_insert, "t-a"),
        link.run(_insert, "t-taken"),  # primary key conflict
        link.run(_insert, "t-b"),
        return_exceptions=True,
    )
    assert outcomes[0] == 2
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    # The failed operation's write is rolled back, its neighbours' are committed.
    assert outcomes[2] == 3
    assert _committed(tmp_path / "state.db") == {"t-taken", "t-a", "t-b"}


async def test_a_lone_failing_operation_reports_its_error(link: Link) -> None:
    await link.run(_insert, "t-x")
    with pytest.raises(sqlite3.IntegrityError):
        await link.run(_insert, "t-x")
    # The link keeps working after a failed hop.
    assert await link.run(_insert, "t-y") == 2


async def test_an_unavailable_database_is_a_store_error(link: Link) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("SELECT * FROM no_such_table")

    with pytest.raises(StoreUnavailable, match="SQLite state unavailable"):
        await asyncio.gather(link.run(broken), link.run(_insert, "t-z"))
