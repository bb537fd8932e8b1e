"""`wa-sidecar audit verify` against a tampered SQLite file, and the
VerifyAudit RPC giving the same verdict."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2
from sidecar.stores.audit_chain import DELETED, INSERTED, MODIFIED, REORDERED, entry_hash
from sidecar.testing import Embedded

pytestmark = pytest.mark.integration

ENTRIES = 6


async def audit_verify(db: Path) -> tuple[int, dict[str, Any], str]:
    """Run the CLI in its own process with only the state URL configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_SIDECAR_")}
    env["WA_SIDECAR_STATE_URL"] = f"sqlite:///{db}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sidecar",
        "audit",
        "verify",
        env=env,
        cwd=db.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, json.loads(out.decode().strip().splitlines()[-1]), err.decode()


def raw(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Edit the file behind the sidecar's back, as someone with disk access would."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            for sql, params in statements:
                conn.execute(sql, params)
    finally:
        conn.close()


def row(db: Path, seq: int) -> tuple[Any, ...]:
    conn = sqlite3.connect(db)
    try:
        found: tuple[Any, ...] = conn.execute(
            "SELECT seq, time, actor, action, subject_index, detail_json, prev_hash, hash"
            " FROM audit WHERE seq = ?",
            (seq,),
        ).fetchone()
        return found
    finally:
        conn.close()


@pytest.fixture
async def logged(sidecar: Embedded) -> tuple[Embedded, Path]:
    """A sidecar whose audit log holds ENTRIES entries from real RPCs."""
    for i in range(ENTRIES - 1):
        await sidecar.consent.Grant(
            consent_pb2.GrantRequest(
                phone_number=f"+1415555{i:04d}",
                categories=[common_pb2.CATEGORY_MARKETING],
                source="web-form",
            )
        )
    await sidecar.consent.Revoke(
        consent_pb2.RevokeRequest(phone_number="+14155550000", source="crm")
    )
    db = Path(sidecar.settings.state_url.removeprefix("sqlite:///"))
    return sidecar, db


def modify(db: Path) -> None:
    raw(db, ("UPDATE audit SET detail_json = ? WHERE seq = 3", ('{"source":"forged"}',)))


def modify_and_rehash(db: Path) -> None:
    # The forger recomputes the edited entry's own hash; the next entry's link breaks.
    _, time, actor, action, subject_index, _, prev, _ = row(db, 3)
    forged = '{"categories":[],"source":"forged"}'
    digest = entry_hash(prev, 3, time, actor, action, subject_index, forged)
    raw(db, ("UPDATE audit SET detail_json = ?, hash = ? WHERE seq = 3", (forged, digest)))


def delete(db: Path) -> None:
    raw(db, ("DELETE FROM audit WHERE seq = 3", ()))


def reorder(db: Path) -> None:
    raw(
        db,
        ("UPDATE audit SET seq = -2 WHERE seq = 2", ()),
        ("UPDATE audit SET seq = 2 WHERE seq = 4", ()),
        ("UPDATE audit SET seq = 4 WHERE seq = -2", ()),
    )


def insert(db: Path) -> None:
    prev = row(db, 2)[7]
    forged = entry_hash(prev, 3, 2.5, "mallory", "consent.grant", "", "{}")
    shifts = [
        ("UPDATE audit SET seq = seq + 1 WHERE seq = ?", (seq,)) for seq in range(ENTRIES, 2, -1)
    ]
    raw(
        db,
        *shifts,
        (
            "INSERT INTO audit (seq, time, actor, action, subject_index, detail_json,"
            " prev_hash, hash) VALUES (3, 2.5, 'mallory', 'consent.grant', '', '{}', ?, ?)",
            (prev, forged),
        ),
    )


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (modify, 3, MODIFIED),
        (modify_and_rehash, 3, MODIFIED),
        (delete, 3, DELETED),
        (reorder, 2, REORDERED),
        (insert, 3, INSERTED),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
async def test_tampering_fails_the_cli_naming_the_entry_and_the_rpc_agrees(
    logged: tuple[Embedded, Path], tamper: Callable[[Path], None], bad_seq: int, problem: str
) -> None:
    sidecar, db = logged
    tamper(db)
    code, verdict, err = await audit_verify(db)
    assert code != 0
    assert (verdict["ok"], verdict["first_bad_seq"], verdict["problem"]) == (
        False,
        bad_seq,
        problem,
    )
    assert f"seq={bad_seq}" in err and problem in err
    rpc = await sidecar.consent.VerifyAudit(consent_pb2.VerifyAuditRequest())
    assert (rpc.ok, rpc.first_bad_seq, rpc.problem) == (False, bad_seq, problem)
    assert rpc.entries_checked == verdict["entries_checked"]


async def test_an_intact_log_passes_the_cli_and_the_rpc(logged: tuple[Embedded, Path]) -> None:
    sidecar, db = logged
    code, verdict, err = await audit_verify(db)
    assert code == 0, err
    assert (verdict["ok"], verdict["entries_checked"]) == (True, ENTRIES)
    rpc = await sidecar.consent.VerifyAudit(consent_pb2.VerifyAuditRequest())
    assert (rpc.ok, rpc.entries_checked, rpc.head_hash) == (
        True,
        ENTRIES,
        verdict["head_hash"],
    )
    assert rpc.head_hash == row(db, ENTRIES)[7]
    # Appending after a verify keeps the chain intact.
    await sidecar.consent.Get(consent_pb2.GetRequest(phone_number="+14155550001"))
    await sidecar.consent.ExportSubject(
        consent_pb2.ExportSubjectRequest(phone_number="+14155550001")
    )
    code, verdict, _ = await audit_verify(db)
    assert (code, verdict["entries_checked"]) == (0, ENTRIES + 1)
