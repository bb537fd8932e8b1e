"""Quota shadow mode (``WA_SIDECAR_QUOTA_SHADOW_MODE``): count, don't enforce.

One sidecar with tiny quotas — a token every 100 s, one message per recipient
per 10 min, two unique recipients per 24 h — gets the same five sends with
shadow mode off and on. Off, the rules refuse four of them (taking nothing:
the tier still has room afterwards); on, all five reach
the simulator and ``wa_sidecar_quota_shadow_refusals_total{rule}`` counts
exactly the refusals that were waived.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2
from sidecar.simulator import SimulatorHandle
from sidecar.testing import Embedded, start_embedded

pytestmark = pytest.mark.integration

A, B, C = "+16505550101", "+16505550102", "+16505550103"
SENDS = (A, A, A, B, C)
TINY_QUOTAS = {
    "WA_SIDECAR_SEND_RATE": "0.01",  # one token per 100 s: only the burst is available
    "WA_SIDECAR_SEND_BURST": "1",
    "WA_SIDECAR_SEND_MAX_WAIT": "0",  # no token now is a refusal, not a wait
    "WA_SIDECAR_PAIR_INTERVAL": "600",
    "WA_SIDECAR_PAIR_BURST": "1",
    "WA_SIDECAR_MESSAGING_LIMIT": "2",
}
SHADOW = "wa_sidecar_quota_shadow_refusals_total"


def otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


@pytest.fixture
async def tiny_quota_sidecar(
    tmp_path: Path, simulator: SimulatorHandle, request: pytest.FixtureRequest
) -> AsyncIterator[Embedded]:
    shadow = "true" if request.param else "false"
    env = {**TINY_QUOTAS, "WA_SIDECAR_QUOTA_SHADOW_MODE": shadow}
    embedded, stop, task = await start_embedded(tmp_path, simulator.url, **env)
    try:
        yield embedded
    finally:
        await embedded.channel.close()
        stop.set()
        assert await task == 0


def shadow_refusals(embedded: Embedded) -> dict[str, float]:
    registry = embedded.runtime.metrics.registry
    rules = ("pair_limit", "send_rate", "messaging_tier")
    return {rule: registry.get_sample_value(SHADOW, {"rule": rule}) or 0.0 for rule in rules}


@pytest.mark.parametrize("tiny_quota_sidecar", [False], indirect=True)
async def test_without_shadow_mode_the_tiny_quotas_refuse(
    tiny_quota_sidecar: Embedded, simulator: SimulatorHandle
) -> None:
    replies = [await tiny_quota_sidecar.send.Send(otp(to)) for to in SENDS]

    assert [(r.outcome, r.decision.reason) for r in replies] == [
        (send_pb2.OUTCOME_SENT, common_pb2.REASON_UNSPECIFIED),
        (send_pb2.OUTCOME_REJECTED, common_pb2.REASON_PAIR_RATE_LIMITED),
        (send_pb2.OUTCOME_REJECTED, common_pb2.REASON_PAIR_RATE_LIMITED),
        (send_pb2.OUTCOME_REJECTED, common_pb2.REASON_QUOTA_EXHAUSTED),
        # B's refusal took no tier slot, so C is within the tier: the rate refuses it.
        (send_pb2.OUTCOME_REJECTED, common_pb2.REASON_QUOTA_EXHAUSTED),
    ]
    assert simulator.state.stats.received == 1
    assert shadow_refusals(tiny_quota_sidecar) == {
        "pair_limit": 0,
        "send_rate": 0,
        "messaging_tier": 0,
    }


@pytest.mark.parametrize("tiny_quota_sidecar", [True], indirect=True)
async def test_shadow_mode_sends_everything_and_counts_what_it_waived(
    tiny_quota_sidecar: Embedded, simulator: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sidecar.service.pacing")
    started = time.monotonic()
    replies = [await tiny_quota_sidecar.send.Send(otp(to)) for to in SENDS]
    elapsed = time.monotonic() - started

    assert [r.outcome for r in replies] == [send_pb2.OUTCOME_SENT] * len(SENDS), replies
    assert simulator.state.stats.received == len(SENDS)
    assert len(simulator.state.messages_to(A)) == 3
    # Send 1 is within every rule. Sends 2–3 (A again) break the pair limit and
    # the rate; send 4 (B) the rate; send 5 (C, a third recipient) the tier and the rate.
    assert shadow_refusals(tiny_quota_sidecar) == {
        "pair_limit": 2,
        "send_rate": 4,
        "messaging_tier": 1,
    }
    # A Check is answered as the send would be (allowed), and counts nothing.
    decision = await tiny_quota_sidecar.send.Check(otp(A))
    assert decision.allowed
    assert sum(shadow_refusals(tiny_quota_sidecar).values()) == 7

    logged = [r for r in caplog.records if getattr(r, "event", "") == "quota_shadow_refusal"]
    assert 1 <= len(logged) <= 1 + int(elapsed), (len(logged), elapsed)  # once a second at most
