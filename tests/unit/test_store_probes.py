"""The store probes: serving waits for their first look, so the gauge and the
health components are true from the start; a stop before that look still
releases whoever waits."""

from __future__ import annotations

import asyncio

import pytest

from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.probes import watch_stores

pytestmark = pytest.mark.unit


def _gauge(metrics: Metrics, store: str) -> float:
    return metrics.store_up.labels(store)._value.get()  # prometheus_client's sample


async def test_the_first_round_is_recorded_before_looked_is_set() -> None:
    metrics = Metrics()
    stop = asyncio.Event()
    looked = asyncio.Event()
    flips: list[tuple[str, bool]] = []
    asked, answer = asyncio.Event(), asyncio.Event()

    async def slow_ok() -> None:
        asked.set()
        await answer.wait()

    async def broken() -> None:
        raise ConnectionError("down")

    async def on_change(name: str, up: bool) -> None:
        flips.append((name, up))

    task = asyncio.create_task(
        watch_stores(
            {"state": slow_ok, "quota": broken},
            metrics,
            stop,
            on_change=on_change,
            looked=looked,
        )
    )
    await asyncio.wait_for(asked.wait(), 5)  # the first round is under way, unanswered
    assert not looked.is_set()
    answer.set()
    await asyncio.wait_for(looked.wait(), 5)
    assert (_gauge(metrics, "state"), _gauge(metrics, "quota")) == (1.0, 0.0)
    assert flips == [("quota", False)]
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_a_stop_before_the_first_round_still_releases_the_waiter() -> None:
    stop = asyncio.Event()
    stop.set()
    looked = asyncio.Event()
    await asyncio.wait_for(watch_stores({}, Metrics(), stop, looked=looked), 5)
    assert looked.is_set()
