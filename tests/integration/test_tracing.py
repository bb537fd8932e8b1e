"""Traces and metrics of a real sidecar process, received by a real OTLP/gRPC
receiver and read from /metrics after real traffic (faults injected in the
simulator, bad signatures, refusals, a stream)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from prometheus_client.parser import text_string_to_metric_families
from support.otlp import Received, Receiver, attrs_of, value_of

from sidecar import __version__
from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.simulator.webhooks import status_item
from sidecar.testing import PHONE_NUMBER_ID, SidecarProcess, free_port, signature, webhook_body

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
RETRIED = "+16505551234"  # first attempt fails (131000), the retry succeeds
DEAD = "+14155550123"  # every attempt fails: dead letter
PLAIN = "+12025550143"  # refused for lack of consent, then sent in a batch
SLOW = "+13125550177"  # Graph answers after the caller's deadline
NUMBERS = (RETRIED, DEAD, PLAIN, SLOW)
SEND = "wasidecar.v1.SendService/Send"


def _all_kvs(span: Span) -> Iterator[KeyValue]:
    yield from span.attributes
    for event in span.events:
        yield from event.attributes
    for link in span.links:
        yield from link.attributes


@pytest.fixture
async def traced(
    tmp_path: Path, simulator: SimulatorHandle, receiver: tuple[Receiver, int]
) -> AsyncIterator[SidecarProcess]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver[1]}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "WA_SIDECAR_ENV": "staging",
        "WA_SIDECAR_WEBHOOK_RATE_LIMIT": "",
    }
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        yield proc


def template(to: str, category: int = common_pb2.CATEGORY_AUTHENTICATION, key: str = "") -> Any:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=category,
        template=send_pb2.Template(name="t", language=send_pb2.TemplateLanguage(code="en_US")),
    )


def descends_from(span: Span, ancestor: Span, by_id: dict[bytes, Span]) -> bool:
    current = span
    while current.parent_span_id:
        if current.parent_span_id == ancestor.span_id:
            return True
        parent = by_id.get(current.parent_span_id)
        if parent is None:
            return False
        current = parent
    return False


async def _traffic(proc: SidecarProcess, simulator: SimulatorHandle) -> None:
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    simulator.state.add_fault(FaultRule(to=RETRIED, code=131000, count=1))
    simulator.state.add_fault(FaultRule(to=DEAD, code=131000))
    metadata = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"),)
    reply = await send.Send(template(RETRIED, key="traced-1"), metadata=metadata)
    assert (reply.outcome, reply.attempts) == (send_pb2.OUTCOME_SENT, 2)
    dead = await send.Send(template(DEAD))
    assert dead.outcome == send_pb2.OUTCOME_DEAD_LETTERED
    refused = await send.Send(template(PLAIN, common_pb2.CATEGORY_MARKETING))
    assert refused.outcome == send_pb2.OUTCOME_REJECTED  # an answer, not an error
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await send.Send(template("+1 650 555"))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    simulator.state.add_fault(FaultRule(to=SLOW, latency_ms=3000, count=1))
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await send.Send(template(SLOW, key="slow-1"), timeout=0.5)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    batch = [template(PLAIN, key=f"batch-{i}") for i in range(3)]
    replies = [r async for r in send.SendBatch(iter(batch))]
    assert [r.outcome for r in replies] == [send_pb2.OUTCOME_SENT] * 3
    await health_pb2_grpc.HealthStub(proc.channel).Check(health_pb2.HealthCheckRequest())

    verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)
    now = int(time.time())
    statuses = webhook_body(
        status_item("wamid.A1", "delivered", RETRIED[1:], now),
        status_item("wamid.A1", "read", RETRIED[1:], now + 1),
        status_item("wamid.B2", "failed", DEAD[1:], now),
        status_item("wamid.C3", "made-up-status", PLAIN[1:], now),
        kind="statuses",
    )
    for _ in range(5):
        rejected = await verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=statuses, signature="sha256=" + "0" * 64)
        )
        assert not rejected.valid
    accepted = await verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=statuses, signature=signature(statuses))
    )
    assert accepted.valid


async def test_spans_continue_the_callers_trace_with_rpc_conventions_and_no_numbers(
    traced: SidecarProcess, simulator: SimulatorHandle, receiver: tuple[Receiver, int]
) -> None:
    spans, _ = receiver
    await _traffic(traced, simulator)

    def server(method: str) -> list[Received]:
        return [s for s in spans.spans if s.span.name == method]

    await spans.wait_for(
        lambda: (
            any(s.attrs["rpc.response.status_code"] == "DEADLINE_EXCEEDED" for s in server(SEND))
            and bool(server("wasidecar.v1.SendService/SendBatch"))
            and bool(server("wasidecar.v1.VerifyService/VerifyWebhook"))
            and len([s for s in spans.spans if s.span.kind == Span.SPAN_KIND_CLIENT]) >= 2 + 4 + 3
        )
    )
    by_id = {s.span.span_id: s.span for s in spans.spans}

    [root] = [s for s in server(SEND) if s.span.trace_id.hex() == TRACE_ID]
    assert root.span.parent_span_id.hex() == PARENT_ID
    assert root.span.kind == Span.SPAN_KIND_SERVER
    assert root.attrs["rpc.system.name"] == "grpc"
    assert root.attrs["rpc.method"] == SEND
    assert root.attrs["rpc.response.status_code"] == "OK"
    assert "error.type" not in root.attrs
    assert root.span.status.code == Status.STATUS_CODE_UNSET

    attempts = [
        s.span
        for s in spans.spans
        if s.span.kind == Span.SPAN_KIND_CLIENT and descends_from(s.span, root.span, by_id)
    ]
    assert len(attempts) == 2
    failed, retried = sorted(attempts, key=lambda s: s.start_time_unix_nano)
    assert attrs_of(failed.attributes)["http.request.method"] == "POST"
    assert attrs_of(failed.attributes)["server.address"] == "127.0.0.1"
    assert attrs_of(failed.attributes)["error.type"] == "500"
    assert attrs_of(failed.attributes)["sidecar.graph.error_code"] == 131000
    assert failed.status.code == Status.STATUS_CODE_ERROR
    assert attrs_of(retried.attributes)["http.response.status_code"] == 200
    assert attrs_of(retried.attributes)["http.request.resend_count"] == 1
    [send_span] = [s.span for s in spans.spans if s.span.span_id == failed.parent_span_id]
    assert send_span.name == "send"
    [event] = [e for e in send_span.events if e.name == "graph.attempt_failed"]
    assert attrs_of(event.attributes)["sidecar.graph.error_class"] == "transient"
    assert attrs_of(send_span.attributes)["sidecar.recipient"] == "+1650•••1234"
    names = {by_id[k].name for k in by_id if descends_from(by_id[k], root.span, by_id)}
    assert {"send", "policy.decide", "quota.acquire"} <= names

    assert root.resource["service.name"] == "wa-policy-sidecar"
    assert root.resource["service.version"] == __version__
    assert root.resource["deployment.environment.name"] == "staging"

    [invalid] = [
        s for s in server(SEND) if s.attrs["rpc.response.status_code"] == "INVALID_ARGUMENT"
    ]
    assert invalid.span.status.code == Status.STATUS_CODE_UNSET
    assert "error.type" not in invalid.attrs
    [late] = [s for s in server(SEND) if s.attrs["rpc.response.status_code"] == "DEADLINE_EXCEEDED"]
    assert late.attrs["error.type"] == "DEADLINE_EXCEEDED"  # a server-side error code
    assert late.span.status.code == Status.STATUS_CODE_ERROR
    [batch] = server("wasidecar.v1.SendService/SendBatch")
    assert batch.attrs["rpc.response.status_code"] == "OK"
    batch_sends = [
        s for s in spans.spans if s.span.name == "send" and descends_from(s.span, batch.span, by_id)
    ]
    assert len(batch_sends) == 3
    assert not [s for s in spans.spans if s.span.name.startswith("grpc.")]

    assert "Failed to detach context" not in traced.log_text()  # stream spans stay balanced

    digits = [n.lstrip("+") for n in NUMBERS]
    for received in spans.spans:
        texts = [received.span.name] + [str(value_of(kv.value)) for kv in _all_kvs(received.span)]
        for text in texts:
            bare = re.sub(r"[^0-9]", "", text)
            assert not any(d in bare for d in digits), (received.span.name, text)


async def _metrics(proc: SidecarProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(proc.admin_url + "/metrics") as resp,
    ):
        text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _sum(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


async def test_metrics_follow_real_traffic(
    traced: SidecarProcess, simulator: SimulatorHandle
) -> None:
    await _traffic(traced, simulator)
    m = await _metrics(traced)
    rpc = "wa_sidecar_rpc_server_call_duration_seconds_count"
    assert _sum(m, rpc, method=SEND, status="OK") == 3
    assert _sum(m, rpc, method=SEND, status="INVALID_ARGUMENT") == 1
    assert _sum(m, rpc, method="wasidecar.v1.SendService/SendBatch", status="OK") == 1
    assert _sum(m, rpc, method=SEND, status="DEADLINE_EXCEEDED") == 1
    assert not [k for k in m if k[0] == rpc and dict(k[1])["method"].startswith("grpc.")]

    assert _sum(m, "wa_sidecar_sends_total", outcome="sent") == 4
    assert _sum(m, "wa_sidecar_sends_total", outcome="dead_lettered") == 1
    assert _sum(m, "wa_sidecar_sends_total", outcome="rejected", reason="no_consent") == 1
    assert _sum(m, "wa_sidecar_graph_errors_total", code="131000", error_class="transient") == 5
    assert _sum(m, "wa_sidecar_retries_total", error_class="transient") == 4
    assert _sum(m, "wa_sidecar_dead_letters_total") == 1
    assert _sum(m, "wa_sidecar_webhook_rejections_total", reason="bad_signature") == 5
    assert _sum(m, "wa_sidecar_webhook_seconds_count") == 6  # rejections are timed too
    for status in ("delivered", "read", "failed", "other"):
        assert _sum(m, "wa_sidecar_delivery_statuses_total", status=status) == 1
    assert _sum(m, "wa_sidecar_store_up", store="state") == 1
    assert _sum(m, "wa_sidecar_store_up", store="quota") == 1
    assert _sum(m, "wa_sidecar_send_rate", phone_number_id=PHONE_NUMBER_ID) == 80.0


async def test_no_tracing_without_an_endpoint_and_store_down_shows(tmp_path: Path) -> None:
    """No OTEL endpoint: the SDK is not installed; a quota store that stops
    answering turns wa_sidecar_store_up{store="quota"} to 0."""
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        await _listening(port)
        env = {
            "WA_SIDECAR_QUOTA_URL": f"redis://127.0.0.1:{port}/0",
            "WA_SIDECAR_WEBHOOK_RATE_LIMIT": "",
        }
        proc = SidecarProcess(tmp_path, env)
        proc.start()
        await proc.ready()
        try:
            assert '"event": "tracing"' not in proc.log_text()
            assert _sum(await _metrics(proc), "wa_sidecar_store_up", store="quota") == 1
            health = health_pb2_grpc.HealthStub(proc.channel)
            quota = health_pb2.HealthCheckRequest(service="wasidecar.store.quota")
            assert (await health.Check(quota)).status == health_pb2.HealthCheckResponse.SERVING
            watch = health.Watch(quota)
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            redis.terminate()
            redis.wait(10)
            # The probe runs every 5 s; the health component flips with the gauge.
            async with asyncio.timeout(15):
                assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()
            assert _sum(await _metrics(proc), "wa_sidecar_store_up", store="quota") == 0
            assert _sum(await _metrics(proc), "wa_sidecar_store_up", store="state") == 1
            state = health_pb2.HealthCheckRequest(service="wasidecar.store.state")
            assert (await health.Check(state)).status == health_pb2.HealthCheckResponse.SERVING
        finally:
            await proc.stop()
    finally:
        if redis.poll() is None:
            redis.kill()
        redis.wait(10)


async def _listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return
