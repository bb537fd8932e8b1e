"""Real sidecar processes on one PostgreSQL database (``WA_SIDECAR_STATE_URL``).

Each test gets a fresh database, so the processes also migrate it from
nothing — two of them at once in the replica test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.keys import Keyring
from sidecar.simulator import SimulatorHandle
from sidecar.simulator.webhooks import status_item
from sidecar.stores.postgres_schema import migrations
from sidecar.testing import SidecarProcess, inbound_text, signature, webhook_body

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

USER, USER_WA_ID = "+16505551234", "16505551234"
OTHER = "+14155550123"


def postgres_env(url: str) -> dict[str, str]:
    return {"WA_SIDECAR_STATE_URL": url, "WA_SIDECAR_ENCRYPTION_KEY": Keyring.generate()}


@pytest.fixture
async def fresh_database(postgres_databases: Callable[[], str]) -> AsyncIterator[str]:
    yield postgres_databases()


class Client:
    """The three services of one sidecar process."""

    def __init__(self, proc: SidecarProcess) -> None:
        self.send = send_pb2_grpc.SendServiceStub(proc.channel)
        self.verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)
        self.consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)

    async def grant(self, number: str) -> None:
        await self.consent.Grant(
            consent_pb2.GrantRequest(
                phone_number=number,
                categories=[common_pb2.CATEGORY_MARKETING],
                source="web-form",
                notice_version="v3",
                jurisdiction=consent_pb2.JURISDICTION_GDPR,
                evidence="form-123",
            )
        )

    async def check(self, number: str) -> common_pb2.Decision:
        return await self.send.Check(marketing(number))

    async def webhook(self, body: bytes) -> verify_pb2.WebhookResult:
        return await self.verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
        )


def marketing(number: str, key: str = "") -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=number,
        category=common_pb2.CATEGORY_MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


async def test_replicas_share_consent_and_see_an_opt_out_at_once(
    tmp_path: Path, simulator: SimulatorHandle, fresh_database: str
) -> None:
    env = postgres_env(fresh_database)
    a = SidecarProcess(tmp_path, env, graph_url=simulator.url)
    b = SidecarProcess(tmp_path, env, graph_url=simulator.url)
    try:
        a.start()
        b.start()  # both migrate the empty database at once
        await asyncio.gather(a.ready(), b.ready())
        on_a, on_b = Client(a), Client(b)

        assert (await on_b.check(USER)).reason == common_pb2.REASON_NO_CONSENT
        await on_a.grant(USER)
        assert (await on_b.check(USER)).allowed

        sent = await on_b.send.Send(marketing(USER, key="order-1"))
        assert sent.outcome == send_pb2.OUTCOME_SENT, sent
        [record] = simulator.state.messages_to(USER)
        assert record.biz_opaque_callback_data == "order-1"
        again = await on_a.send.Send(marketing(USER, key="order-1"))  # idempotent across pods
        assert again.message_id == sent.message_id
        assert simulator.state.stats.received == 1

        result = await on_a.webhook(inbound_text(USER_WA_ID, "STOP"))
        assert result.events[0].message.opt_out
        for client in (on_a, on_b):
            decision = await client.check(USER)
            assert (decision.allowed, decision.reason) == (False, common_pb2.REASON_OPTED_OUT)
        refused = await on_b.send.Send(marketing(USER, key="order-2"))
        assert refused.outcome == send_pb2.OUTCOME_REJECTED
        assert simulator.state.stats.received == 1
    finally:
        await asyncio.gather(a.stop(), b.stop())
    assert a.proc is not None and b.proc is not None
    assert (a.proc.returncode, b.proc.returncode) == (0, 0), a.log_text() + b.log_text()

    conn = await asyncpg.connect(fresh_database)
    try:
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_version")]
    finally:
        await conn.close()
    assert sorted(versions) == [v for v, _ in migrations()]


async def test_no_plaintext_phone_number_reaches_any_table(
    tmp_path: Path, simulator: SimulatorHandle, fresh_database: str
) -> None:
    async with SidecarProcess(
        tmp_path, postgres_env(fresh_database), graph_url=simulator.url
    ) as proc:
        client = Client(proc)
        for number in (USER, OTHER):
            await client.grant(number)
            sent = await client.send.Send(marketing(number, key=f"k-{number[-4:]}"))
            assert sent.outcome == send_pb2.OUTCOME_SENT, sent
        delivered = status_item(sent.message_id, "delivered", OTHER.lstrip("+"), 1749416383)
        assert (await client.webhook(webhook_body(delivered, kind="statuses"))).valid
        assert (await client.webhook(inbound_text(USER_WA_ID, "hello"))).valid
        assert (await client.webhook(inbound_text(USER_WA_ID, "STOP"))).valid
        assert (await client.check(USER)).reason == common_pb2.REASON_OPTED_OUT

    dumped = await dump_database(fresh_database)
    for table in ("subjects", "consent_events", "suppression", "windows", "sends", "audit"):
        assert dumped[table], f"no rows in {table}: the traffic did not reach it"
    for number in (USER, OTHER):
        subscriber = number[-7:].encode()  # the digits a mask never shows
        leaks = [table for table, values in dumped.items() for v in values if subscriber in v]
        assert leaks == [], f"{number[-7:]} stored in plaintext in {sorted(set(leaks))}"


async def dump_database(url: str) -> dict[str, list[bytes]]:
    """Every value of every table, as bytes (``bytea`` raw, the rest as text)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        dumped: dict[str, list[bytes]] = {}
        for table in tables:
            rows = await conn.fetch(f"SELECT * FROM {table}")
            dumped[table.strip('"')] = [
                v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row.values()
            ]
        return dumped
    finally:
        await conn.close()
