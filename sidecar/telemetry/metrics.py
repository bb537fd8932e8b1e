"""Prometheus metrics, with bounded label sets (no numbers, no message ids).

A ``Metrics`` object owns its own ``CollectorRegistry`` so tests and several
in-process sidecars never collide; the admin server renders it at /metrics.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Every metric the sidecar exports; label values come from closed sets."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.sends = Counter(
            "wa_sidecar_sends", "Send outcomes.", ["outcome", "reason", "category"], registry=r
        )
        self.graph_errors = Counter(
            "wa_sidecar_graph_errors", "Graph API errors.", ["code", "error_class"], registry=r
        )
        self.retries = Counter(
            "wa_sidecar_retries", "Graph call retries.", ["error_class"], registry=r
        )
        self.dead_letters = Counter("wa_sidecar_dead_letters", "Sends dead-lettered.", registry=r)
        self.in_doubt = Counter("wa_sidecar_in_doubt", "Sends answered IN_DOUBT.", registry=r)
        self.quota_wait = Histogram(
            "wa_sidecar_quota_wait_seconds",
            "Time spent waiting for a send token.",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            registry=r,
        )
        self.send_rate = Gauge(
            "wa_sidecar_send_rate", "Current adaptive send rate.", ["phone_number_id"], registry=r
        )
        self.signature_failures = Counter(
            "wa_sidecar_webhook_rejections", "Webhook deliveries rejected.", ["reason"], registry=r
        )
        self.signature_matches = Counter(
            "wa_sidecar_webhook_secret_matches",
            "Verified webhooks by which App Secret matched (index, never the secret).",
            ["secret_index"],
            registry=r,
        )
        self.webhook_latency = Histogram(
            "wa_sidecar_webhook_seconds",
            "VerifyWebhook handling time.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.webhook_events = Counter(
            "wa_sidecar_webhook_events",
            "Webhook events by kind.",
            ["kind", "duplicate"],
            registry=r,
        )
        self.statuses = Counter(
            "wa_sidecar_delivery_statuses",
            "Delivery statuses from webhooks.",
            ["status"],
            registry=r,
        )
        self.consent_changes = Counter(
            "wa_sidecar_consent_changes", "Consent changes.", ["action", "source"], registry=r
        )
        self.opt_outs = Counter("wa_sidecar_opt_outs", "Opt-outs recorded.", ["via"], registry=r)
