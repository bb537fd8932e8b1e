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
  (semconv ``rpc.server.call.duration``);
- writes one request log line (logger ``sidecar.rpc``, event ``rpc``) for
  every call that failed (non-OK status) or took longer than
  ``SLOW_CALL_SECONDS``, and for a random share ``request_log_sample`` of the
  others. The sampling decision comes first and costs one ``random()``; the
  record is built only for calls that are logged. The line is written while
  the SERVER span is current, so it carries its trace and span ids (without
  tracing: the caller's trace id from ``traceparent``). Fields: ``rpc_method``,
  ``status_code``, ``duration_ms``, ``principal`` (``api/access.actor_of``:
  the token's principal with caller auth on, which the span also carries as
  ``enduser.id``); Send, Check and Enqueue add the recipient masked
  (``to_masked``) and, from the response, ``outcome``, ``message_id`` and the
  refusal ``reason``; streams add the number of ``responses``.

Each wrapped handler also decodes tolerantly (``api/decoding.py``): request
bytes that are no valid message answer INVALID_ARGUMENT naming ``request``,
not grpc's UNKNOWN (unary) or INTERNAL (inside a stream).

Health and reflection calls are neither traced nor measured (probes would
drown the data); unknown methods (UNIMPLEMENTED by gRPC itself) have no
handler to wrap. Synchronous handlers are passed through unwrapped.

    server = grpc.aio.server(
        interceptors=[ServerTelemetry(metrics, tracing=True, request_log_sample=0.01)]
    )
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Final

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, StatusCode

from sidecar.api import decoding
from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2
from sidecar.api.access import actor_of, caller
from sidecar.policy.access import OPEN_PREFIXES
from sidecar.redact import mask_number
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
UNTRACED_PREFIXES: Final = OPEN_PREFIXES  # health and reflection
_PROPAGATED = frozenset({"traceparent", "tracestate", "baggage"})
SLOW_CALL_SECONDS: Final = 1.0
"""Calls at least this slow are always logged, whatever the sample rate."""

request_log = logging.getLogger("sidecar.rpc")

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
        request_log_sample: float = 1.0,
    ) -> None:
        self._metrics = metrics
        self.tracing = tracing
        self.request_log_sample = request_log_sample
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
                new = self._wrap_generator(method, decoding.checked(kind, behavior))
            elif inspect.iscoroutinefunction(behavior):
                new = self._wrap_coroutine(method, decoding.checked(kind, behavior))
            else:
                return handler
            return factory(
                new,
                request_deserializer=decoding.tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler

    def _wrap_coroutine(
        self, method: str, behavior: Callable[[Any, Any], Awaitable[Any]]
    ) -> Callable[[Any, Any], Awaitable[Any]]:
        async def observed(request: Any, context: Any) -> Any:
            call = _Call(self, method, context, request)
            with call:
                call.response = await behavior(request, context)
                return call.response

        return observed

    def _wrap_generator(
        self, method: str, behavior: Callable[[Any, Any], AsyncIterator[Any]]
    ) -> Callable[[Any, Any], AsyncIterator[Any]]:
        async def observed(request: Any, context: Any) -> AsyncIterator[Any]:
            call = _Call(self, method, context, None)
            with call:
                async for response in behavior(request, context):
                    call.responses += 1
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
    """One RPC: span and clock start on enter; status, log line, span end and
    metric on exit."""

    __slots__ = (
        "_context",
        "_method",
        "_owner",
        "_request",
        "_span",
        "_started",
        "_token",
        "response",
        "responses",
    )

    def __init__(self, owner: ServerTelemetry, method: str, context: Any, request: Any) -> None:
        self._owner = owner
        self._method = method
        self._context = context
        self._request = request
        self.response: Any = None
        self.responses = 0
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
        seconds = time.perf_counter() - self._started
        # Sampling first: a fast OK call not drawn costs one random() here.
        if (
            code is not grpc.StatusCode.OK
            or seconds >= SLOW_CALL_SECONDS
            or random.random() < self._owner.request_log_sample  # noqa: S311  # not crypto
        ):
            self._log(code, seconds)
        if self._token is not None:
            span = self._span
            span.set_attribute(STATUS_ATTRIBUTE, code.name)
            principal = caller()
            if principal is not None:
                span.set_attribute("enduser.id", principal.name)
            if code in SERVER_ERRORS:
                span.set_attribute("error.type", code.name)
                span.set_status(StatusCode.ERROR)
            span.end()
            otel_context.detach(self._token)  # type: ignore[arg-type]  # the attach token
        self._owner._finish(self._method, code, seconds)

    def _log(self, code: grpc.StatusCode, seconds: float) -> None:
        """The request log line, written while the server span is still current."""
        level = logging.WARNING if code in SERVER_ERRORS else logging.INFO
        if not request_log.isEnabledFor(level):
            return
        fields: dict[str, object] = {
            "event": "rpc",
            "rpc_method": self._method,
            "status_code": code.name,
            "duration_ms": round(seconds * 1000, 3),
            "principal": actor_of(self._context),
        }
        if not self._span.get_span_context().is_valid:
            trace_id = _caller_trace_id(self._context)
            if trace_id:
                fields["trace_id"] = trace_id
        if isinstance(self._request, send_pb2.SendRequest) and self._request.to:
            fields["to_masked"] = mask_number(self._request.to)
        _describe(self.response, fields)
        if self.responses:
            fields["responses"] = self.responses
        request_log.log(level, "%s %s", self._method, code.name, extra=fields)


def _describe(response: Any, fields: dict[str, object]) -> None:
    """Outcome, message id and refusal reason of a Send-family response."""
    if isinstance(response, send_pb2.GetSendStatusResponse):
        response = response.response if response.found else None
    if isinstance(response, send_pb2.SendResponse | send_pb2.EnqueueResponse):
        fields["outcome"] = _enum_name(send_pb2.Outcome.Name(response.outcome), "OUTCOME_")
        if isinstance(response, send_pb2.SendResponse) and response.message_id:
            fields["message_id"] = response.message_id
        decision = response.decision if response.HasField("decision") else None
    elif isinstance(response, common_pb2.Decision):
        decision = response
        fields["allowed"] = response.allowed
    else:
        return
    if decision is not None and decision.reason:
        fields["reason"] = _enum_name(common_pb2.Reason.Name(decision.reason), "REASON_")


def _enum_name(name: str, prefix: str) -> str:
    return name.removeprefix(prefix).lower()


def _caller_trace_id(context: Any) -> str:
    """The trace id of the caller's ``traceparent`` (W3C: version-trace-parent-flags)."""
    for key, value in context.invocation_metadata() or ():
        if key == "traceparent" and isinstance(value, str):
            parts = value.split("-")
            if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
                return parts[1].lower()
    return ""


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
