"""Meta's analytics pulled into metrics by a real sidecar process (issue 16):
the simulator's numbers arrive as the wa_sidecar_meta_* gauges, and an 80007
makes the next pull wait twice as long, then four times."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from support.metrics import Samples, scrape, total
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = pytest.mark.integration

WABA = "102290129340398"  # the simulator's
INTERVAL = 0.5
ENV = {
    "WA_SIDECAR_WABA_ID": WABA,
    "WA_SIDECAR_INSIGHTS_INTERVAL": str(INTERVAL),
    "WA_SIDECAR_INSIGHTS_CALLS_PER_HOUR": "5000",
}


def template(name: str, category: int, n: int) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=f"{name}-{n}",
        to=f"+1650555{n:04d}",
        category=category,
        template=send_pb2.Template(name=name, language=send_pb2.TemplateLanguage(code="en")),
    )


async def until(proc: SidecarProcess, check: Callable[[Samples], bool], what: str) -> Samples:
    """Scrape until ``check(samples)`` holds (the pull runs every 0.5 s)."""
    last: list[Samples] = [{}]

    async def holds() -> bool:
        last[0] = await scrape(proc.admin_url)
        return check(last[0])

    await eventually(holds, what, timeout=10.0, period=0.05)
    return last[0]


async def test_metas_numbers_arrive_as_gauges_consistent_with_what_was_sent(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async with SidecarProcess(tmp_path, ENV, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        for n in range(5):
            reply = await stub.Send(template("otp", common_pb2.CATEGORY_AUTHENTICATION, n))
            assert reply.outcome == send_pb2.OUTCOME_SENT
        for n in range(5, 8):
            # Meta files it as UTILITY (its template's category), whatever the send said.
            reply = await stub.Send(template("order_update", common_pb2.CATEGORY_AUTHENTICATION, n))
            assert reply.outcome == send_pb2.OUTCOME_SENT

        def all_in(samples: Samples) -> bool:
            return total(samples, "wa_sidecar_meta_messages", metric="sent") == 8

        samples = await until(proc, all_in, "8 messages sent in Meta's analytics")
    # Meta's counts, per the simulator: delivered and read follow its status sequence.
    assert total(samples, "wa_sidecar_meta_messages", metric="delivered") == 8
    otp = {"template": "otp", "category": "AUTHENTICATION"}
    assert total(samples, "wa_sidecar_meta_template_messages", metric="sent", **otp) == 5
    assert total(samples, "wa_sidecar_meta_template_messages", metric="read", **otp) == 5
    update = {"template": "order_update", "category": "UTILITY"}
    assert total(samples, "wa_sidecar_meta_template_messages", metric="delivered", **update) == 3
    assert total(samples, "wa_sidecar_meta_template_messages", template="promo") == 0
    # And the sidecar's own count says the same.
    assert total(samples, "wa_sidecar_sends_total", outcome="sent") == 8
    assert total(samples, "wa_sidecar_meta_last_pull_timestamp_seconds") > 0


async def test_an_80007_doubles_the_pause_before_the_next_pull(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    insights = simulator.state.insights
    insights.fail_next.extend([80007, 80007])
    async with SidecarProcess(tmp_path, ENV, graph_url=simulator.url) as proc:

        def pulled_after_two_refusals(samples: Samples) -> bool:
            return total(samples, "wa_sidecar_meta_pulls_total", result="ok") >= 2

        samples = await until(proc, pulled_after_two_refusals, "two good pulls")
    starts = [at for at, what in insights.calls if what == "analytics"]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Refused, paused 2 × 0.5 s; refused again, paused 4 × 0.5 s; then every 0.5 s.
    assert gaps[0] >= 2 * INTERVAL and gaps[1] >= 4 * INTERVAL, gaps
    assert gaps[2] < 2 * INTERVAL, gaps
    assert total(samples, "wa_sidecar_meta_pulls_total", result="throttled") == 2
    assert '"event": "insights_pull_failed"' in proc.log_text()
