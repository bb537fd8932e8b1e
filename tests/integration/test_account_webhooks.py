"""Account webhooks end to end: the simulator emits each kind, a real sidecar
process takes them on its ingress, and the app receives typed events on
StreamEvents; a re-delivery through VerifyWebhook is a duplicate and counted once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from support.metrics import scrape, total
from support.stream import subscribed

from sidecar.api._gen.wasidecar.v1 import verify_pb2, verify_pb2_grpc
from sidecar.simulator import SimulatorHandle
from sidecar.simulator.account import (
    account_alert_value,
    capability_value,
    phone_quality_value,
    template_category_value,
    template_status_value,
)
from sidecar.testing import SidecarProcess, signature

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


async def test_each_account_webhook_kind_reaches_the_app_typed_and_counted(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    env = {"WA_SIDECAR_WEBHOOK_INGRESS": "true", "WA_SIDECAR_WEBHOOK_RATE_LIMIT": ""}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        simulator.state.configure({"webhook_url": proc.admin_url + "/webhook"})
        async with subscribed(proc) as events:
            state = simulator.state
            state.emit_account_change(
                "message_template_status_update",
                template_status_value("101", "order_update", "APPROVED", category="UTILITY"),
            )
            state.emit_account_change(
                "message_template_status_update",
                template_status_value(
                    "102", "promo", "REJECTED", category="MARKETING", reason="PROMOTIONAL"
                ),
            )
            state.emit_account_change(
                "message_template_status_update",
                template_status_value(
                    "103", "sale", "PAUSED", title="FIRST_PAUSE", description="paused 3 h"
                ),
            )
            state.emit_account_change(
                "message_template_status_update",
                template_status_value("104", "old_sale", "DISABLED"),
            )
            state.emit_account_change(
                "template_category_update",
                template_category_value("101", "order_update", "UTILITY", "MARKETING"),
            )
            state.emit_account_change(
                "phone_number_quality_update",
                phone_quality_value(
                    "15550783881", "THROUGHPUT_UPGRADE", current_limit="TIER_UNLIMITED"
                ),
            )
            # One over the control API, as a test in another language would send it.
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    simulator.url + "/_sim/account_events",
                    json={"field": "business_capability_update", "value": capability_value(10000)},
                ) as reply,
            ):
                assert reply.status == 200
            state.emit_account_change(
                "account_alerts",
                account_alert_value("INCREASED_CAPABILITIES_ELIGIBILITY_FAILED"),
            )
            got = [await asyncio.wait_for(events.get(), 20) for _ in range(8)]

    kinds = [e.WhichOneof("kind") for e in got]
    assert sorted(kinds) == sorted(
        ["template_status"] * 4
        + ["template_category", "phone_quality", "capability", "account_alert"]
    )
    by_template = {
        e.template_status.template_id: e.template_status
        for e in got
        if e.HasField("template_status")
    }
    assert by_template["101"].event == "APPROVED" and by_template["101"].category == "UTILITY"
    assert (by_template["102"].event, by_template["102"].reason) == ("REJECTED", "PROMOTIONAL")
    assert (by_template["103"].event, by_template["103"].title) == ("PAUSED", "FIRST_PAUSE")
    assert by_template["104"].event == "DISABLED" and by_template["104"].disable_date > 0
    [category] = [e.template_category for e in got if e.HasField("template_category")]
    assert (category.previous_category, category.new_category) == ("UTILITY", "MARKETING")
    [quality] = [e.phone_quality for e in got if e.HasField("phone_quality")]
    assert (quality.event, quality.current_limit) == ("THROUGHPUT_UPGRADE", "TIER_UNLIMITED")
    [capability] = [e.capability for e in got if e.HasField("capability")]
    assert capability.max_daily_per_business == 10000
    [alert] = [e.account_alert for e in got if e.HasField("account_alert")]
    assert alert.type == "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED"
    assert all(e.waba_id == "102290129340398" and e.entry_time > 0 for e in got)


async def test_a_redelivered_account_webhook_is_a_duplicate_counted_once(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    names = [
        "template_status_rejected_CONSTRUCTED.json",
        "template_status_paused_CONSTRUCTED.json",
        "template_category_update_CONSTRUCTED.json",
        "phone_number_quality_update_throughput_upgrade.json",
        "business_capability_update_CONSTRUCTED.json",
        "account_alerts_CONSTRUCTED.json",
    ]
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as proc:
        verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)
        for name in names:
            body = (SAMPLES / name).read_bytes()
            request = verify_pb2.WebhookRequest(
                body=body, signature=signature(body), remote_ip="127.0.0.1"
            )
            first = await verify.VerifyWebhook(request)
            again = await verify.VerifyWebhook(request)
            assert first.valid and len(first.events) == 1 and not first.duplicate, name
            assert again.valid and again.duplicate and again.duplicate_events == 1, name
        samples = await scrape(proc.admin_url)

    assert (
        total(
            samples,
            "wa_sidecar_template_status_updates_total",
            event="REJECTED",
            category="MARKETING",
        )
        == 1
    )
    assert total(samples, "wa_sidecar_template_status_updates_total", event="PAUSED") == 1
    assert total(samples, "wa_sidecar_template_category_updates_total", category="MARKETING") == 1
    assert total(samples, "wa_sidecar_phone_quality_updates_total", event="THROUGHPUT_UPGRADE") == 1
    assert total(samples, "wa_sidecar_capability_updates_total") == 1
    assert (
        total(
            samples,
            "wa_sidecar_account_alerts_total",
            severity="WARNING",
            type="INCREASED_CAPABILITIES_ELIGIBILITY_FAILED",
        )
        == 1
    )
    for kind in ("template_status", "template_category", "phone_quality", "capability"):
        assert total(samples, "wa_sidecar_webhook_events_total", kind=kind, duplicate="true") >= 1
    assert (
        total(samples, "wa_sidecar_webhook_events_total", kind="account_alert", duplicate="false")
        == 1
    )
