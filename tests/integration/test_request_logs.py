"""Request log lines of a real sidecar process: one JSON object per RPC with
the trace ids of its server span, sampled by WA_SIDECAR_REQUEST_LOG_SAMPLE,
and never a raw phone number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from support.otlp import Receiver

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = pytest.mark.integration

TO = "+16505551234"
BAD = "+999123456789"  # no such country code: INVALID_ARGUMENT
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"),)
SEND = "wasidecar.v1.SendService/Send"


def template(to: str, category: int = common_pb2.CATEGORY_AUTHENTICATION) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=category,
        template=send_pb2.Template(name="t", language=send_pb2.TemplateLanguage(code="en_US")),
    )


def rpc_lines(proc: SidecarProcess) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in proc.log_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "rpc"]


async def test_every_call_is_logged_at_sample_one_with_trace_ids_and_no_number(
    tmp_path: Path, simulator: SimulatorHandle, receiver: tuple[Receiver, int]
) -> None:
    env = {
        "WA_SIDECAR_REQUEST_LOG_SAMPLE": "1.0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver[1]}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        sent = await stub.Send(template(TO), metadata=TRACEPARENT)
        assert sent.outcome == send_pb2.OUTCOME_SENT
        refused = await stub.Send(
            template(TO, common_pb2.CATEGORY_MARKETING),
            metadata=(("x-wa-sidecar-principal", "billing-app"),),
        )
        assert refused.outcome == send_pb2.OUTCOME_REJECTED
        decision = await stub.Check(template(TO))
        assert decision.allowed
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.Send(template(BAD))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Read after the process exited: an aborted call's status can reach the
    # client before its handler (and the interceptor) has finished.
    lines, text = rpc_lines(proc), proc.log_text()
    assert [(line["rpc_method"], line["status_code"]) for line in lines] == [
        (SEND, "OK"),
        (SEND, "OK"),
        ("wasidecar.v1.SendService/Check", "OK"),
        (SEND, "INVALID_ARGUMENT"),
    ]
    first, second, check, invalid = lines
    for line in lines:
        assert line["level"] == "INFO"
        assert line["time"].endswith("Z")
        assert 0 < line["duration_ms"] < 60_000
        assert line["to_masked"] == ("+1650•••1234" if line is not invalid else "+9991•••6789")

    assert (first["trace_id"], first["principal"]) == (TRACE_ID, "local")
    assert first["span_id"] != PARENT_ID
    server_span = (SEND, TRACE_ID, first["span_id"])  # the SERVER span's ids
    await receiver[0].wait_for(
        lambda: any(
            (s.span.name, s.span.trace_id.hex(), s.span.span_id.hex()) == server_span
            for s in receiver[0].spans
        )
    )
    assert (first["outcome"], first["message_id"]) == ("sent", sent.message_id)

    assert second["principal"] == "billing-app"
    assert second["trace_id"] != TRACE_ID  # a fresh trace: no traceparent sent
    assert (second["outcome"], second["reason"]) == ("rejected", "no_consent")
    assert "message_id" not in second
    assert check["allowed"] is True

    for raw in (TO, TO[1:], BAD, BAD[1:]):
        assert raw not in text


async def test_sample_zero_logs_only_failed_calls(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    env = {"WA_SIDECAR_REQUEST_LOG_SAMPLE": "0"}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        for i in range(20):
            sent = await stub.Send(template(f"+1650555{i:04d}"))
            assert sent.outcome == send_pb2.OUTCOME_SENT
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.Send(template(BAD), metadata=TRACEPARENT)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    lines, text = rpc_lines(proc), proc.log_text()
    assert len(lines) == 1, lines
    [line] = lines
    assert (line["rpc_method"], line["status_code"]) == (SEND, "INVALID_ARGUMENT")
    assert line["to_masked"] == "+9991•••6789"
    # Tracing is off here: the caller's trace id still correlates the line.
    assert line["trace_id"] == TRACE_ID
    assert "span_id" not in line
    assert BAD[1:] not in text


async def test_a_sample_rate_outside_zero_to_one_is_refused(tmp_path: Path) -> None:
    proc = SidecarProcess(tmp_path, {"WA_SIDECAR_REQUEST_LOG_SAMPLE": "1.5"})
    proc.start()
    assert await proc.wait(30) == 1
    assert "WA_SIDECAR_REQUEST_LOG_SAMPLE" in proc.log_text()
