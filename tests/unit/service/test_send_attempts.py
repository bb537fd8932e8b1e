"""The Graph attempts of one send: what is retried, what is held in doubt.

``Sender`` runs on real stores (SQLite in memory, the memory quota store)
with a scripted Graph: each call takes the next step of the script (a
wamid, or a ``GraphError`` to raise). Time and sleep are fake, so backoffs
are observed, not waited for.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sidecar.crypto.blind_index import BlindIndexer
from sidecar.crypto.fields import FieldCipher
from sidecar.crypto.keys import Keyring
from sidecar.crypto.subjects import SubjectKeys
from sidecar.policy.consent import ConsentRules
from sidecar.policy.content import Template
from sidecar.policy.retry import RetryPolicy
from sidecar.policy.types import Category
from sidecar.service.models import Outcome, SendCommand, send_command
from sidecar.service.pacing import QuotaGate
from sidecar.service.resend import Resender
from sidecar.service.send import SendDeps, Sender, SendSettings
from sidecar.service.subjects import SubjectDirectory
from sidecar.stores.base import SendState
from sidecar.stores.factory import Stores, open_stores
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.telemetry.metrics import Metrics
from sidecar.whatsapp.errors import GraphError, network_error
from sidecar.whatsapp.messages import graph_body
from sidecar.whatsapp.tokens import TokenManager

PNID = "106540352242922"
TO = "+16505551234"


class ScriptedGraph:
    """Graph as a script: ``send_message`` plays the next step; the token
    exchange always hands out a fresh token."""

    def __init__(self, *steps: str | GraphError | Callable[[], Awaitable[None]]) -> None:
        self.steps = list(steps)
        self.calls: list[bytes] = []

    async def send_message(
        self, phone_number_id: str, body: bytes, *, resend_count: int = 0
    ) -> str:
        self.calls.append(body)
        step = self.steps.pop(0) if self.steps else f"wamid.{len(self.calls)}"
        while callable(step):  # something happens elsewhere meanwhile; then the next step
            await step()
            step = self.steps.pop(0)
        if isinstance(step, GraphError):
            raise step
        return step

    async def get(self, path: str, params: Any, *, credentials: Any = None) -> dict[str, Any]:
        assert path == "oauth/access_token"
        return {"access_token": f"token-{len(self.calls)}", "expires_in": 0}


@dataclass
class World:
    stores: Stores
    graph: ScriptedGraph
    tokens: TokenManager
    cipher: FieldCipher
    sender: Sender
    now: list[float]
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now[0]


async def make_world(stores: Stores, graph: ScriptedGraph, *, resend_after: float = 0.0) -> World:
    keyring = Keyring.parse(Keyring.generate())
    tokens = TokenManager("token-0", app_secret=b"app-secret", app_id="1000")
    tokens.bind(graph)  # type: ignore[arg-type]
    cipher = FieldCipher(keyring)
    now = [1_000_000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    settings = SendSettings(
        rate=1000.0,
        burst=1000.0,
        max_wait=0.0,
        pair_rate=1000.0,
        pair_burst=1000.0,
        window_seconds=86400.0,
        rules=ConsentRules(),
        retry=RetryPolicy(max_retries=3),
        resend_after=resend_after,
    )
    metrics = Metrics()
    sender = Sender(
        SendDeps(
            state=stores.state,
            quota=QuotaGate(
                stores.quota,
                metrics,
                settings,
                fallback=MemoryQuotaStore(),
                clock=lambda: now[0],
                sleep=sleep,
            ),
            directory=SubjectDirectory(stores.state, BlindIndexer(keyring), SubjectKeys(keyring)),
            graph=graph,  # type: ignore[arg-type]
            tokens=tokens,
            cipher=cipher,
            metrics=metrics,
            fingerprint_key=b"f" * 32,
        ),
        settings,
        clock=lambda: now[0],
        sleep=sleep,
        rand=lambda: 0.0,  # the backoff is its floor: the classification's wait
    )
    return World(stores, graph, tokens, cipher, sender, now, slept)


@pytest.fixture
async def stores() -> AsyncIterator[Stores]:
    opened = await open_stores("sqlite:///:memory:", "memory://")
    try:
        yield opened
    finally:
        await opened.close()


def command(key: str, to: str = TO) -> SendCommand:
    return send_command(
        key=key,
        to=to,
        category=Category.AUTHENTICATION,
        phone_number_id=PNID,
        message=Template("otp", "en"),
    )


MAYBE_SENT = {
    "read timeout": network_error("timeout"),
    "connection lost mid-answer": network_error("connection"),
    "2xx without a message id": GraphError(
        http_status=200, message="success response without messages[0].id"
    ),
    "2xx that is not JSON": GraphError(http_status=200, message="response is not JSON"),
}


@pytest.mark.parametrize("failure", MAYBE_SENT.values(), ids=MAYBE_SENT.keys())
async def test_a_maybe_sent_attempt_is_made_once_and_held_in_doubt(
    stores: Stores, failure: GraphError
) -> None:
    w = await make_world(stores, ScriptedGraph(failure))
    result = await w.sender.send(command("k1"))
    assert (result.outcome, result.attempts, len(w.graph.calls)) == (Outcome.IN_DOUBT, 1, 1)
    assert result.error is not None and not result.error.retryable
    record = await stores.state.get_send("k1")
    assert record is not None and record.state is SendState.IN_DOUBT
    assert record.request_ct == b""  # no resend asked for: nothing kept
    assert await stores.state.list_dead_letters(10) == []
    # The process that made the call is alive, and still the send is in doubt.
    listed = await stores.state.list_in_doubt(w.sender.owner, 10, now=w.clock())
    assert [r.key for r in listed] == ["k1"]
    again = await w.sender.send(command("k1"))
    assert again.outcome is Outcome.IN_DOUBT and len(w.graph.calls) == 1
    assert w.slept == []


async def test_a_failure_before_the_request_left_is_retried(stores: Stores) -> None:
    w = await make_world(stores, ScriptedGraph(network_error("connect"), "wamid.A"))
    result = await w.sender.send(command("k1"))
    assert (result.outcome, result.message_id, result.attempts) == (Outcome.SENT, "wamid.A", 2)


async def test_a_maybe_sent_attempt_after_retries_is_held_not_dead_lettered(
    stores: Stores,
) -> None:
    graph = ScriptedGraph(
        network_error("connect"), GraphError(code=131000, http_status=500), network_error("timeout")
    )
    w = await make_world(stores, graph)
    result = await w.sender.send(command("k1"))
    assert (result.outcome, result.attempts) == (Outcome.IN_DOUBT, 3)
    assert await stores.state.list_dead_letters(10) == []


async def test_auth_is_retried_once_after_the_token_refresh(stores: Stores) -> None:
    expired = GraphError(code=190, http_status=401, message="token expired")
    w = await make_world(stores, ScriptedGraph(expired, expired, expired, "wamid.late"))
    result = await w.sender.send(command("k1"))
    assert len(w.graph.calls) == 2  # the first attempt and one retry with the new token
    assert w.tokens.refreshes == 1
    assert result.outcome is not Outcome.SENT and result.error is not None
    assert result.error.code == 190


async def test_auth_then_success_is_sent_with_the_refreshed_token(stores: Stores) -> None:
    expired = GraphError(code=190, http_status=401, message="token expired")
    w = await make_world(stores, ScriptedGraph(expired, "wamid.B"))
    result = await w.sender.send(command("k1"))
    assert (result.outcome, result.message_id, w.tokens.refreshes) == (Outcome.SENT, "wamid.B", 1)


async def test_the_pair_limit_wait_starts_over_after_a_success_to_the_pair(
    stores: Stores,
) -> None:
    def pair_limited() -> GraphError:
        return GraphError(code=131056, http_status=400, message="pair rate limit")

    graph = ScriptedGraph(pair_limited(), "wamid.1", pair_limited(), "wamid.2")
    w = await make_world(stores, graph)
    assert (await w.sender.send(command("k1"))).outcome is Outcome.SENT
    assert (await w.sender.send(command("k2"))).outcome is Outcome.SENT
    # 4**0 s each time: the success in between reset the pair's count
    # (without the reset the second wait is 4**1 s).
    assert w.slept == [1.0, 1.0]


async def test_the_pair_limit_wait_grows_while_the_pair_keeps_failing(stores: Stores) -> None:
    graph = ScriptedGraph(*(GraphError(code=131056, http_status=400) for _ in range(3)))
    w = await make_world(stores, graph)
    assert (await w.sender.send(command("k1"))).outcome is Outcome.SENT
    assert w.slept == [1.0, 4.0, 16.0]


async def test_an_opted_in_resend_goes_once_when_no_status_came(stores: Stores) -> None:
    graph = ScriptedGraph(network_error("timeout"), "wamid.R")
    w = await make_world(stores, graph, resend_after=60.0)
    resender = Resender(w.sender, stores.state, w.cipher, after=60.0, clock=w.clock)
    assert (await w.sender.send(command("k1"))).outcome is Outcome.IN_DOUBT
    held = await stores.state.get_send("k1")
    assert held is not None and held.request_ct  # sealed for the resend

    w.now[0] += 59.0
    assert await resender.resend_due() == []  # not yet
    w.now[0] += 2.0
    [result] = await resender.resend_due()
    assert (result.outcome, result.message_id) == (Outcome.SENT, "wamid.R")
    assert [json.loads(c) for c in graph.calls] == [
        json.loads(graph_body(command("k1").envelope, "k1"))
    ] * 2
    done = await stores.state.get_send("k1")
    assert done is not None
    assert (done.state, done.outcome, done.request_ct) == (SendState.DONE, "sent", b"")
    assert (await w.sender.send(command("k1"))).message_id == "wamid.R"


async def test_a_resend_that_again_gets_no_answer_is_not_resent_again(stores: Stores) -> None:
    graph = ScriptedGraph(network_error("timeout"), network_error("connection"))
    w = await make_world(stores, graph, resend_after=10.0)
    resender = Resender(w.sender, stores.state, w.cipher, after=10.0, clock=w.clock)
    await w.sender.send(command("k1"))
    w.now[0] += 11.0
    [result] = await resender.resend_due()
    assert result.outcome is Outcome.IN_DOUBT
    w.now[0] += 1000.0
    assert await resender.resend_due() == []
    assert len(graph.calls) == 2
    held = await stores.state.get_send("k1")
    assert held is not None and (held.state, held.request_ct) == (SendState.IN_DOUBT, b"")


async def test_a_held_send_whose_status_came_is_never_resent(stores: Stores) -> None:
    graph = ScriptedGraph(network_error("timeout"))
    w = await make_world(stores, graph, resend_after=10.0)
    resender = Resender(w.sender, stores.state, w.cipher, after=10.0, clock=w.clock)
    await w.sender.send(command("k1"))
    assert await stores.state.resolve_by_callback("k1", "wamid.M", "sent", w.clock())
    w.now[0] += 11.0
    assert await resender.resend_due() == []
    assert len(graph.calls) == 1
    result = await w.sender.send(command("k1"))
    assert (result.outcome, result.message_id) == (Outcome.SENT, "wamid.M")


async def test_a_status_webhook_that_came_first_is_the_answer(stores: Stores) -> None:
    """Meta accepted the message and its status (with the key) arrived while
    the answer was still awaited: the resolution stands, nothing is in doubt."""

    async def status_arrives() -> None:
        assert await stores.state.resolve_by_callback("k1", "wamid.W", "sent", 1.0)

    w = await make_world(stores, ScriptedGraph(status_arrives, network_error("timeout")))
    result = await w.sender.send(command("k1"))
    assert (result.outcome, result.message_id) == (Outcome.SENT, "wamid.W")
    assert await stores.state.list_in_doubt("someone", 10, now=0.0) == []


async def test_an_opt_out_since_the_first_attempt_stops_the_resend(stores: Stores) -> None:
    graph = ScriptedGraph(network_error("timeout"))
    w = await make_world(stores, graph, resend_after=10.0)
    resender = Resender(w.sender, stores.state, w.cipher, after=10.0, clock=w.clock)
    await w.sender.send(command("k1"))
    idx = w.sender._d.directory.indexes(TO)
    await stores.state.suppress(idx.full, [Category.AUTHENTICATION.value], w.clock())
    w.now[0] += 11.0
    [result] = await resender.resend_due()
    assert result.outcome is Outcome.IN_DOUBT and not result.decision.allowed
    assert len(graph.calls) == 1  # the user said stop: not sent again
    held = await stores.state.get_send("k1")
    assert held is not None and (held.state, held.request_ct) == (SendState.IN_DOUBT, b"")
    assert [r.key for r in await stores.state.list_in_doubt("anyone", 10, now=w.clock())] == ["k1"]
