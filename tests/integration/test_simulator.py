"""The bundled Graph API simulator, driven over real HTTP on ephemeral ports."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sidecar.policy.signature import SignatureVerifier
from sidecar.simulator import (
    FaultRule,
    SimulatorHandle,
    SimulatorSettings,
    SimulatorState,
    serve_simulator,
    start_simulator,
)
from sidecar.simulator.limits import PairLimiter, ThroughputLimiter

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
PID = "106540352242922"
TO = "+16505551234"
AUTH = {"Authorization": "Bearer dev-token"}
SECRET = b"test_app_secret_do_not_use"
WAIT = 10.0

GRAPH_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "graph"
# Meta's examples, recorded in the fixtures.
SEND_RESPONSE_SAMPLE = json.loads((GRAPH_SAMPLES / "send_response.json").read_text())
ERROR_RESPONSE_SAMPLE = json.loads((GRAPH_SAMPLES / "error_response_130429.json").read_text())


def shape(value: Any) -> Any:
    """The keys and value types of a JSON document, ignoring the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def text_body(to: str = TO, **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "text",
        "text": {"body": "hi"},
    } | extra


def recipient(n: int) -> str:
    return f"+1555{n:07d}"


@asynccontextmanager
async def simulator(**overrides: Any) -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(SimulatorSettings(**overrides))
    try:
        yield handle
    finally:
        await handle.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with simulator() as handle:
        yield handle


