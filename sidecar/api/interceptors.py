"""gRPC server interceptors: one SERVER span and one duration sample per RPC.

``ServerTelemetry`` wraps each method's ``RpcMethodHandler`` once (cached per
method), for unary and streaming handlers alike. Per call it

- continues the caller's trace from W3C ``traceparent``/``tracestate`` in the
  invocation metadata (the global propagator, ``OTEL_PROPAGATORS``);
- opens a SERVER span named ``rpc.method`` with the RPC conventions of
  semconv ``SEMCONV_VERSION`` (``telemetry/tracing.py``): ``rpc.system.name``,
  fully qualified ``rpc.method`` (``wasidecar.v1.SendService/Send``), the
  status as a string in ``rpc.response.status_code``, ``error.type`` on
  errors, ``server.address``/``server.port``. Only the six server-error codes
  mark the span ERROR: policy refusals (answers), INVALID_ARGUMENT,
  PERMISSION_DENIED and the like are the caller's business, not ours;
- records ``wa_sidecar_rpc_server_call_duration_seconds{method,status}``
  (semconv ``rpc.server.call.duration``).

Health and reflection calls are neither traced nor measured (probes would
drown the data); unknown methods (UNIMPLEMENTED by gRPC itself) have no
handler to wrap. Synchronous handlers are passed through unwrapped.

    server = grpc.aio.server(interceptors=[ServerTelemetry(metrics, tracing=True)])
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Final

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, StatusCode

from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import SCHEMA_URL

# The status attribute's name in the pinned semconv release (renamed
# ``rpc.status_code`` after v1.44; bump both together).
STATUS_ATTRIBUTE: Final = "rpc.response.status_code"
SERVER_ERRORS: Final = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
UNTRACED_PREFIXES: Final = ("/grpc.health.v1.", "/grpc.reflection.")
_PROPAGATED = frozenset({"traceparent", "tracestate", "baggage"})

Handler = Any  # grpc.RpcMethodHandler (grpc ships no type hints)


class ServerTelemetry(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # untyped base
    """Spans and duration metrics for every RPC but health and reflection."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        tracing: bool,
        tracer_provider: trace.TracerProvider | None = None,
        server_address: str = "",
        server_port: int = 0,
    ) -> None:
        self._metrics = metrics
        self.tracing = tracing
        self._tracer = trace.get_tracer(
            "sidecar.api", schema_url=SCHEMA_URL, tracer_provider=tracer_provider
        )
        self._server: dict[str, str | int] = {}
        if server_address:
            self._server["server.address"] = server_address
        if server_port:
            self._server["server.port"] = server_port
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}
        self._durations: dict[tuple[str, grpc.StatusCode], Any] = {}

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Handler]],
        handler_call_details: Any,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        path: str = handler_call_details.method
        if handler is None or path.startswith(UNTRACED_PREFIXES):
            return handler
        cached = self._wrapped.get(path)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(path.lstrip("/"), handler)
        self._wrapped[path] = (handler, wrapped)
        return wrapped

    # ------------------------------------------------------------------ wrapping

    def _wrap(self, method: str, handler: Handler) -> Handler:
        for kind, factory in (
            ("unary_unary", grpc.unary_unary_rpc_method_handler),
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        ):
            behavior = getattr(handler, kind)
            if behavior is None:
                continue
            new: Callable[[Any, Any], Any]
            if inspect.isasyncgenfunction(behavior):
                new = self._wrap_generator(method, behavior)
            elif inspect.iscoroutinefunction(behavior):
                new = self._wrap_coroutine(method, behavior)
            else:
                return handler
            return factory(
                new,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _wrap_coroutine(
        self, method: str, behavior: Callable[[Any, Any], Awaitable[Any]]
    ) -> Callable[[Any, Any], Awaitable[Any]]:
        async def observed(request: Any, context: Any) -> Any:
            with _Call(self, method, context):
                return await behavior(request, context)

        return observed

    def _wrap_generator(
        self, method: str, behavior: Callable[[Any, Any], AsyncIterator[Any]]
    ) -> Callable[[Any, Any], AsyncIterator[Any]]:
        async def observed(request: Any, context: Any) -> AsyncIterator[Any]:
            with _Call(self, method, context):
                async for response in behavior(request, context):
                    yield response

        return observed

    # ------------------------------------------------------------------ per call

    def _start(self, method: str, context: Any) -> tuple[Span, object]:
        carrier = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if key in _PROPAGATED and isinstance(value, str)
        }
        parent = propagate.extract(carrier) if carrier else None
        span = self._tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"rpc.system.name": "grpc", "rpc.method": method, **self._server},
            record_exception=False,
            set_status_on_exception=False,
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        return span, token

    def _finish(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        key = (method, code)
        child = self._durations.get(key)
        if child is None:
            child = self._durations[key] = self._metrics.rpc_duration.labels(method, code.name)
        child.observe(seconds)


class _Call:
    """One RPC: span and clock start on enter; status, span end and metric on exit."""

    __slots__ = ("_context", "_method", "_owner", "_span", "_started", "_token")

    def __init__(self, owner: ServerTelemetry, method: str, context: Any) -> None:
        self._owner = owner
        self._method = method
        self._context = context
        self._span: Span = INVALID_SPAN
        self._token: object = None

    def __enter__(self) -> None:
        self._started = time.perf_counter()
        if self._owner.tracing:
            self._span, self._token = self._owner._start(self._method, self._context)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        code = _status(exc_type, self._context)
        if self._token is not None:
            span = self._span
            span.set_attribute(STATUS_ATTRIBUTE, code.name)
            if code in SERVER_ERRORS:
                span.set_attribute("error.type", code.name)
                span.set_status(StatusCode.ERROR)
            span.end()
            otel_context.detach(self._token)  # type: ignore[arg-type]  # the attach token
        self._owner._finish(self._method, code, time.perf_counter() - self._started)


def _status(exc_type: type[BaseException] | None, context: Any) -> grpc.StatusCode:
    """The status the caller will see: set or aborted code, else from the exception."""
    code: grpc.StatusCode | None = context.code()
    if code is not None:
        return code
    if exc_type is None:
        return grpc.StatusCode.OK
    if issubclass(exc_type, asyncio.CancelledError | GeneratorExit):
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN  # gRPC's answer to an exception no one mapped
