"""The verify bench's floor servers do the work their ceilings claim.

``bench.verify`` divides the throughput of ``bench.empty_server --verify
floor`` / ``floor-durable`` by the empty handler's and calls the result the
best any verifier could reach here. That is only true if the floors really
check the signature, answer every event, and (durable) commit each status
before answering, once: this runs them as the bench does and looks.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from sidecar.api._gen.wasidecar.v1 import verify_pb2, verify_pb2_grpc
from sidecar.simulator.webhooks import status_item
from sidecar.testing import signature, webhook_body

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def floor_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    port = _free_port()
    args = [a.replace("{db}", str(tmp_path / "floor.db")) for a in request.param]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.empty_server", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        assert b"Traceback" not in err, err.decode(errors="replace")


def _delivery(tag: str) -> bytes:
    items = [
        status_item(f"wamid.floor-{tag}-{i}", "delivered", f"1650200{i:04d}", 1_700_000_000)
        for i in range(3)
    ]
    return webhook_body(*items, kind="statuses")


async def _verify(address: str, body: bytes, sig: str) -> verify_pb2.WebhookResult:
    async with grpc.aio.insecure_channel(address) as channel:
        await channel.channel_ready()
        stub = verify_pb2_grpc.VerifyServiceStub(channel)
        result: verify_pb2.WebhookResult = await stub.VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature=sig)
        )
        return result


@pytest.mark.parametrize("floor_server", [("--verify", "floor")], indirect=True)
async def test_the_pure_floor_checks_the_signature_and_answers_every_event(
    floor_server: str,
) -> None:
    body = _delivery("pure")
    good = await _verify(floor_server, body, signature(body))
    assert good.valid and len(good.events) == 3
    assert {e.status.id for e in good.events} == {f"wamid.floor-pure-{i}" for i in range(3)}
    bad = await _verify(floor_server, body + b" ", signature(body))
    assert not bad.valid and bad.reason == verify_pb2.REJECTION_BAD_SIGNATURE


@pytest.mark.parametrize(
    "floor_server", [("--verify", "floor-durable", "--db", "{db}")], indirect=True
)
async def test_the_durable_floor_commits_each_status_once_before_answering(
    floor_server: str, tmp_path: Path
) -> None:
    body = _delivery("durable")
    for _ in range(2):  # a replay must not add rows
        result = await _verify(floor_server, body, signature(body))
        assert result.valid and len(result.events) == 3
    with sqlite3.connect(tmp_path / "floor.db") as conn:
        rows = conn.execute("SELECT message_id, status FROM statuses ORDER BY 1").fetchall()
    assert rows == [(f"wamid.floor-durable-{i}", "delivered") for i in range(3)]
