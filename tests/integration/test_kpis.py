"""`wa-sidecar kpis`: delivery, read and failure rates read from the state
store, after real signed status webhooks went through VerifyWebhook."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import pytest

from sidecar.api._gen.wasidecar.v1 import verify_pb2
from sidecar.simulator.webhooks import status_item
from sidecar.testing import Embedded, signature, webhook_body

pytestmark = pytest.mark.integration

RECIPIENT = "16505551234"
HOUR, DAY = 3600, 86400
FAILED = [{"code": 131026, "title": "Message undeliverable"}]


async def kpis_cli(state_url: str, *args: str) -> tuple[int, str, str]:
    """Run `wa-sidecar kpis` in its own process with only the state URL configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_SIDECAR_")}
    env["WA_SIDECAR_STATE_URL"] = state_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sidecar",
        "kpis",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def result(out: str) -> dict[str, Any]:
    """The command's JSON object (the last stdout line; log lines may precede it)."""
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


async def deliver(sidecar: Embedded, statuses: list[tuple[str, str, int]]) -> bytes:
    """One signed delivery of ``(wamid, status, age in seconds)`` status items."""
    now = int(time.time())
    items = [
        status_item(
            wamid, status, RECIPIENT, now - age, errors=FAILED if status == "failed" else None
        )
        for wamid, status, age in statuses
    ]
    body = webhook_body(*items, kind="statuses")
    reply = await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
    )
    assert reply.valid, reply.detail
    assert len(reply.events) == len(items)
    return body


def history() -> list[tuple[str, str, int]]:
    """Three generations of messages, with some ``delivered`` statuses skipped."""
    recent = [(f"wamid.r{i}", "sent", HOUR) for i in range(10)]
    recent += [("wamid.r0", "delivered", HOUR), ("wamid.r1", "delivered", HOUR)]
    # r0 read after delivered; r2..r5 read with "delivered" skipped by Meta.
    recent += [(f"wamid.r{i}", "read", HOUR) for i in (0, 2, 3, 4, 5)]
    recent += [("wamid.r8", "failed", HOUR)]
    older = [(f"wamid.o{i}", "sent", 3 * DAY) for i in range(6)]
    older += [(f"wamid.o{i}", "delivered", 3 * DAY) for i in range(5)]
    older += [("wamid.o0", "read", 3 * DAY), ("wamid.o5", "failed", 3 * DAY)]
    oldest = [("wamid.v0", "sent", 10 * DAY), ("wamid.v1", "sent", 10 * DAY)]
    oldest += [("wamid.v0", "delivered", 10 * DAY)]
    return recent + older + oldest


async def test_kpis_from_status_webhooks_per_window(sidecar: Embedded) -> None:
    await deliver(sidecar, history())

    code, out, err = await kpis_cli(sidecar.settings.state_url)
    assert code == 0, err
    windows = result(out)["windows"]
    assert list(windows) == ["1d", "7d", "30d"]

    day = windows["1d"]
    assert (day["sent"], day["delivered_statuses"], day["read"], day["failed"]) == (10, 2, 5, 1)
    assert day["delivered"] == 5  # five reads imply five deliveries
    assert (day["delivery_rate"], day["read_rate"], day["failure_rate"]) == (0.5, 1.0, 0.1)

    week = windows["7d"]
    assert (week["sent"], week["delivered"], week["read"], week["failed"]) == (16, 7, 6, 2)
    assert week["delivery_rate"] == pytest.approx(7 / 16)
    assert week["read_rate"] == pytest.approx(6 / 7)
    assert week["failure_rate"] == pytest.approx(2 / 16)

    month = windows["30d"]
    assert (month["sent"], month["delivered"], month["read"], month["failed"]) == (18, 8, 6, 2)
    assert month["read_rate"] == pytest.approx(6 / 8)
    assert all(w["complete"] for w in windows.values())


async def test_windows_are_chosen_on_the_command_line(sidecar: Embedded) -> None:
    await deliver(sidecar, [("wamid.a", "sent", 2 * DAY), ("wamid.a", "read", 2 * DAY)])

    code, out, err = await kpis_cli(sidecar.settings.state_url, "--days", "1,3,45")
    assert code == 0, err
    windows = result(out)["windows"]
    assert list(windows) == ["1d", "3d", "45d"]
    assert windows["1d"]["sent"] == 0
    assert windows["1d"]["delivery_rate"] is None  # nothing sent: no rate, not 0
    assert (windows["3d"]["sent"], windows["3d"]["delivered"]) == (1, 1)
    assert windows["3d"]["delivery_rate"] == 1.0
    # Retention (30 days by default) has purged part of a 45-day window.
    assert (windows["3d"]["complete"], windows["45d"]["complete"]) == (True, False)


@pytest.mark.parametrize("days", ["0", "1,x", "-7"])
async def test_bad_windows_are_refused(sidecar: Embedded, days: str) -> None:
    code, out, err = await kpis_cli(sidecar.settings.state_url, "--days", days)
    assert code == 1
    assert "--days" in err
    assert out == ""


async def test_a_redelivered_webhook_is_not_counted_twice(sidecar: Embedded) -> None:
    statuses = [("wamid.d", "sent", HOUR), ("wamid.d", "delivered", HOUR)]
    body = await deliver(sidecar, statuses)
    again = await sidecar.verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
    )
    assert again.duplicate

    code, out, err = await kpis_cli(sidecar.settings.state_url, "--days", "1")
    assert code == 0, err
    day = result(out)["windows"]["1d"]
    assert (day["sent"], day["delivered"]) == (1, 1)
