"""What tracing costs: unary ``Send`` with every request traced vs tracing off.

Two sidecar processes against one simulator, measured alternately:

- ``off``: no ``OTEL_*`` endpoint, so the SDK is not installed; spans are the
  API's no-ops (the interceptor still records the RPC duration histogram).
- ``on``: ``OTEL_TRACES_SAMPLER=always_on``, BatchSpanProcessor, OTLP/gRPC to a
  local receiver in its own process (``python -m bench.tracing --port N``),
  which parses every export and counts spans. Each Send makes one SERVER
  span and its children (send, policy.decide, quota.acquire, the Graph
  CLIENT span).

Figures: throughput and sidecar CPU-µs per send for both, the paired
throughput ratio on/off and the CPU overhead ratio on/off, spans per send.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from bench.load import (
    RUNS,
    SECONDS,
    Child,
    _spawn,
    alternate,
    channels,
    close_channels,
    errors_of,
    goal,
    paired_ratio,
    rate_figures,
    scratch,
    start_sidecar,
    start_simulator_process,
)
from bench.send import CONCURRENCY, SIDECAR_ENV, _unary
from sidecar.api._gen.wasidecar.v1 import send_pb2_grpc


class _Sink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.spans += sum(len(s.spans) for rs in request.resource_spans for s in rs.scope_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


async def _serve_sink(port: int) -> None:
    """The receiver process: accepts OTLP/gRPC exports, prints the span count on SIGTERM."""
    sink = _Sink()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(0)
    sys.stdout.write(f"spans={sink.spans}\n")
    sys.stdout.flush()


async def _start_sink(tmp: Any) -> Child:
    child = _spawn(["bench.tracing"], tmp, "otlp-sink", None)
    async with grpc.aio.insecure_channel(child.address) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), 20)
        except TimeoutError:
            child.stop()
            raise RuntimeError(f"OTLP sink did not start:\n{child.log_tail()}") from None
    return child


def _spans(sink: Child) -> int:
    for line in sink.log_path.read_text().splitlines():
        if line.startswith("spans="):
            return int(line.removeprefix("spans="))
    return 0


async def run() -> dict[str, Any]:
    async with scratch() as tmp:
        sim = await start_simulator_process(tmp)
        sink = await _start_sink(tmp)
        off_dir, on_dir = tmp / "off", tmp / "on"
        off_dir.mkdir()
        on_dir.mkdir()
        traced_env = {
            **SIDECAR_ENV,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{sink.address}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_TRACES_SAMPLER": "always_on",
        }
        off = await start_sidecar(off_dir, sim.url, SIDECAR_ENV)
        on = await start_sidecar(on_dir, sim.url, traced_env)
        off_chans, on_chans = channels(off.grpc_addr), channels(on.grpc_addr)
        try:
            assert off.proc is not None and on.proc is not None
            runs = await alternate(
                [
                    (
                        "off",
                        _unary([send_pb2_grpc.SendServiceStub(c) for c in off_chans], off.proc.pid),
                    ),
                    (
                        "on",
                        _unary([send_pb2_grpc.SendServiceStub(c) for c in on_chans], on.proc.pid),
                    ),
                ]
            )
        finally:
            await close_channels(off_chans)
            await close_channels(on_chans)
            await off.stop()
            await on.stop()  # flushes its queued spans to the sink
            sink.stop()
            sim.stop()
        spans = _spans(sink)
    off_fig, on_fig = rate_figures(runs["off"]), rate_figures(runs["on"])
    throughput_ratio = paired_ratio(runs["on"], runs["off"])
    cpu_ratio = round(on_fig["cpu_us_per_op_median"] / off_fig["cpu_us_per_op_median"], 3)
    measured = sum(r.done for r in runs["on"])  # warm-up sends are not in it
    return {
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "concurrency": CONCURRENCY,
        "tracing_off": off_fig,
        "tracing_on_always_on": on_fig,
        "throughput_ratio_on_off": throughput_ratio,
        "cpu_per_send_ratio_on_off": cpu_ratio,
        "cpu_us_per_send_added_by_tracing": round(
            on_fig["cpu_us_per_op_median"] - off_fig["cpu_us_per_op_median"], 1
        ),
        "spans_exported": spans,
        "spans_per_send_approx": round(spans / measured, 2) if measured else None,
        "goals": [
            goal(
                "sidecar CPU per unary send, tracing off",
                off_fig["cpu_us_per_op_median"],
                "<=",
                350,
                " µs",
            ),
            goal("spans reached the receiver", spans, ">=", 1),
            goal("failed sends", errors_of(off_fig, on_fig), "<=", 0),
        ],
        "note": "cpu_us_per_op: sidecar CPU per Send; spans_per_send counts warm-up sends too",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="OTLP/gRPC span sink for bench.tracing")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(_serve_sink(parser.parse_args().port))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
