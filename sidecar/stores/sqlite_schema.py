"""SQLite connection settings and versioned migrations (run on the store's thread).

Migrations are the files ``migrations/sqlite/NNNN_name.sql``, applied in
order of ``NNNN``. ``schema_version`` holds the highest applied number; all
pending files are applied in one ``BEGIN IMMEDIATE`` transaction, so two
processes opening one file at once migrate it exactly once.

Durability: ``journal_mode=WAL`` with ``synchronous=NORMAL`` makes a commit
survive a crash of the *process* (kill -9): the WAL is written before
``COMMIT`` returns, only its fsync is deferred to checkpoints. A power loss
or kernel crash can lose the last few commits; that is the trade we make for
an order of magnitude fewer fsyncs on the send path.
"""

from __future__ import annotations

import sqlite3

from sidecar.stores.shared import bundled_migrations

BUSY_TIMEOUT_MS = 5000
"""How long a writer waits for another process's write lock before failing."""

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    # Temporary b-trees (ORDER BY, GROUP BY) stay off the disk.
    "PRAGMA temp_store = MEMORY",
)


def migrations() -> list[tuple[int, str]]:
    """(version, script) of every bundled sqlite migration, in order."""
    return bundled_migrations("sqlite")


LATEST_VERSION = migrations()[-1][0]


def prepare(db: sqlite3.Connection) -> int:
    """Apply the PRAGMAs and any pending migrations; returns the schema version."""
    for pragma in _PRAGMAS:
        db.execute(pragma)
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] or 0
        if current > LATEST_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {current} is newer than this release ({LATEST_VERSION})"
            )
        for version, script in migrations():
            if version > current:
                for statement in _statements(script):
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                current = version
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return int(current)


def _statements(script: str) -> list[str]:
    """Split a script into statements (``executescript`` would commit early)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer.strip())
    return statements
