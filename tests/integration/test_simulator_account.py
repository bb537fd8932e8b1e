"""The simulated account over real HTTP: a number's capacity fields, the limits
that follow its level, and the control endpoint with the webhooks it triggers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from sidecar.simulator import SimulatorHandle, SimulatorSettings, start_simulator

pytestmark = pytest.mark.integration

PID = "106540352242922"
AUTH = {"Authorization": "Bearer dev-token"}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(SimulatorSettings(pair_limit_enabled=False))
    try:
        yield handle
    finally:
        await handle.close()


async def fields(
    http: aiohttp.ClientSession, sim: SimulatorHandle, query: str
) -> dict[str, object]:
    async with http.get(f"{sim.url}/v24.0/{PID}?fields={query}", headers=AUTH) as reply:
        assert reply.status == 200
        data: dict[str, object] = await reply.json()
        return data


async def test_a_number_answers_its_capacity_fields_as_the_account_changes(
    sim: SimulatorHandle,
) -> None:
    query = "throughput,whatsapp_business_manager_messaging_limit,quality_rating,is_on_biz_app"
    async with aiohttp.ClientSession() as http:
        assert await fields(http, sim, query) == {
            "throughput": {"level": "STANDARD"},
            "whatsapp_business_manager_messaging_limit": "TIER_UNLIMITED",
            "quality_rating": "GREEN",
            "is_on_biz_app": False,
            "id": PID,
        }
        change = {"phone_number_id": PID, "throughput": "HIGH", "quality": "RED",
                  "messaging_limit": "TIER_2K"}  # fmt: skip
        async with http.post(f"{sim.url}/_sim/account", json=change) as reply:
            assert reply.status == 200
        assert await fields(http, sim, "throughput,quality_rating") == {
            "throughput": {"level": "HIGH"},
            "quality_rating": "RED",
            "id": PID,
        }
        async with http.post(
            f"{sim.url}/_sim/account", json={"phone_number_id": PID, "throughput": "TURBO"}
        ) as reply:
            assert reply.status == 400  # fmt: skip
        async with http.get(f"{sim.url}/v24.0/{PID}?fields=throughput") as reply:
            assert reply.status == 401  # no token
        async with http.get(f"{sim.url}/_sim/account") as reply:
            account = await reply.json()
    assert account["messaging_limit"] == "TIER_2K"
    assert [r["throughput"] for r in account["reads"]] == ["STANDARD", "HIGH"]


async def test_the_throughput_limit_follows_the_level_and_the_business_app(
    sim: SimulatorHandle,
) -> None:
    body = {"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"}}
    state = sim.state

    async def burst(count: int) -> int:
        accepted = 0
        async with aiohttp.ClientSession() as http:
            for n in range(count):
                sent = {**body, "to": f"+1650555{n:04d}"}
                async with http.post(
                    f"{sim.url}/v24.0/{PID}/messages", json=sent, headers=AUTH
                ) as r:
                    accepted += r.status == 200
        return accepted

    state.account.update(PID, on_business_app=True)
    started = time.monotonic()
    got = await burst(40)
    # 20 msg/s with a bucket of 20: at most 20 plus what refilled meanwhile.
    assert got <= 20 + 20 * (time.monotonic() - started) + 1
    assert state.stats.rejected_by_code[130429] >= 40 - got > 0
