"""Sender on its own: retry timing, throttling, shadow mode, idempotency.

Built directly (``support/service.py``): a scripted Graph, a fake clock whose
``sleep`` advances at once, SQLite in ``tmp_path``. The gaps between Graph
calls are the waits the retry loop chose.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from support.service import Draws, FakeTime, Rig, command

from sidecar.errors import IdempotencyConflict
from sidecar.policy.retry import RetryPolicy
from sidecar.policy.types import ErrorClass, Reason
from sidecar.service.models import Outcome
from sidecar.stores.base import SendState
from sidecar.testing import PHONE_NUMBER_ID
from sidecar.whatsapp.errors import GraphError

pytestmark = pytest.mark.unit


def unknown_error() -> GraphError:
    """Graph's 131000 on an HTTP 500: TRANSIENT, retried with backoff."""
    return GraphError(code=131000, http_status=500, message="(#131000) Something went wrong")


def throughput_error() -> GraphError:
    return GraphError(code=130429, http_status=400, message="(#130429) Rate limit hit")


async def test_transient_errors_back_off_1_2_4_seconds_then_dead_letter(rig: Rig) -> None:
    rig.graph.script(*(unknown_error() for _ in range(4)))
    result = await rig.sender().send(command("k1"))

    assert result.outcome is Outcome.DEAD_LETTERED
    assert result.attempts == 4
    assert result.error is not None
    assert (result.error.code, result.error.error_class) == (131000, ErrorClass.TRANSIENT)
    assert rig.graph.gaps() == [1.0, 2.0, 4.0]  # rand at 1.0: each cap of the full jitter
    assert [c.resend_count for c in rig.graph.calls] == [0, 1, 2, 3]
    [letter] = await rig.state.list_dead_letters(10)
    assert (letter.key, letter.attempts) == ("k1", 4)
    assert json.loads(letter.error_json)["code"] == 131000
    stored = await rig.state.get_send("k1")
    assert stored is not None
    assert (stored.state, stored.outcome) == (SendState.DONE, Outcome.DEAD_LETTERED.value)
    assert rig.metric("wa_sidecar_retries_total", error_class="transient") == 3
    assert rig.metric("wa_sidecar_dead_letters_total") == 1


@pytest.mark.parametrize(
    ("draws", "gaps"),
    [
        ((0.5, 0.5, 0.5), [0.5, 1.0, 2.0]),
        ((0.25, 1.0, 0.75), [0.25, 2.0, 3.0]),
        ((0.0, 0.0, 0.0), [0.0, 0.0, 0.0]),
    ],
)
async def test_each_wait_is_a_random_fraction_of_its_cap(
    rig: Rig, draws: tuple[float, ...], gaps: list[float]
) -> None:
    rig.rand = Draws(*draws)
    rig.graph.script(*(unknown_error() for _ in range(4)))
    result = await rig.sender().send(command("k1"))
    assert result.outcome is Outcome.DEAD_LETTERED
    assert rig.graph.gaps() == pytest.approx(gaps)
    for gap, cap in zip(rig.graph.gaps(), (1.0, 2.0, 4.0), strict=True):
        assert 0.0 <= gap <= cap


async def test_the_cap_stops_at_max_delay_and_retries_stop_at_max_retries(rig: Rig) -> None:
    rig.graph.script(*(unknown_error() for _ in range(6)))
    sender = rig.sender(retry=RetryPolicy(max_retries=5, base_delay=1.0, max_delay=3.0))
    result = await sender.send(command("k1"))
    assert result.outcome is Outcome.DEAD_LETTERED
    assert rig.graph.gaps() == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_a_transient_error_then_success_is_sent_on_the_retry(rig: Rig) -> None:
    rig.graph.script(unknown_error(), "wamid.second")
    result = await rig.sender().send(command("k1"))
    assert (result.outcome, result.message_id, result.attempts) == (
        Outcome.SENT,
        "wamid.second",
        2,
    )
    assert await rig.state.list_dead_letters(10) == []


async def test_a_permanent_error_fails_at_once_without_a_dead_letter(rig: Rig) -> None:
    rig.graph.script(GraphError(code=132001, http_status=400, message="(#132001) no template"))
    result = await rig.sender().send(command("k1"))
    assert result.outcome is Outcome.FAILED
    assert len(rig.graph.calls) == 1
    assert await rig.state.list_dead_letters(10) == []


async def test_a_retry_after_header_is_a_floor_under_the_jitter(rig: Rig) -> None:
    rig.rand = Draws(0.0)
    rig.graph.script(
        GraphError(code=131000, http_status=503, retry_after_header=7.0), "wamid.after"
    )
    result = await rig.sender().send(command("k1"))
    assert result.outcome is Outcome.SENT
    assert rig.graph.gaps() == [7.0]


