"""The Graph client tells "never sent" from "maybe sent" on real sockets.

The session is built as the sidecar builds it (``session_timeout``), so a
wait for a connection or a pool slot ends as ``connect`` and a silence after
the request was written ends as ``timeout``; the simulator plays the faults.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from sidecar.policy.retry import classify
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import DEV_APP_SECRET, DEV_TOKEN, PHONE_NUMBER_ID, free_port
from sidecar.whatsapp.client import GraphClient, session_timeout
from sidecar.whatsapp.errors import GraphError
from sidecar.whatsapp.tokens import TokenManager

pytestmark = pytest.mark.integration

TO = "+16505551234"
BODY = json.dumps(
    {"messaging_product": "whatsapp", "to": TO, "type": "text", "text": {"body": "hi"}}
).encode()
TIMEOUT = 0.5


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1), timeout=session_timeout(TIMEOUT)
    ) as opened:
        yield opened


def client(session: aiohttp.ClientSession, url: str) -> GraphClient:
    tokens = TokenManager(DEV_TOKEN, app_secret=DEV_APP_SECRET.encode())
    return GraphClient(session, base_url=url, api_version="v24.0", tokens=tokens)


async def failure(graph: GraphClient) -> GraphError:
    with pytest.raises(GraphError) as caught:
        await graph.send_message(PHONE_NUMBER_ID, BODY)
    return caught.value


async def test_a_refused_connection_is_not_sent_and_retryable(
    session: aiohttp.ClientSession,
) -> None:
    err = await failure(client(session, f"http://127.0.0.1:{free_port()}"))
    assert err.network_error == "connect"
    c = classify(err.code, err.http_status, err.network_error)
    assert (c.retryable, c.in_doubt) == (True, False)


async def test_waiting_for_a_pool_slot_is_not_sent(
    session: aiohttp.ClientSession, simulator: SimulatorHandle
) -> None:
    """The pool's only connection stays taken (a slow answer, on a request
    with a long timeout of its own) past the connect timeout: the send never
    leaves, and says so."""
    simulator.state.add_fault(FaultRule(to=TO, latency_ms=4 * TIMEOUT * 1000, count=1))
    graph = client(session, simulator.url)
    url = f"{graph.root}/{PHONE_NUMBER_ID}/messages"
    creds = TokenManager(DEV_TOKEN, app_secret=DEV_APP_SECRET.encode()).credentials
    busy = asyncio.ensure_future(
        session.post(
            url,
            data=BODY,
            params=creds.params,
            headers=creds.headers,
            timeout=aiohttp.ClientTimeout(total=30),
        )
    )
    await simulator.state.wait_received(1)
    err = await failure(graph)
    assert err.network_error == "connect"
    assert simulator.state.stats.received == 1  # only the busy one
    c = classify(err.code, err.http_status, err.network_error)
    assert (c.retryable, c.in_doubt) == (True, False)
    (await busy).release()


@pytest.mark.parametrize(
    ("rule", "accepted", "kind"),
    [
        (FaultRule(to=TO, answer_late_ms=3 * TIMEOUT * 1000), True, "timeout"),
        (FaultRule(to=TO, drop_connection=True, drop_after_accept=True), True, "connection"),
        (FaultRule(to=TO, drop_connection=True), False, "connection"),
        (FaultRule(to=TO, answer_without_id=True), True, ""),
    ],
    ids=["answer-later-than-the-timeout", "dropped-after-accept", "dropped-before", "2xx-no-id"],
)
async def test_no_usable_answer_after_the_request_left_is_in_doubt(
    session: aiohttp.ClientSession,
    simulator: SimulatorHandle,
    rule: FaultRule,
    accepted: bool,
    kind: str,
) -> None:
    simulator.state.add_fault(rule)
    err = await failure(client(session, simulator.url))
    assert err.network_error == kind
    c = classify(err.code, err.http_status, err.network_error)
    assert (c.retryable, c.in_doubt) == (False, True)
    assert bool(simulator.state.messages_to(TO)) is accepted
