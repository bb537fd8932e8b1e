"""The SQLite connection: one aiosqlite worker thread, operations batched per hop.

``sqlite.py`` builds the stores on top of a ``Link``. An operation is a plain
function of a ``sqlite3.Connection`` that runs whole on the worker thread, so
the event loop never blocks on I/O and no coroutine's statement can land in
another's transaction. ``sqlite3``/``OS`` failures become ``StoreUnavailable``;
constraint and misuse errors are bugs and propagate unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from sidecar.errors import StoreUnavailable
from sidecar.stores import sqlite_sql as sql
from sidecar.stores.sqlite_schema import prepare

P = ParamSpec("P")
T = TypeVar("T")

_BUGS = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    sqlite3.NotSupportedError,
)


class Link:
    """The connection and its worker thread, shared by the state and dedup views."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._hop: asyncio.Future[list[tuple[bool, Any]]] | None = None
        self._busy = False  # a hop is under way; new operations queue up

    async def open(self) -> None:
        if self._db is not None:
            return
        try:
            # A failed aiosqlite connect leaves its thread to finish later, which
            # may outlive the loop; so first make sure the file can be opened.
            if str(self.path) != ":memory:":
                await asyncio.to_thread(_check_openable, self.path)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            self._db = await aiosqlite.connect(
                self.path, isolation_level=None, cached_statements=256
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(_describe(exc)) from exc
        try:
            await self.run(prepare)
        except BaseException:
            await self.close()
            raise

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(connection, …)`` on the worker thread.

        An idle link sends the operation at once. While a hop is under way,
        operations wait and then travel together in the next hop (the hop,
        not the SQL, is most of an operation's CPU); each still runs on its
        own, in submission order, with its own result or error.
        """
        db = self._db
        if db is None:
            raise StoreUnavailable("SQLite store is not open")

        def op(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kwargs)

        try:
            if self._busy:
                future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
                self._pending.append((op, future))
                return await future
            self._busy = True
            try:
                # aiosqlite's public methods take one statement per hop; its
                # runner takes any callable, so a transaction is one hop.
                result: T = await db._execute(op, db._conn)  # type: ignore[no-untyped-call]  # aiosqlite leaves its runner unannotated
                return result
            finally:
                self._next()
        except _BUGS:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(_describe(exc)) from exc

    def _next(self) -> None:
        """Send everything that queued up during the last hop, as one hop."""
        batch, self._pending = self._pending, []
        db = self._db
        if not batch or db is None:
            self._busy = False
            for _, future in batch:
                if not future.done():
                    future.set_exception(StoreUnavailable("SQLite store is not open"))
            return
        self._hop = asyncio.ensure_future(  # noqa: RUF006  # held in self._hop until it lands
            db._execute(_run_batch, db._conn, [op for op, _ in batch])  # type: ignore[no-untyped-call]  # aiosqlite leaves its runner unannotated
        )
        self._hop.add_done_callback(partial(self._landed, [future for _, future in batch]))

    def _landed(
        self, futures: list[asyncio.Future[Any]], hop: asyncio.Future[list[tuple[bool, Any]]]
    ) -> None:
        self._hop = None
        _settle(futures, hop)
        self._next()

    async def write(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Like ``run`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""

        def transaction(db: sqlite3.Connection) -> T:
            return sql.write(db, fn, *args, **kwargs)

        return await self.run(transaction)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        # Only statistics for the planner: closing matters more.
        with contextlib.suppress(sqlite3.Error):
            await db.execute("PRAGMA optimize")
        await db.close()


def _describe(exc: BaseException) -> str:
    # sqlite3 messages are fixed library texts; they never carry bound values.
    name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    return f"SQLite state unavailable: {name}: {exc}"


def _run_batch(
    db: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]
) -> list[tuple[bool, Any]]:
    """On the worker thread: run each operation, keeping its result or error."""
    outcomes: list[tuple[bool, Any]] = []
    for op in ops:
        try:
            outcomes.append((True, op(db)))
        except Exception as exc:  # handed to the operation's own caller
            outcomes.append((False, exc))
    return outcomes


def _settle(
    futures: list[asyncio.Future[Any]], hop: asyncio.Future[list[tuple[bool, Any]]]
) -> None:
    """On the loop: give each waiting operation its outcome."""
    if hop.cancelled() or hop.exception() is not None:
        error = hop.exception() if not hop.cancelled() else None
        for future in futures:
            if not future.done():
                future.set_exception(error or StoreUnavailable("SQLite operation cancelled"))
        return
    for future, (ok, value) in zip(futures, hop.result(), strict=True):
        if future.done():  # the caller was cancelled; the operation ran anyway
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _check_openable(path: str | Path) -> None:
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
