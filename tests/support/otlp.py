"""A real OTLP/gRPC trace receiver for tests (the collector's TraceService).

async with otlp_receiver() as (receiver, port):
    ...  # point OTEL_EXPORTER_OTLP_ENDPOINT at http://127.0.0.1:{port}
    await receiver.wait_for(lambda: any(s.span.name == "x" for s in receiver.spans))
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclass
class Received:
    resource: dict[str, Any]
    span: Span

    @property
    def attrs(self) -> dict[str, Any]:
        return attrs_of(self.span.attributes)


@dataclass
class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver keeping every span it is sent."""

    spans: list[Received] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for rs in request.resource_spans:
            resource = attrs_of(rs.resource.attributes)
            for scope in rs.scope_spans:
                self.spans.extend(Received(resource, span) for span in scope.spans)
        self.changed.set()
        return trace_service_pb2.ExportTraceServiceResponse()

    async def wait_for(self, done: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            self.changed.clear()
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"spans never arrived; got {[s.span.name for s in self.spans]}"
            await asyncio.wait_for(self.changed.wait(), remaining)


def value_of(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value_of(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def attrs_of(kvs: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


@contextlib.asynccontextmanager
async def otlp_receiver() -> AsyncIterator[tuple[Receiver, int]]:
    """A receiver on a free loopback port, stopped on exit."""
    server = grpc.aio.server()
    servicer = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, port
    finally:
        await server.stop(0)
