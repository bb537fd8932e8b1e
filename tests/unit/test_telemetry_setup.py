"""Tracing set-up from OTEL_* variables: when an exporter is installed, which
protocol, and the resource every span carries."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from sidecar import __version__
from sidecar.config import load_settings
from sidecar.errors import ConfigError
from sidecar.telemetry.setup import build_resource, setup_tracing

pytestmark = pytest.mark.unit

SETTINGS = load_settings(environ={"WA_SIDECAR_ENV": "staging"})


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"},
    ],
)
def test_without_an_endpoint_or_with_exporter_none_nothing_is_installed(
    env: dict[str, str],
) -> None:
    tracing = setup_tracing(SETTINGS, env)
    assert not tracing.enabled
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # API no-op
    tracing.shutdown()


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, "OTEL_TRACES_EXPORTER"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift",
            },
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
    ],
)
def test_unsupported_exporters_and_protocols_name_the_variable(
    env: dict[str, str], setting: str
) -> None:
    with pytest.raises(ConfigError) as err:
        setup_tracing(SETTINGS, env)
    assert err.value.setting == setting


def test_resource_defaults_and_otel_variables_win() -> None:
    attrs = build_resource(SETTINGS, {}).attributes
    assert attrs["service.name"] == "wa-policy-sidecar"
    assert attrs["service.version"] == __version__
    assert attrs["deployment.environment.name"] == "staging"
    assert attrs["telemetry.sdk.language"] == "python"

    named = build_resource(
        SETTINGS,
        {
            "OTEL_SERVICE_NAME": "checkout-sidecar",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,k8s.pod.name=shop%2D1,"
            "deployment.environment.name=eu-prod",
        },
    ).attributes
    assert named["service.name"] == "checkout-sidecar"  # OTEL_SERVICE_NAME wins
    assert named["k8s.pod.name"] == "shop-1"
    assert named["deployment.environment.name"] == "eu-prod"
