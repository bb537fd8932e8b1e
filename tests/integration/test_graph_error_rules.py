"""Graph error rules end to end: a real sidecar process, the simulator's faults.

What Graph answers is scripted over the simulator's control API (``/_sim/faults``,
matched by recipient, ``count`` expiring a rule); what the sidecar made of it is
read from its gRPC answers and from the requests the simulator received:

* AUTH (190) is retried exactly once, after the token refresh (SPEC §4.8);
* the 131056 pair-limit wait grows while a pair keeps failing and starts over
  after a success to that pair;
* 133016 (register/deregister attempt limit) is THROTTLED with a wait of at
  least an hour: not retried in-call, not dead-lettered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.testing import DEV_APP_SECRET, DEV_TOKEN, PHONE_NUMBER_ID, SidecarProcess

if TYPE_CHECKING:
    from sidecar.simulator import SimulatorHandle

pytestmark = pytest.mark.integration

HOUR = 3600


def otp(key: str, to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def inject(simulator: SimulatorHandle, **rule: Any) -> None:
    """Add a fault rule through the simulator's control API."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{simulator.url}/_sim/faults", json=rule) as reply,
    ):
        assert reply.status == 200, await reply.text()


def requests_for(simulator: SimulatorHandle, code: int) -> int:
    """Sends the simulator answered with ``code``."""
    return simulator.state.stats.rejected_by_code[code]


async def test_auth_is_retried_once_after_the_token_refresh(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    expired, recovers = "+16505551001", "+16505551002"
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as sidecar:
        stub = send_pb2_grpc.SendServiceStub(sidecar.channel)

        # Every attempt is refused: the first, then one with the refreshed token.
        await inject(simulator, to=expired, code=190)
        reply = await stub.Send(otp("auth-always", expired))
        assert requests_for(simulator, 190) == 2
        # The retries of an AUTH failure ran out: dead-lettered for a person to look at.
        assert (reply.outcome, reply.attempts) == (send_pb2.OUTCOME_DEAD_LETTERED, 2)
        assert (reply.error.code, reply.error.error_class) == (190, common_pb2.ERROR_CLASS_AUTH)
        assert simulator.state.messages_to(expired) == []

        # Refused once: the refresh went through at Graph and the retry is sent.
        await inject(simulator, to=recovers, code=190, count=1)
        reply = await stub.Send(otp("auth-once", recovers))
        assert (reply.outcome, reply.attempts) == (send_pb2.OUTCOME_SENT, 2)
        assert requests_for(simulator, 190) == 3
        assert len(simulator.state.messages_to(recovers)) == 1


async def test_the_pair_limit_wait_starts_over_after_a_success_to_the_pair(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    """Without in-call retries each send shows the classification of one
    131056: Meta's wait is 4**x s, x the pair's earlier 131056 answers, and a
    wait beyond the in-call limit (60 s) makes the failure not retryable."""
    pair = "+16505551003"
    env = {"WA_SIDECAR_RETRY_MAX": "0", "WA_SIDECAR_PAIR_BURST": "50"}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as sidecar:
        stub = send_pb2_grpc.SendServiceStub(sidecar.channel)

        async def send(key: str) -> send_pb2.SendResponse:
            return await stub.Send(otp(key, pair))

        await inject(simulator, to=pair, code=131056, count=4)
        growing = [await send(f"pair-{i}") for i in range(4)]
        # 1, 4, 16 s: retryable (the retries ran out); 64 s: past the in-call limit.
        assert [(r.outcome, r.error.code, r.error.retryable) for r in growing] == [
            (send_pb2.OUTCOME_DEAD_LETTERED, 131056, True),
            (send_pb2.OUTCOME_DEAD_LETTERED, 131056, True),
            (send_pb2.OUTCOME_DEAD_LETTERED, 131056, True),
            (send_pb2.OUTCOME_FAILED, 131056, False),
        ]
        assert all(r.error.error_class == common_pb2.ERROR_CLASS_THROTTLED for r in growing)

        delivered = await send("pair-ok")
        assert delivered.outcome == send_pb2.OUTCOME_SENT

        await inject(simulator, to=pair, code=131056, count=1)
        again = await send("pair-again")
        # Back to the first step (1 s), not the fifth (256 s).
        assert (again.outcome, again.error.code, again.error.retryable) == (
            send_pb2.OUTCOME_DEAD_LETTERED,
            131056,
            True,
        )
        assert requests_for(simulator, 131056) == 5
        assert simulator.state.stats.received == 6


async def graph_answer(simulator: SimulatorHandle, to: str) -> tuple[int, bytes]:
    """What Graph (the simulator) answers to a send to ``to``, as received."""
    proof = hmac.new(DEV_APP_SECRET.encode(), DEV_TOKEN.encode(), hashlib.sha256).hexdigest()
    body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{simulator.url}/v24.0/{PHONE_NUMBER_ID}/messages",
            data=json.dumps(body),
            params={"appsecret_proof": proof},
            headers={"Authorization": f"Bearer {DEV_TOKEN}", "Content-Type": "application/json"},
        ) as reply,
    ):
        return reply.status, await reply.read()


async def test_133016_is_a_long_throttle_not_retried_in_call(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    blocked = "+16505551004"
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as sidecar:
        stub = send_pb2_grpc.SendServiceStub(sidecar.channel)
        await inject(simulator, to=blocked, code=133016)

        reply = await stub.Send(otp("register-limit", blocked))
        assert reply.outcome == send_pb2.OUTCOME_FAILED  # nothing a retry could fix soon
        assert (reply.error.code, reply.error.error_class, reply.error.retryable) == (
            133016,
            common_pb2.ERROR_CLASS_THROTTLED,
            False,
        )
        assert reply.attempts == 1
        assert requests_for(simulator, 133016) == 1
        dead = await stub.ListDeadLetters(send_pb2.ListDeadLettersRequest(page_size=10))
        assert list(dead.dead_letters) == []

        # An app calling Graph itself gets the same verdict, with the wait.
        status, body = await graph_answer(simulator, blocked)
        verdict = await stub.Classify(send_pb2.ClassifyRequest(http_status=status, body=body))
        assert (verdict.code, verdict.error_class, verdict.retryable) == (
            133016,
            common_pb2.ERROR_CLASS_THROTTLED,
            False,
        )
        assert verdict.retry_after.seconds >= HOUR