async def send(
    session: aiohttp.ClientSession,
    sim: SimulatorHandle,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    pid: str = PID,
    version: str = "v21.0",
    params: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    url = f"{sim.url}/{version}/{pid}/messages"
    payload = text_body() if body is None else body
    async with session.post(
        url, json=payload, headers=AUTH if headers is None else headers, params=params
    ) as response:
        return response.status, await response.json()


class WebhookReceiver:
    """A small aiohttp server that records every webhook POST it gets."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[bytes, str]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/webhook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/webhook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._changed:
            self.posts.append((body, request.headers.get("X-Hub-Signature-256", "")))
            self._changed.notify_all()
        return web.Response(status=self.status)

    def items(self, kind: str) -> list[dict[str, Any]]:
        found = []
        for body, _ in self.posts:
            for entry in json.loads(body)["entry"]:
                for change in entry["changes"]:
                    found.extend(change["value"].get(kind, []))
        return found

    async def wait_for(self, predicate: Callable[[WebhookReceiver], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), WAIT)


# -- the send endpoint --------------------------------------------------------


async def test_success_body_is_shaped_like_metas_send_response(session, sim):
    status, body = await send(session, sim)
    assert status == 200
    assert shape(body) == shape(SEND_RESPONSE_SAMPLE)
    assert body["contacts"] == [{"input": TO, "wa_id": "16505551234"}]
    assert body["messages"][0]["id"].startswith("wamid.")


async def test_every_accepted_message_gets_a_unique_wamid(session, sim):
    replies = await asyncio.gather(
        *(send(session, sim, text_body(recipient(i))) for i in range(50))
    )
    ids = {body["messages"][0]["id"] for _, body in replies}
    assert len(ids) == 50


async def test_any_version_segment_is_accepted_and_others_are_not_found(session, sim):
    assert (await send(session, sim, version="v24.0"))[0] == 200
    async with session.post(f"{sim.url}/latest/{PID}/messages", json=text_body()) as response:
        assert response.status == 404


@pytest.mark.parametrize(
    ("headers", "expected_message"),
    [
        ({}, "(#190) An access token is required to request this resource."),
        ({"Authorization": "Bearer nope"}, "(#190) Invalid OAuth access token"),
    ],
)
async def test_missing_or_unknown_token_is_190_with_http_401(
    session, sim, headers, expected_message
):
    status, body = await send(session, sim, headers=headers)
    assert status == 401
    assert body["error"]["code"] == 190
    assert body["error"]["message"].startswith(expected_message)
    assert body["error"]["type"] == "OAuthException"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not an object", 100),
        (text_body() | {"messaging_product": "sms"}, 100),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "to": TO, "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "to": TO, "type": "text"}, 131008),
        ({"messaging_product": "whatsapp", "to": TO, "type": "text", "text": {}}, 131008),
        ({"messaging_product": "whatsapp", "to": TO, "type": "template", "template": {}}, 131008),
        ({"messaging_product": "whatsapp", "to": TO, "type": "hologram", "hologram": {}}, 131051),
    ],
)
async def test_malformed_sends_are_refused_with_http_400(session, sim, body, code):
    status, answer = await send(session, sim, body)
    assert status == 400
    assert answer["error"]["code"] == code
    assert answer["error"]["message"].startswith(f"(#{code}) ")


async def test_a_body_that_is_not_json_is_code_100(session, sim):
    url = f"{sim.url}/v21.0/{PID}/messages"
    async with session.post(url, data=b"{oops", headers=AUTH) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == 100


# -- rate limits ----------------------------------------------------------------


async def test_past_80_messages_per_second_one_number_gets_130429(session, sim):
    started = time.monotonic()
    replies = await asyncio.gather(
        *(send(session, sim, text_body(recipient(i))) for i in range(400))
    )
    elapsed = time.monotonic() - started
    accepted = [body for status, body in replies if status == 200]
    refused = [body for status, body in replies if status != 200]
    assert 80 <= len(accepted) <= 80 + 80 * elapsed + 1
    assert refused
    assert {body["error"]["code"] for body in refused} == {130429}
    assert {status for status, _ in replies} == {200, 429}
    assert shape(refused[0]) == shape(ERROR_RESPONSE_SAMPLE)
    assert refused[0]["error"]["message"] == "(#130429) Rate limit hit"
    stats = sim.state.stats
    assert stats.rejected_by_code[130429] == len(refused)
    assert stats.accepted_by_phone_number_id[PID] == len(accepted)


async def test_the_throughput_limit_is_per_phone_number(session, sim):
    replies = await asyncio.gather(
        *(send(session, sim, text_body(recipient(i)), pid=str(1000 + i % 5)) for i in range(400))
    )
    assert all(status == 200 for status, _ in replies)


async def test_no_130429_when_the_throughput_limit_is_disabled(session):
    async with simulator(throughput_enabled=False) as sim:
        replies = await asyncio.gather(
            *(send(session, sim, text_body(recipient(i))) for i in range(400))
        )
    assert all(status == 200 for status, _ in replies)


async def test_pair_limit_allows_a_burst_of_45_then_answers_131056(session, sim):
    statuses = [(await send(session, sim))[0] for _ in range(45)]
    assert statuses == [200] * 45
    status, body = await send(session, sim)
    assert (status, body["error"]["code"]) == (429, 131056)
    assert (await send(session, sim, text_body("+447700900123")))[0] == 200


async def test_pair_limit_can_be_disabled_over_the_control_api(session, sim):
    async with session.post(f"{sim.url}/_sim/config", json={"pair_limit_enabled": False}) as r:
        assert (await r.json())["pair_limit_enabled"] is False
    statuses = [(await send(session, sim))[0] for _ in range(60)]
    assert statuses == [200] * 60


def test_token_bucket_refills_at_its_rate_up_to_the_burst():
    bucket = ThroughputLimiter(rate=10.0)
    assert [bucket.allow("n", 0.0) for _ in range(11)] == [True] * 10 + [False]
    assert bucket.allow("n", 0.1)
    assert not bucket.allow("n", 0.1)
    assert [bucket.allow("n", 100.0) for _ in range(11)] == [True] * 10 + [False]


def test_gcra_pair_limit_borrows_from_the_future():
    pair = PairLimiter(interval=6.0, burst=45)
    key = (PID, "16505551234")
    assert all(pair.allow(key, 0.0) for _ in range(45))
    assert not pair.allow(key, 5.9)
    assert pair.allow(key, 6.0)
    assert not pair.allow(key, 11.9)
    assert pair.allow(key, 12.0)


# -- fault injection --------------------------------------------------------------


async def test_an_injected_error_hits_only_its_recipient(session, sim):
    async with session.post(
        f"{sim.url}/_sim/faults", json={"to": TO, "code": 131026, "http_status": 400}
    ) as response:
        assert (await response.json())["id"]
    status, body = await send(session, sim)
    assert (status, body["error"]["code"]) == (400, 131026)
    assert (await send(session, sim, text_body("+447700900123")))[0] == 200


async def test_an_injected_error_expires_after_count_matches(session, sim):
    sim.state.add_fault(FaultRule(code=131000, count=2))
    statuses = [(await send(session, sim, text_body(recipient(i))))[0] for i in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert sim.state.stats.rejected_by_code[131000] == 2


async def test_an_injected_error_by_phone_number_id_spares_other_numbers(session, sim):
    sim.state.add_fault(FaultRule(phone_number_id="222", code=131016))
    assert (await send(session, sim, pid="222"))[0] == 503
    assert (await send(session, sim, pid="333"))[0] == 200


async def test_probabilistic_faults_follow_the_seeded_random_sequence(session):
    async with simulator(seed=1234) as sim:
        sim.state.add_fault(FaultRule(code=131000, probability=0.5))
        statuses = [(await send(session, sim, text_body(recipient(i))))[0] for i in range(40)]
    rng = random.Random(1234)
    expected = [500 if rng.random() < 0.5 else 200 for _ in range(40)]
    assert statuses == expected
    assert 0 < statuses.count(500) < 40


async def test_clearing_faults_restores_normal_answers(session, sim):
    sim.state.add_fault(FaultRule(code=131000))
    async with session.delete(f"{sim.url}/_sim/faults") as response:
        assert response.status == 200
    assert (await send(session, sim))[0] == 200


async def test_injected_latency_delays_the_answer(session, sim):
    sim.state.add_fault(FaultRule(to=TO, latency_ms=300))
    started = time.monotonic()
    status, _ = await send(session, sim)
    assert status == 200
    assert time.monotonic() - started >= 0.3


async def test_fixed_latency_from_config_delays_every_send(session, sim):
    sim.state.configure({"latency_ms": 200})
    started = time.monotonic()
    assert (await send(session, sim))[0] == 200
    assert time.monotonic() - started >= 0.2


async def test_drop_connection_is_a_client_side_connection_error(session, sim):
    sim.state.add_fault(FaultRule(to=TO, drop_connection=True, count=1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await send(session, sim)
    assert sim.state.stats.dropped_connections == 1
    assert sim.state.stats.accepted == 0
    assert (await send(session, sim))[0] == 200


async def test_drop_after_accept_loses_the_answer_of_an_accepted_message(session, sim):
    sim.state.add_fault(FaultRule(drop_connection=True, drop_after_accept=True, count=1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await send(session, sim)
    assert [m.wa_id for m in sim.state.messages_to(TO)] == ["16505551234"]


async def test_faults_can_be_listed_and_removed_one_by_one(session, sim):
    first = sim.state.add_fault(FaultRule(to=TO, code=131026))
    sim.state.add_fault(FaultRule(to="+447700900123", code=131026, count=3))
    async with session.get(f"{sim.url}/_sim/faults") as response:
        listed = (await response.json())["faults"]
    assert [(f["id"], f["remaining"]) for f in listed] == [(first, None), ("fault-2", 3)]
    async with session.delete(f"{sim.url}/_sim/faults/{first}") as response:
        assert response.status == 200
    async with session.delete(f"{sim.url}/_sim/faults/{first}") as response:
        assert response.status == 404
    assert (await send(session, sim))[0] == 200
    assert (await send(session, sim, text_body("+447700900123")))[0] == 400


async def test_the_control_api_refuses_a_meaningless_fault(session, sim):
    for rule in ({}, {"code": 1, "probability": 2}, {"async_status": True}, {"bogus": 1}):
        async with session.post(f"{sim.url}/_sim/faults", json=rule) as response:
            assert response.status == 400
            assert "error" in await response.json()


# -- webhooks ---------------------------------------------------------------------


async def test_status_webhooks_are_signed_ordered_and_echo_the_callback_data(session):
    async with (
        WebhookReceiver() as receiver,
        simulator(app_secret=SECRET, webhook_url=receiver.url) as sim,
    ):
        status, body = await send(session, sim, text_body(biz_opaque_callback_data="key-1"))
        assert status == 200
        await receiver.wait_for(lambda r: len(r.items("statuses")) >= 3)
    verifier = SignatureVerifier([SECRET])
    assert all(verifier.verify(raw, header).ok for raw, header in receiver.posts)
    statuses = receiver.items("statuses")
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {body["messages"][0]["id"]}
    assert {s["biz_opaque_callback_data"] for s in statuses} == {"key-1"}
    assert {s["recipient_id"] for s in statuses} == {"16505551234"}
    minimal = json.loads((SAMPLES / "status_v24_minimal.json").read_bytes())
    sample = json.loads((SAMPLES / "status_sent.json").read_bytes())
    payload = json.loads(receiver.posts[0][0])
    assert shape(payload)["entry"][0]["changes"][0]["value"]["metadata"] == shape(
        minimal["entry"][0]["changes"][0]["value"]["metadata"]
    )
    sample_status = sample["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert set(minimal["entry"][0]["changes"][0]["value"]["statuses"][0]) <= set(statuses[0])
    assert shape(statuses[0]["pricing"]) == shape(sample_status["pricing"])


async def test_status_webhooks_are_batched_when_they_queue_up(session):
    async with (
        WebhookReceiver() as receiver,
        simulator(app_secret=SECRET, webhook_url=receiver.url, pair_limit_enabled=False) as sim,
    ):
        await asyncio.gather(*(send(session, sim, text_body(recipient(i))) for i in range(60)))
        await receiver.wait_for(lambda r: len(r.items("statuses")) >= 180)
    assert len(receiver.posts) < 180
    assert len(receiver.items("statuses")) == 180


async def test_an_async_131050_arrives_as_a_failed_status(session):
    async with (
        WebhookReceiver() as receiver,
        simulator(app_secret=SECRET, webhook_url=receiver.url) as sim,
    ):
        sim.state.add_fault(FaultRule(to=TO, code=131050, async_status=True))
        status, body = await send(session, sim, text_body(biz_opaque_callback_data="k"))
        assert status == 200
        await receiver.wait_for(lambda r: bool(r.items("statuses")))
        assert sim.state.stats.async_failed_by_code[131050] == 1
    (failed,) = receiver.items("statuses")
    assert failed["status"] == "failed"
    assert failed["id"] == body["messages"][0]["id"]
    assert failed["biz_opaque_callback_data"] == "k"
    assert failed["errors"][0]["code"] == 131050
    sample = json.loads((SAMPLES / "status_failed_131050_CONSTRUCTED.json").read_bytes())
    sample_status = sample["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert shape(failed["errors"]) == shape(sample_status["errors"])
    assert failed["errors"][0]["title"] == sample_status["errors"][0]["title"]


async def test_an_unreachable_or_failing_webhook_receiver_never_breaks_sending(session):
    async with (
        WebhookReceiver(status=500) as receiver,
        simulator(app_secret=SECRET, webhook_url=receiver.url) as sim,
    ):
        assert (await send(session, sim))[0] == 200
        await receiver.wait_for(lambda r: bool(r.posts))
        assert await sim.state.webhooks.flush(within=WAIT)
        assert sim.state.webhooks.counters.posts_failed >= 1
        sim.state.configure({"webhook_url": "http://127.0.0.1:9/nothing-listens"})
        assert (await send(session, sim, text_body("+447700900123")))[0] == 200
        assert await sim.state.webhooks.flush(within=WAIT)
        assert (await send(session, sim, text_body("+447700900124")))[0] == 200


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        ({"text": "Does it come in another color?"}, "inbound_text_message.json"),
        (
            {"button_payload": "Unsubscribe", "context_id": "wamid.X"},
            "inbound_template_quick_reply_button.json",
        ),
    ],
)
async def test_inbound_messages_are_delivered_signed_and_meta_shaped(
    session, request_body, expected
):
    async with (
        WebhookReceiver() as receiver,
        simulator(app_secret=SECRET, webhook_url=receiver.url) as sim,
    ):
        command = {"from": "16505551234", "phone_number_id": PID, "name": "Sheena"}
        async with session.post(f"{sim.url}/_sim/inbound", json=command | request_body) as r:
            assert r.status == 200
            wamid = (await r.json())["id"]
        await receiver.wait_for(lambda r: bool(r.posts))
    raw, header = receiver.posts[0]
    assert SignatureVerifier([SECRET]).verify(raw, header).ok
    sample = json.loads((SAMPLES / expected).read_bytes())
    got = json.loads(raw)
    assert shape(got) == shape(sample)
    assert got["entry"][0]["changes"][0]["value"]["messages"][0]["id"] == wamid


# -- tokens and appsecret_proof ------------------------------------------------------


async def test_token_exchange_issues_a_new_token_and_keeps_the_old_one(session, sim):
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": sim.state.settings.app_id,
        "client_secret": sim.state.settings.client_secret,
        "fb_exchange_token": "dev-token",
    }
    async with session.get(f"{sim.url}/v21.0/oauth/access_token", params=params) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 5183944
    fresh = {"Authorization": f"Bearer {answer['access_token']}"}
    assert (await send(session, sim, headers=fresh))[0] == 200
    assert (await send(session, sim, headers=AUTH))[0] == 200


async def test_token_exchange_refuses_a_wrong_secret_or_an_unknown_token(session, sim):
    base = {
        "grant_type": "fb_exchange_token",
        "client_id": sim.state.settings.app_id,
        "client_secret": sim.state.settings.client_secret,
    }
    url = f"{sim.url}/v21.0/oauth/access_token"
    async with session.get(url, params=base | {"fb_exchange_token": "stolen"}) as response:
        assert (await response.json())["error"]["code"] == 190
    wrong = base | {"client_secret": "guess", "fb_exchange_token": "dev-token"}
    async with session.get(url, params=wrong) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == 1


async def test_an_expired_token_is_refused_with_190_and_cannot_be_exchanged(session, sim):
    async with session.post(f"{sim.url}/_sim/tokens", json={"expires_in": -1}) as response:
        expired = (await response.json())["access_token"]
    status, body = await send(session, sim, headers={"Authorization": f"Bearer {expired}"})
    assert (status, body["error"]["code"]) == (401, 190)
    assert "expired" in body["error"]["message"]
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": sim.state.settings.app_id,
        "client_secret": sim.state.settings.client_secret,
        "fb_exchange_token": expired,
    }
    async with session.get(f"{sim.url}/v21.0/oauth/access_token", params=params) as response:
        assert (await response.json())["error"]["code"] == 190


async def test_debug_token_describes_permanent_and_expiring_tokens(session, sim):
    expiring = sim.state.issue_token(3600).token
    url = f"{sim.url}/v21.0/debug_token"
    async with session.get(url, params={"input_token": "dev-token"}, headers=AUTH) as response:
        permanent = (await response.json())["data"]
    assert set(permanent) >= {
        "app_id", "type", "application", "expires_at", "issued_at", "is_valid", "scopes", "user_id"
    }  # fmt: skip
    assert (permanent["type"], permanent["expires_at"], permanent["is_valid"]) == (
        "SYSTEM_USER",
        0,
        True,
    )
    assert "whatsapp_business_messaging" in permanent["scopes"]
    async with session.get(url, params={"input_token": expiring}, headers=AUTH) as response:
        data = (await response.json())["data"]
    assert data["is_valid"] is True
    assert time.time() + 3500 < data["expires_at"] <= time.time() + 3601


async def test_debug_token_takes_an_app_token_and_reports_unknown_tokens_invalid(session, sim):
    settings = sim.state.settings
    url = f"{sim.url}/v21.0/debug_token"
    params = {
        "input_token": "forged",
        "access_token": f"{settings.app_id}|{settings.client_secret}",
    }
    async with session.get(url, params=params) as response:
        data = (await response.json())["data"]
    assert (data["is_valid"], data["error"]["code"]) == (False, 190)
    async with session.get(url, params={"input_token": "dev-token"}) as response:
        assert (response.status, (await response.json())["error"]["code"]) == (401, 190)


async def test_appsecret_proof_when_required_must_be_present_and_right(session):
    async with simulator(app_secret=SECRET, require_appsecret_proof=True) as sim:
        status, body = await send(session, sim)
        assert (status, body["error"]["code"]) == (400, 100)
        assert body["error"]["message"] == (
            "API calls from the server require an appsecret_proof argument"
        )
        wrong = {"appsecret_proof": "0" * 64}
        assert (await send(session, sim, params=wrong))[1]["error"]["code"] == 100
        proof = hmac.new(SECRET, b"dev-token", hashlib.sha256).hexdigest()
        assert (await send(session, sim, params={"appsecret_proof": proof}))[0] == 200
        in_body = text_body("+447700900123", appsecret_proof=proof)
        assert (await send(session, sim, in_body))[0] == 200


def test_the_expected_proof_matches_the_local_test_vector():
    vector = json.loads((SAMPLES / "signature_test_vectors.json").read_bytes())
    proof_vector = vector["appsecret_proof_vector"]
    state = SimulatorState(SimulatorSettings(app_secret=proof_vector["app_secret"].encode()))
    assert state.expected_proof(proof_vector["access_token"]) == proof_vector["appsecret_proof"]


# -- stats, messages, control --------------------------------------------------------


async def test_stats_count_by_code_number_recipient_and_second(session, sim):
    sim.state.add_fault(FaultRule(to="+447700900999", code=131026))
    for to in (TO, TO, "+447700900123", "+447700900999"):
        await send(session, sim, text_body(to))
    async with session.get(f"{sim.url}/_sim/stats") as response:
        stats = await response.json()
    assert (stats["received"], stats["accepted"], stats["rejected"]) == (4, 3, 1)
    assert stats["rejected_by_code"] == {"131026": 1}
    assert stats["accepted_by_phone_number_id"] == {PID: 3}
    assert stats["accepted_by_recipient"] == {"16505551234": 2, "447700900123": 1}
    assert stats["max_accepted_per_recipient"] == 2
    assert sum(stats["accepted_per_second"].values()) == 3


async def test_messages_are_listed_with_callback_data_and_filtered_by_recipient(session, sim):
    await send(session, sim, text_body(biz_opaque_callback_data="order-7"))
    await send(session, sim, text_body("+447700900123"))
    async with session.get(f"{sim.url}/_sim/messages", params={"to": "16505551234"}) as r:
        listed = await r.json()
    assert listed["count"] == 1
    (message,) = listed["messages"]
    assert (message["to"], message["phone_number_id"], message["type"]) == (TO, PID, "text")
    assert message["biz_opaque_callback_data"] == "order-7"
    assert message["wamid"].startswith("wamid.")
    assert message["accepted_monotonic"] <= time.monotonic()


async def test_the_message_list_is_capped_but_counters_stay_exact(session):
    async with simulator(max_stored_messages=5) as sim:
        for i in range(8):
            await send(session, sim, text_body(recipient(i)))
        assert len(sim.state.messages) == 5
        assert sim.state.stats.accepted == 8
        assert len(sim.state.stats.accepted_by_recipient) == 8


async def test_reset_clears_counters_limits_messages_faults_and_config(session, sim):
    sim.state.add_fault(FaultRule(to="+447700900999", code=131026))
    sim.state.configure({"latency_ms": 5, "throughput_per_second": 1})
    for _ in range(3):
        await send(session, sim)
    async with session.post(f"{sim.url}/_sim/reset") as response:
        assert response.status == 200
    assert sim.state.stats.received == 0
    assert not sim.state.messages
    assert not sim.state.faults
    assert sim.state.config.latency_ms == 0
    assert (await send(session, sim, text_body("+447700900999")))[0] == 200


async def test_config_refuses_unknown_settings_and_wrong_types(session, sim):
    for change in ({"nope": 1}, {"latency_ms": "slow"}, {"throughput_per_second": 0}):
        async with session.post(f"{sim.url}/_sim/config", json=change) as response:
            assert response.status == 400
    assert sim.state.config.throughput_per_second == 80


async def test_serve_simulator_runs_until_cancelled():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listening = asyncio.Event()

    class OnListening(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "listening" in record.getMessage():
                listening.set()

    sim_logger = logging.getLogger("sidecar.simulator.server")
    handler = OnListening()
    sim_logger.addHandler(handler)
    previous_level = sim_logger.level
    sim_logger.setLevel(logging.INFO)
    task = asyncio.create_task(serve_simulator(SimulatorSettings(port=port)))
    try:
        await asyncio.wait_for(listening.wait(), WAIT)
        async with (
            aiohttp.ClientSession() as client,
            client.post(
                f"http://127.0.0.1:{port}/v21.0/{PID}/messages", json=text_body(), headers=AUTH
            ) as response,
        ):
            assert response.status == 200
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sim_logger.removeHandler(handler)
        sim_logger.setLevel(previous_level)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as client:
            await client.get(f"http://127.0.0.1:{port}/_sim/stats")
