"""Token custody: refresh before expiry without failed sends; secrets never leak."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import DEV_APP_SECRET, SidecarProcess, inbound_text, signature, start_embedded

pytestmark = pytest.mark.integration

NUMBERS = [f"+1650555{2000 + i:04d}" for i in range(20)]


def _otp(to: str, key: str = "") -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def test_token_is_refreshed_before_expiry_without_failed_sends(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    expiring = simulator.state.issue_token(3600).token  # due: refresh_before > lifetime
    embedded, stop, task = await start_embedded(
        tmp_path,
        simulator.url,
        WA_SIDECAR_ACCESS_TOKEN=expiring,
        WA_SIDECAR_TOKEN_REFRESH_BEFORE="7200",
    )
    try:
        sends = [asyncio.ensure_future(embedded.send.Send(_otp(n))) for n in NUMBERS]
        await asyncio.wait_for(embedded.runtime.tokens.wait_refreshes(1), 20)
        sends += [asyncio.ensure_future(embedded.send.Send(_otp(n))) for n in NUMBERS[:5]]
        replies = await asyncio.gather(*sends)
        assert {r.outcome for r in replies} == {send_pb2.OUTCOME_SENT}
        assert embedded.runtime.tokens.credentials.token != expiring
        assert embedded.runtime.tokens.expires_at is not None
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


async def test_tokens_secrets_and_numbers_never_reach_logs_or_metrics(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    simulator.state.add_fault(FaultRule(code=190, count=1))
    simulator.state.add_fault(FaultRule(to=NUMBERS[1], code=131026))
    async with SidecarProcess(
        tmp_path, {"WA_SIDECAR_LOG_LEVEL": "DEBUG"}, graph_url=simulator.url
    ) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)
        assert (await send.Send(_otp(NUMBERS[0], "k0"))).outcome == send_pb2.OUTCOME_SENT
        assert (await send.Send(_otp(NUMBERS[1], "k1"))).outcome == send_pb2.OUTCOME_FAILED
        body = inbound_text(NUMBERS[2][1:], "STOP")
        await verify.VerifyWebhook(verify_pb2.WebhookRequest(body=body, signature=signature(body)))
        await verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature="sha256=" + "1" * 64)
        )
        async with aiohttp.ClientSession() as http, http.get(proc.admin_url + "/metrics") as r:
            metrics = await r.text()
        new_tokens = [t for t in simulator.state.tokens if t != proc.env["WA_SIDECAR_ACCESS_TOKEN"]]
        assert new_tokens, "the 190 should have caused a refresh"
    log = proc.log_text()
    assert "token_refreshed" in log
    secrets = [proc.env["WA_SIDECAR_ACCESS_TOKEN"], DEV_APP_SECRET, *new_tokens]
    numbers = list(NUMBERS[:3]) + [n[1:] for n in NUMBERS[:3]]
    for needle in secrets + numbers:
        assert needle not in log, "a secret or number leaked into the logs"
        assert needle not in metrics, "a secret or number leaked into the metrics"
