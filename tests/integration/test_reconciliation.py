"""Reconciliation under faults: every request is accounted for, nothing is sent twice.

A sustained campaign (SendBatch streams and unary Sends at once) goes through
a real sidecar process to the simulator, which injects every error class
(transient, throttled, auth, recipient, template, policy, permanent), answers
after the client's timeout, answers 2xx without a message id, and drops
connections before and after accepting. Then:

* requests = SENT + REJECTED + FAILED + DEAD_LETTERED + IN_DOUBT (answers),
  and GetSendStatus agrees with every answer;
* messages the simulator accepted ≤ SENT + IN_DOUBT, no key accepted twice,
  and every SENT message id is the one the simulator gave that key;
* the simulator's status webhooks, handed to VerifyWebhook, resolve exactly
  the in-doubt sends it accepted; the others stay listed by ListInDoubt.

``SOAK_SECONDS`` sets the campaign's length (``make soak``: 600); ``WORKERS``
loops of rounds run at once so the load is sustained, not in lockstep.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.webhook_relay import WebhookRelay

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2_grpc,
)
from sidecar.simulator import (
    FaultRule,
    SimulatorHandle,
    SimulatorSettings,
    start_simulator,
)
from sidecar.testing import APP_ID, DEV_APP_SECRET, DEV_TOKEN, SidecarProcess

pytestmark = pytest.mark.integration

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
WORKERS = 3
GRAPH_TIMEOUT = 0.5
BATCH, UNARY = 60, 20  # per round: one SendBatch stream and this many unary Sends
DEAD_EVERY = 40  # every 40th request goes to a number that always fails transiently
REFUSED_EVERY = 13  # every 13th request is MARKETING without consent: REJECTED

# Each rule is drawn in order (seeded); the first that applies decides.
FAULTS = (
    FaultRule(code=131000, probability=0.03),  # transient: retried
    FaultRule(code=130429, probability=0.02),  # throttled: retried after 1 s
    FaultRule(code=190, probability=0.02),  # auth: token refreshed, retried once
    FaultRule(code=131026, probability=0.02),  # recipient: failed
    FaultRule(code=132001, probability=0.02),  # template: failed
    FaultRule(code=131031, probability=0.01),  # policy: failed
    FaultRule(code=100, probability=0.02),  # permanent: failed
    FaultRule(code=131049, probability=0.01),  # throttled for a day: failed, not retried
    FaultRule(code=131026, async_status=True, probability=0.01),  # accepted, fails later
    FaultRule(drop_connection=True, probability=0.02),  # dropped before accepting
    FaultRule(drop_connection=True, drop_after_accept=True, probability=0.02),
    FaultRule(answer_late_ms=GRAPH_TIMEOUT * 3000, probability=0.02),  # accepted, answer late
    FaultRule(answer_without_id=True, probability=0.01),  # accepted, 2xx without an id
)
_AREAS = (650, 415, 212, 305, 617, 312, 206, 503, 702, 404)


def number(i: int) -> str:
    """A distinct valid number per request (the pair limit never interferes)."""
    i %= 100_000
    return f"+1{_AREAS[i // 10_000]}555{i % 10_000:04d}"


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(
        SimulatorSettings(
            access_tokens=frozenset({DEV_TOKEN}),
            app_secret=DEV_APP_SECRET.encode(),
            app_id=APP_ID,
            client_secret=DEV_APP_SECRET,
            pair_limit_enabled=False,
            seed=12,
            max_stored_messages=1_000_000,
            webhook_queue_size=1_000_000,
        )
    )
    try:
        yield handle
    finally:
        await handle.close()


class Campaign:
    """Numbered requests; the answers by key."""

    def __init__(self, simulator: SimulatorHandle) -> None:
        self._simulator = simulator
        self._seq = itertools.count()
        self.answers: dict[str, send_pb2.SendResponse] = {}
        self.requests = 0

    def request(self) -> send_pb2.SendRequest:
        i = next(self._seq)
        self.requests += 1
        to = number(i)
        if i % DEAD_EVERY == DEAD_EVERY - 1:  # 1 attempt + 3 retries, all transient
            self._simulator.state.add_fault(FaultRule(to=to, code=131000, count=4))
        category = (
            common_pb2.CATEGORY_MARKETING
            if i % REFUSED_EVERY == REFUSED_EVERY - 1
            else common_pb2.CATEGORY_AUTHENTICATION
        )
        return send_pb2.SendRequest(
            idempotency_key=f"rc-{i}",
            to=to,
            category=category,
            template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
        )

    def answered(self, response: send_pb2.SendResponse) -> None:
        assert response.idempotency_key not in self.answers, "answered twice"
        self.answers[response.idempotency_key] = response

    async def batch(self, stub: send_pb2_grpc.SendServiceStub) -> None:
        requests = [self.request() for _ in range(BATCH)]

        async def stream() -> AsyncIterator[send_pb2.SendRequest]:
            for r in requests:
                yield r

        async for response in stub.SendBatch(stream()):
            self.answered(response)

    async def unary(self, stub: send_pb2_grpc.SendServiceStub) -> None:
        self.answered(await stub.Send(self.request()))

    def outcomes(self) -> Counter[str]:
        return Counter(send_pb2.Outcome.Name(a.outcome) for a in self.answers.values())


async def test_counts_reconcile_exactly_under_every_fault(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    for rule in FAULTS:
        simulator.state.add_fault(rule)
    env = {
        "WA_SIDECAR_GRAPH_TIMEOUT": str(GRAPH_TIMEOUT),
        "WA_SIDECAR_SEND_RATE": "200",
        # The relay hands over the whole campaign's webhooks at once, faster
        # than Meta ever would: no per-source limit for it.
        "WA_SIDECAR_WEBHOOK_RATE_LIMIT": "",
    }
    async with (
        WebhookRelay() as relay,
        SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc,
    ):
        simulator.state.configure({"webhook_url": relay.url})
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        campaign = Campaign(simulator)
        started = time.monotonic()

        async def rounds() -> None:
            while time.monotonic() - started < SOAK_SECONDS:
                await asyncio.gather(
                    campaign.batch(stub), *(campaign.unary(stub) for _ in range(UNARY))
                )

        await asyncio.gather(*(rounds() for _ in range(WORKERS)))
        elapsed = time.monotonic() - started

        # -- every request has exactly one answer, in one of five outcomes
        outcomes = campaign.outcomes()
        final = ("OUTCOME_SENT", "OUTCOME_REJECTED", "OUTCOME_FAILED")
        doubtful = ("OUTCOME_DEAD_LETTERED", "OUTCOME_IN_DOUBT")
        assert len(campaign.answers) == campaign.requests
        assert sum(outcomes[o] for o in final + doubtful) == campaign.requests, outcomes
        for outcome in final + doubtful:  # the campaign met every path
            assert outcomes[outcome] > 0, (outcome, outcomes)

        # -- what reached Meta: at most the sent and the in-doubt, each key once
        ours = [
            m
            for m in simulator.state.messages_to()
            if m.biz_opaque_callback_data in campaign.answers
        ]
        accepted = {m.biz_opaque_callback_data: m.wamid for m in ours}
        assert len(accepted) == len(ours), "a key reached the simulator twice"
        assert len(ours) <= outcomes["OUTCOME_SENT"] + outcomes["OUTCOME_IN_DOUBT"]
        for key, answer in campaign.answers.items():
            if answer.outcome == send_pb2.OUTCOME_SENT:
                assert accepted.get(key) == answer.message_id, key
            elif key in accepted:
                assert answer.outcome == send_pb2.OUTCOME_IN_DOUBT, (key, answer)

        # -- dead letters are exactly the DEAD_LETTERED answers
        dead: list[str] = []
        token = ""
        while True:
            page = await stub.ListDeadLetters(send_pb2.ListDeadLettersRequest(page_token=token))
            dead.extend(d.idempotency_key for d in page.dead_letters)
            if not page.next_page_token:
                break
            token = page.next_page_token
        assert sorted(dead) == sorted(
            k for k, a in campaign.answers.items() if a.outcome == send_pb2.OUTCOME_DEAD_LETTERED
        )

        # -- the status webhooks resolve the in-doubt sends Meta accepted, no others
        assert await simulator.state.webhooks.flush(within=60)
        await relay.forward(verify_pb2_grpc.VerifyServiceStub(proc.channel))
        in_doubt_left = set()
        for key, answer in campaign.answers.items():
            reply = await stub.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key=key))
            if answer.outcome == send_pb2.OUTCOME_REJECTED:
                assert not reply.found or reply.response.outcome == answer.outcome, key
                continue
            assert reply.found, key
            status = reply.response
            if answer.outcome == send_pb2.OUTCOME_IN_DOUBT:
                if key in accepted:
                    assert (status.outcome, status.message_id) == (
                        send_pb2.OUTCOME_SENT,
                        accepted[key],
                    ), key
                else:
                    assert status.outcome == send_pb2.OUTCOME_IN_DOUBT, key
                    in_doubt_left.add(key)
            else:
                assert (status.outcome, status.message_id) == (
                    answer.outcome,
                    answer.message_id,
                ), key
        listed: set[str] = set()
        token = ""
        while True:
            page = await stub.ListInDoubt(send_pb2.ListInDoubtRequest(page_token=token))
            listed.update(s.idempotency_key for s in page.sends)
            if not page.next_page_token:
                break
            token = page.next_page_token
        assert listed == in_doubt_left

    stats = simulator.state.stats
    print(
        f"\nreconciliation: {campaign.requests} requests in {elapsed:.1f} s, {dict(outcomes)};"
        f" simulator received {stats.received}, accepted {len(ours)} of ours,"
        f" dropped {stats.dropped_connections}, rejected by code {dict(stats.rejected_by_code)};"
        f" in doubt after the webhooks: {len(in_doubt_left)}"
    )
