"""Tracing set-up from the standard ``OTEL_*`` variables: the ONLY importer of
the OpenTelemetry SDK and exporters (everything else uses the API).

    tracing = setup_tracing(settings)       # before the servers start
    ...
    await asyncio.to_thread(tracing.shutdown, 5.0)   # on drain: flush, then stop

What is read (the SDK reads the rest itself):

- ``OTEL_SDK_DISABLED=true``: no tracing at all.
- ``OTEL_TRACES_EXPORTER``: ``otlp`` or ``none``. **Default: ``otlp`` only when
  an endpoint variable is set** (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), else ``none``. The spec's default
  is ``otlp`` to localhost, but a sidecar with no collector beside it would
  then retry exports forever; without an exporter the SDK is not installed,
  so spans cost nothing (the API stays no-op).
- ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``:
  ``grpc`` or ``http/protobuf`` (default, as in the spec; note that
  ``opentelemetry-distro`` defaults to ``grpc``, so set it explicitly).
  ``http/json`` has no Python exporter and is refused.
- Endpoint, headers, timeout, compression, certificate: ``OTEL_EXPORTER_OTLP_*``,
  read by the exporter. Sampler: ``OTEL_TRACES_SAMPLER`` and ``_ARG`` (default
  ``parentbased_always_on``). Batching: ``OTEL_BSP_*``. Propagators:
  ``OTEL_PROPAGATORS`` (default W3C ``tracecontext,baggage``).
- Resource: ``service.name`` = ``wa-policy-sidecar`` unless
  ``OTEL_SERVICE_NAME`` (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``)
  says otherwise; ``service.version``; ``deployment.environment.name`` =
  ``WA_SIDECAR_ENV``. ``OTEL_RESOURCE_ATTRIBUTES`` wins over these defaults.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from sidecar import __version__
from sidecar.config import Settings
from sidecar.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "wa-policy-sidecar"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


@dataclass
class Tracing:
    """What ``setup_tracing`` installed; ``enabled`` is False when spans are no-ops."""

    enabled: bool = False
    exporter: str = "none"
    protocol: str = ""
    _provider: TracerProvider | None = field(default=None, repr=False)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Export what is queued (up to ``timeout`` seconds), then stop. Blocking:
        call it from a thread (``asyncio.to_thread``)."""
        if self._provider is None:
            return
        provider, self._provider = self._provider, None
        if not provider.force_flush(int(timeout * 1000)):
            log.warning("spans not flushed in time", extra={"event": "trace_flush_timeout"})
        provider.shutdown()


def setup_tracing(settings: Settings, environ: Mapping[str, str] | None = None) -> Tracing:
    """Install a global SDK tracer provider when an exporter is configured."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Tracing()
    exporter_name = _exporter_name(env)
    if exporter_name == "none":
        return Tracing()
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        # A second sidecar in one process (tests): the first one's provider serves both.
        log.warning("tracing already set up in this process", extra={"event": "trace_reuse"})
        return Tracing(enabled=True, exporter=exporter_name)
    protocol = _protocol(env)
    provider = TracerProvider(resource=build_resource(settings, env))
    provider.add_span_processor(BatchSpanProcessor(_exporter(protocol)))
    trace.set_tracer_provider(provider)
    log.info(
        "tracing on",
        extra={"event": "tracing", "exporter": exporter_name, "protocol": protocol},
    )
    return Tracing(True, exporter_name, protocol, provider)


def build_resource(settings: Settings, env: Mapping[str, str]) -> Resource:
    """Our defaults, then the SDK's detectors, then the ``OTEL_*`` variables on top."""
    defaults = {
        "service.name": DEFAULT_SERVICE_NAME,
        "service.version": __version__,
        "deployment.environment.name": settings.env,
    }
    explicit: dict[str, str] = {}
    for pair in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            explicit[key.strip()] = unquote(value.strip())
    if env.get("OTEL_SERVICE_NAME", "").strip():
        explicit["service.name"] = env["OTEL_SERVICE_NAME"].strip()
    # Resource.create adds telemetry.sdk.* (and reads the OTEL_* variables of
    # os.environ, which ``explicit`` then applies again, on top of our defaults).
    return Resource.create(defaults).merge(Resource(explicit))


def _exporter_name(env: Mapping[str, str]) -> str:
    raw = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not raw:
        return "otlp" if any(env.get(name) for name in _ENDPOINTS) else "none"
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if names == ["none"] or not names:
        return "none"
    if names != ["otlp"]:
        raise ConfigError("OTEL_TRACES_EXPORTER", "supported values are otlp and none")
    return "otlp"


def _protocol(env: Mapping[str, str]) -> str:
    for name in _PROTOCOLS:
        value = env.get(name, "").strip().lower()
        if value:
            if value not in ("grpc", "http/protobuf"):
                raise ConfigError(name, "supported values are grpc and http/protobuf")
            return value
    return "http/protobuf"


def _exporter(protocol: str) -> SpanExporter:
    # Both exporters read endpoint, headers, timeout, compression and TLS from OTEL_*.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()