async def test_throughput_throttling_waits_its_floor_and_halves_the_number_rate(
    rig: Rig, clock: FakeTime
) -> None:
    rig.rand = Draws(0.0)
    rig.graph.script(throughput_error(), "wamid.ok")
    sender = rig.sender(rate=80.0, burst=80.0)
    result = await sender.send(command("k1"))

    assert result.outcome is Outcome.SENT
    assert rig.graph.gaps() == [1.0]  # 130429's minimum wait, whatever the draw
    # Cut to 40 msg/s at the throttle, then 1 s of linear recovery (80/30 per s).
    assert sender.quota.current_rates()[PHONE_NUMBER_ID] == pytest.approx(40.0 + 80.0 / 30.0)
    clock.advance(60.0)
    assert sender.quota.current_rates()[PHONE_NUMBER_ID] == 80.0
    assert rig.metric("wa_sidecar_retries_total", error_class="throttled") == 1


async def test_a_lowered_rate_paces_the_next_sends(rig: Rig, clock: FakeTime) -> None:
    rig.rand = Draws(0.0)
    rig.graph.script(throughput_error())
    sender = rig.sender(rate=10.0, burst=1.0, max_wait=60.0, pair_burst=100.0)
    await sender.send(command("k0", to="+16505550000"))
    started = clock()
    for n in range(1, 4):
        result = await sender.send(command(f"k{n}", to=f"+1650555000{n}"))
        assert result.outcome is Outcome.SENT
    # Halved to 5 msg/s (recovering by 1/3 msg/s per second): ~0.2 s between sends,
    # where the configured rate would space them 0.1 s apart.
    gaps = rig.graph.gaps()[-3:]
    assert all(0.17 < gap <= 0.2 + 1e-9 for gap in gaps), gaps
    assert clock() - started > 0.5


async def test_shadow_mode_sends_what_the_pair_limit_would_refuse_and_counts_it(
    rig: Rig,
) -> None:
    enforcing = rig.sender(pair_burst=1.0)
    assert (await enforcing.send(command("a1"))).outcome is Outcome.SENT
    refused = await enforcing.send(command("a2"))
    assert refused.outcome is Outcome.REJECTED
    assert refused.decision.reason is Reason.PAIR_RATE_LIMITED
    assert len(rig.graph.calls) == 1

    shadow = rig.sender(pair_burst=1.0, quota_shadow=True)
    assert (await shadow.send(command("b1", to="+16505559999"))).outcome is Outcome.SENT
    let_through = await shadow.send(command("b2", to="+16505559999"))
    assert let_through.outcome is Outcome.SENT
    assert len(rig.graph.calls) == 3
    assert rig.metric("wa_sidecar_quota_shadow_refusals_total", rule="pair_limit") == 1


async def test_shadow_mode_check_reports_allowed_without_counting(rig: Rig) -> None:
    shadow = rig.sender(pair_burst=1.0, quota_shadow=True)
    await shadow.send(command("b1"))
    decision = await shadow.check(command("b2"))
    assert decision.allowed
    assert rig.metric("wa_sidecar_quota_shadow_refusals_total", rule="pair_limit") == 0


async def test_concurrent_repeats_of_one_key_share_one_graph_call(rig: Rig) -> None:
    sender = rig.sender()
    rig.graph.hold.clear()
    first = asyncio.create_task(sender.send(command("k1")))
    repeats = [asyncio.create_task(sender.send(command("k1"))) for _ in range(3)]
    await rig.graph.called.wait()
    rig.graph.hold.set()
    results = await asyncio.gather(first, *repeats)
    assert len(rig.graph.calls) == 1
    assert {(r.outcome, r.message_id) for r in results} == {(Outcome.SENT, "wamid.fake1")}


async def test_a_concurrent_repeat_with_other_content_is_a_conflict(rig: Rig) -> None:
    sender = rig.sender()
    rig.graph.hold.clear()
    first = asyncio.create_task(sender.send(command("k1")))
    await rig.graph.called.wait()
    with pytest.raises(IdempotencyConflict):
        await sender.send(command("k1", template="welcome"))
    rig.graph.hold.set()
    assert (await first).outcome is Outcome.SENT
    assert len(rig.graph.calls) == 1


async def test_a_repeat_of_a_finished_key_answers_the_stored_outcome(rig: Rig) -> None:
    sender = rig.sender()
    sent = await sender.send(command("k1"))
    again = await sender.send(command("k1"))
    assert (again.outcome, again.message_id) == (Outcome.SENT, sent.message_id)
    assert len(rig.graph.calls) == 1
    with pytest.raises(IdempotencyConflict):
        await sender.send(command("k1", template="welcome"))


async def test_a_repeat_after_a_restart_answers_the_stored_outcome(rig: Rig) -> None:
    rig.graph.script(*(unknown_error() for _ in range(4)))
    await rig.sender().send(command("k1"))
    later = rig.sender()  # another process incarnation over the same state
    again = await later.send(command("k1"))
    assert again.outcome is Outcome.DEAD_LETTERED
    assert again.error is not None and again.error.code == 131000
    assert len(rig.graph.calls) == 4
