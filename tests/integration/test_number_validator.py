"""The optional external number validator: consulted, cached, rate-held, fail-open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2
from sidecar.simulator import SimulatorHandle
from sidecar.testing import start_embedded

pytestmark = pytest.mark.integration

ON = "+16505551234"
OFF = "+14155550123"


@pytest.fixture
async def validator() -> AsyncIterator[tuple[str, list[str]]]:
    """A stand-in validator service: knows OFF is not on WhatsApp; records queries."""
    asked: list[str] = []

    async def check(request: web.Request) -> web.Response:
        number = request.query["number"]
        asked.append(number)
        if number == "+13125550177":
            return web.Response(status=500)
        return web.json_response({"whatsapp": number != OFF})

    app = web.Application()
    app.add_routes([web.get("/check", check)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/check", asked
    finally:
        await runner.cleanup()


def _otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def test_validator_refuses_numbers_without_whatsapp_and_caches_answers(
    tmp_path: Path, simulator: SimulatorHandle, validator: tuple[str, list[str]]
) -> None:
    url, asked = validator
    embedded, stop, task = await start_embedded(
        tmp_path, simulator.url, WA_SIDECAR_NUMBER_VALIDATOR_URL=url
    )
    try:
        refused = await embedded.send.Send(_otp(OFF))
        assert refused.outcome == send_pb2.OUTCOME_REJECTED
        assert refused.decision.reason == common_pb2.REASON_NUMBER_NOT_ON_WHATSAPP
        assert (await embedded.send.Send(_otp(ON))).outcome == send_pb2.OUTCOME_SENT
        assert (await embedded.send.Send(_otp(ON))).outcome == send_pb2.OUTCOME_SENT
        assert (await embedded.send.Check(_otp(OFF))).reason == (
            common_pb2.REASON_NUMBER_NOT_ON_WHATSAPP
        )
        assert asked == [OFF, ON]  # the repeat and the Check came from the cache
        assert simulator.state.stats.received == 2
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


async def test_validator_failure_does_not_block_sending(
    tmp_path: Path, simulator: SimulatorHandle, validator: tuple[str, list[str]]
) -> None:
    url, _ = validator
    embedded, stop, task = await start_embedded(
        tmp_path, simulator.url, WA_SIDECAR_NUMBER_VALIDATOR_URL=url
    )
    try:
        reply = await embedded.send.Send(_otp("+13125550177"))
        assert reply.outcome == send_pb2.OUTCOME_SENT
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0
