"""Graph accepts a send, then the store refuses its outcome.

The store fails between the intent (stored) and the outcome: here a trigger
in the real PostgreSQL database refuses to finish ``sends`` rows with
SQLSTATE 57P01, the error a server shutting down sends. The caller must
hear SENT (what Graph said) and not UNAVAILABLE, which would invite a second
send of a message the user already has (or, when Graph gave no usable
answer, may have: IN_DOUBT). The record is stored once the store
takes it again, or, when the sidecar stops first, finished by the message's
status webhook.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.keys import Keyring
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.simulator.webhooks import status_item
from sidecar.testing import SidecarProcess, signature, webhook_body

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

REFUSE_FINISH = """
CREATE FUNCTION wa_test_refuse_finish() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the store is going down' USING ERRCODE = '57P01';
END $$;
CREATE TRIGGER wa_test_refuse_finish BEFORE UPDATE ON sends FOR EACH ROW
    WHEN (NEW.state IN ('done', 'in_doubt')) EXECUTE FUNCTION wa_test_refuse_finish();
"""
ALLOW_FINISH = "DROP TRIGGER wa_test_refuse_finish ON sends"
USER = "+16505551234"


def otp(key: str) -> send_pb2.SendRequest:
    """An AUTHENTICATION template: no consent needed, so only the store decides."""
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=USER,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


class Client:
    def __init__(self, proc: SidecarProcess) -> None:
        self.send = send_pb2_grpc.SendServiceStub(proc.channel)
        self._verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)

    async def webhook(self, body: bytes) -> verify_pb2.WebhookResult:
        return await self._verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
        )


@pytest.fixture
async def database(postgres_databases: Callable[[], str]) -> AsyncIterator[str]:
    yield postgres_databases()


async def sql(url: str, script: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(script)
    finally:
        await conn.close()


async def record_of(url: str, key: str) -> tuple[str, str, str, bool]:
    """state, outcome, message id, and whether a response is stored."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT state, outcome, message_id, response FROM sends WHERE key = $1", key
        )
    finally:
        await conn.close()
    state, outcome, message_id, response = row
    return state, outcome, message_id, bool(response)


async def updated_at(url: str, key: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        return float(await conn.fetchval("SELECT updated_at FROM sends WHERE key = $1", key))
    finally:
        await conn.close()


async def test_a_send_graph_accepted_is_answered_sent_and_stored_when_the_store_is_back(
    tmp_path: Path, simulator: SimulatorHandle, database: str
) -> None:
    async with SidecarProcess(
        tmp_path,
        {"WA_SIDECAR_STATE_URL": database, "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate()},
        graph_url=simulator.url,
    ) as proc:
        client = Client(proc)
        await sql(database, REFUSE_FINISH)

        sent = await client.send.Send(otp("order-1"))
        assert (sent.outcome, bool(sent.message_id)) == (send_pb2.OUTCOME_SENT, True), sent
        assert simulator.state.stats.received == 1
        assert (await record_of(database, "order-1"))[0] == "in_flight"
        # A repeat while the outcome is not stored yet: in doubt, never sent again.
        repeat = await client.send.Send(otp("order-1"))
        assert repeat.outcome == send_pb2.OUTCOME_IN_DOUBT
        assert simulator.state.stats.received == 1

        allowed_at = time.time()
        await sql(database, ALLOW_FINISH)

        async def stored() -> bool:
            return (await record_of(database, "order-1"))[0] == "done"

        await eventually(stored, "the deferred outcome stored", timeout=20.0)
        # Recorded as sent when Graph accepted it, not when the store came back.
        assert await updated_at(database, "order-1") < allowed_at
        # Stored by the sidecar (with its response), not by a status webhook.
        assert await record_of(database, "order-1") == ("done", "sent", sent.message_id, True)
        again = await client.send.Send(otp("order-1"))
        assert (again.outcome, again.message_id) == (send_pb2.OUTCOME_SENT, sent.message_id)
        assert simulator.state.stats.received == 1
        assert "outcome_store_caught_up" in proc.log_text()
    assert proc.proc is not None and proc.proc.returncode == 0


async def test_a_sidecar_stopping_before_the_store_is_back_leaves_it_to_the_status_webhook(
    tmp_path: Path, simulator: SimulatorHandle, database: str
) -> None:
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
    env = {"WA_SIDECAR_STATE_URL": database, "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate()}
    async with SidecarProcess(tmp_path / "first", env, graph_url=simulator.url) as proc:
        client = Client(proc)
        await sql(database, REFUSE_FINISH)
        sent = await client.send.Send(otp("order-2"))
        assert sent.outcome == send_pb2.OUTCOME_SENT, sent
    # The stop did not wait for the store: one last try, then a clean exit.
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log_text()[-4000:]
    assert "outcome_store_abandoned" in proc.log_text()
    assert (await record_of(database, "order-2"))[0] == "in_flight"

    await sql(database, ALLOW_FINISH)
    async with SidecarProcess(tmp_path / "second", env, graph_url=simulator.url) as proc:
        client = Client(proc)
        status = status_item(
            sent.message_id,
            "sent",
            USER.lstrip("+"),
            1749416383,
            biz_opaque_callback_data="order-2",
        )
        assert (await client.webhook(webhook_body(status, kind="statuses"))).valid
        assert (await record_of(database, "order-2"))[:3] == ("done", "sent", sent.message_id)
        again = await client.send.Send(otp("order-2"))
        assert (again.outcome, again.message_id) == (send_pb2.OUTCOME_SENT, sent.message_id)
    assert simulator.state.stats.received == 1


async def test_a_maybe_sent_send_is_answered_in_doubt_and_held_when_the_store_is_back(
    tmp_path: Path, simulator: SimulatorHandle, database: str
) -> None:
    env = {"WA_SIDECAR_STATE_URL": database, "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate()}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        client = Client(proc)
        await sql(database, REFUSE_FINISH)
        # Accepted, then the connection drops: the sidecar cannot know it went out.
        simulator.state.add_fault(
            FaultRule(to=USER, drop_connection=True, drop_after_accept=True, count=1)
        )
        held = await client.send.Send(otp("order-3"))
        assert held.outcome == send_pb2.OUTCOME_IN_DOUBT, held
        assert simulator.state.stats.received == 1
        assert (await record_of(database, "order-3"))[0] == "in_flight"

        await sql(database, ALLOW_FINISH)

        async def in_doubt() -> bool:
            return (await record_of(database, "order-3"))[0] == "in_doubt"

        await eventually(in_doubt, "the deferred in-doubt hold stored", timeout=20.0)
        repeat = await client.send.Send(otp("order-3"))
        assert repeat.outcome == send_pb2.OUTCOME_IN_DOUBT
        assert simulator.state.stats.received == 1
    assert proc.proc is not None and proc.proc.returncode == 0
