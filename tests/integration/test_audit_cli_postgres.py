"""`wa-sidecar audit verify` against a tampered PostgreSQL audit table."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2
from sidecar.crypto.keys import Keyring
from sidecar.simulator import SimulatorHandle
from sidecar.stores.audit_chain import DELETED, MODIFIED, REORDERED
from sidecar.testing import start_embedded

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ENTRIES = 5


async def audit_verify(env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sidecar",
        "audit",
        "verify",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, json.loads(out.decode().strip().splitlines()[-1]), err.decode()


@pytest.fixture
async def logged(
    tmp_path: Path, simulator: SimulatorHandle, postgres_databases: Callable[[], str]
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A fresh database whose audit log holds ENTRIES entries from real RPCs."""
    url = postgres_databases()
    key = Keyring.generate()
    embedded, stop, task = await start_embedded(
        tmp_path, simulator.url, WA_SIDECAR_STATE_URL=url, WA_SIDECAR_ENCRYPTION_KEY=key
    )
    try:
        for i in range(ENTRIES):
            await embedded.consent.Grant(
                consent_pb2.GrantRequest(
                    phone_number=f"+1415555{i:04d}",
                    categories=[common_pb2.CATEGORY_MARKETING],
                    source="web-form",
                )
            )
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_SIDECAR_")}
    env.update({"WA_SIDECAR_STATE_URL": url, "WA_SIDECAR_ENCRYPTION_KEY": key})
    yield url, env


async def raw(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("statements", "bad_seq", "problem"),
    [
        (('UPDATE audit SET detail_json = \'{"source":"forged"}\' WHERE seq = 3',), 3, MODIFIED),
        (("DELETE FROM audit WHERE seq = 3",), 3, DELETED),
        (
            (
                "UPDATE audit SET seq = -2 WHERE seq = 2",
                "UPDATE audit SET seq = 2 WHERE seq = 4",
                "UPDATE audit SET seq = 4 WHERE seq = -2",
            ),
            2,
            REORDERED,
        ),
    ],
    ids=["modify", "delete", "reorder"],
)
async def test_tampered_postgres_audit_fails_the_cli_naming_the_entry(
    logged: tuple[str, dict[str, str]], statements: tuple[str, ...], bad_seq: int, problem: str
) -> None:
    url, env = logged
    code, verdict, _ = await audit_verify(env)
    assert (code, verdict["ok"], verdict["entries_checked"]) == (0, True, ENTRIES)
    await raw(url, *statements)
    code, verdict, err = await audit_verify(env)
    assert code != 0
    assert (verdict["ok"], verdict["first_bad_seq"], verdict["problem"]) == (
        False,
        bad_seq,
        problem,
    )
    assert f"seq={bad_seq}" in err
