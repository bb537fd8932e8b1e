"""The SQLite connection: one worker thread, operations batched per hop.

``sqlite.py`` builds the stores on top of a ``Link``. An operation is a plain
function of a ``sqlite3.Connection`` that runs whole on the link's single
worker thread, so the event loop never blocks on I/O and no coroutine's
statement can land in another's transaction. Operations submitted in the same
event-loop tick, or while a hop is under way, travel to the thread together
(the hop, not the SQL, is most of an operation's CPU); each still runs on its
own, in submission order, with its own result or error. ``sqlite3``/``OS``
failures become ``StoreUnavailable``; constraint and misuse errors are bugs and
propagate unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

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
_Op = Callable[[sqlite3.Connection], Any]


class Link:
    """The connection and its worker thread, shared by the state and dedup views."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[_Op, asyncio.Future[Any]]] = []
        self._hop: asyncio.Future[list[tuple[bool, Any]]] | None = None
        self._busy = False  # a hop is scheduled or under way; new operations queue up

    async def open(self) -> None:
        if self._conn is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wa-sqlite")
        loop = asyncio.get_running_loop()
        try:
            if str(self.path) != ":memory:":
                await loop.run_in_executor(executor, _check_openable, self.path)
            # Created on the worker thread, used only there. isolation_level=None:
            # we issue BEGIN/COMMIT ourselves.
            self._conn = await loop.run_in_executor(
                executor,
                partial(sqlite3.connect, self.path, isolation_level=None, cached_statements=256),
            )
        except (sqlite3.Error, OSError) as exc:
            executor.shutdown(wait=False)
            raise StoreUnavailable(_describe(exc)) from exc
        self._executor = executor
        try:
            # Migrations and PRAGMAs manage their own transaction: not a hop.
            await loop.run_in_executor(executor, prepare, self._conn)
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StoreUnavailable(_describe(exc)) from exc
        except BaseException:
            await self.close()
            raise

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(connection, …)`` on the worker thread (see the module docstring)."""
        if self._conn is None:
            raise StoreUnavailable("SQLite store is not open")

        def op(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kwargs)

        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((op, future))
        if not self._busy:
            self._busy = True
            loop.call_soon(self._next)
        try:
            return await future
        except _BUGS:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(_describe(exc)) from exc

    def _next(self) -> None:
        """Send everything queued so far to the worker thread, as one hop."""
        batch, self._pending = self._pending, []
        if not batch:
            self._busy = False
            return
        if self._conn is None or self._executor is None:
            self._busy = False
            for _, future in batch:
                if not future.done():
                    future.set_exception(StoreUnavailable("SQLite store is not open"))
            return
        self._hop = asyncio.get_running_loop().run_in_executor(
            self._executor, _run_batch, self._conn, [op for op, _ in batch]
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
        conn, executor = self._conn, self._executor
        if conn is None or executor is None:
            return
        if self._hop is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._hop)
        self._conn = self._executor = None
        loop = asyncio.get_running_loop()
        # Only statistics for the planner: closing matters more.
        with contextlib.suppress(sqlite3.Error):
            await loop.run_in_executor(executor, conn.execute, "PRAGMA optimize")
        await loop.run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)


def _describe(exc: BaseException) -> str:
    # sqlite3 messages are fixed library texts; they never carry bound values.
    name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    return f"SQLite state unavailable: {name}: {exc}"


def _run_batch(
    db: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]
) -> list[tuple[bool, Any]]:
    """On the worker thread: run every operation of a hop in ONE transaction
    (group commit: one WAL commit for the hop). Results are handed out only
    after the COMMIT, so an answered write is durable.

    Operations are plain SQL functions of the connection, so a hop first runs
    them straight through; only when one fails is the transaction rolled back
    and the hop run again with a savepoint per operation, so that the failing
    one rolls back alone and reports its own error.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        results = [op(db) for op in ops]
        db.execute("COMMIT")
    except Exception:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if len(ops) == 1:
            raise  # its own error, as the savepoint path would report it
        return _run_isolated(db, ops)
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return [(True, result) for result in results]


def _run_isolated(
    db: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]
) -> list[tuple[bool, Any]]:
    """The hop again, each operation in its own savepoint."""
    outcomes: list[tuple[bool, Any]] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            db.execute("SAVEPOINT op")
            try:
                outcomes.append((True, op(db)))
            except Exception as exc:  # handed to the operation's own caller
                db.execute("ROLLBACK TO op")
                outcomes.append((False, exc))
            db.execute("RELEASE op")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
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
