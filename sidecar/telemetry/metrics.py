"""Prometheus metrics, with bounded label sets (no numbers, no message ids).

A ``Metrics`` object owns its own ``CollectorRegistry`` so tests and several
in-process sidecars never collide; the admin server renders it at /metrics.
Alert and recording rules over these names live in ``deploy/prometheus/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# rpc.server.call.duration's advisory buckets (semconv), with two below 5 ms for a localhost hop.
_RPC_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
# Status values Meta sends in statuses[]; anything else is counted as "other".
DELIVERY_STATUSES = frozenset({"sent", "delivered", "read", "failed", "deleted", "warning"})


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
        self.quota_fallbacks = Counter(
            "wa_sidecar_quota_fallbacks",
            "Quota decisions taken on the local fallback bucket (quota store down, fail open).",
            registry=r,
        )
        self.quota_shadow_refusals = Counter(
            "wa_sidecar_quota_shadow_refusals",
            "Sends a quota rule would have refused but let through (quota shadow mode), by rule.",
            ["rule"],
            registry=r,
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
        self.access_denials = Counter(
            "wa_sidecar_access_denials",
            "Calls refused by caller access control (unauthenticated, permission_denied).",
            ["reason"],
            registry=r,
        )
        self.access_reloads = Counter(
            "wa_sidecar_access_reloads",
            "Auth file reloads by result (ok, invalid: the previous principals stay).",
            ["result"],
            registry=r,
        )
        self.rpc_duration = Histogram(
            "wa_sidecar_rpc_server_call_duration_seconds",
            "gRPC server call duration (semconv rpc.server.call.duration) by method and status.",
            ["method", "status"],
            buckets=_RPC_BUCKETS,
            registry=r,
        )
        self.secret_source_up = Gauge(
            "wa_sidecar_secret_source_up",
            "1 when the secret source answered its last look, else 0 (last good values kept).",
            ["source"],
            registry=r,
        )
        self.secret_reloads = Counter(
            "wa_sidecar_secret_reloads",
            "Looks at a secret source that found a change or failed, by result"
            " (ok, unchanged, invalid: refused and the old value kept, failed: unreadable).",
            ["source", "result"],
            registry=r,
        )
        self.tls_reloads = Counter(
            "wa_sidecar_tls_reloads",
            "Certificate files re-read after a change, by listener and result (ok, invalid).",
            ["listener", "result"],
            registry=r,
        )
        # Account webhooks (service/account.py); labels from closed sets.
        self.template_statuses = Counter(
            "wa_sidecar_template_status_updates",
            "message_template_status_update webhooks by event and template category.",
            ["event", "category"],
            registry=r,
        )
        self.template_categories = Counter(
            "wa_sidecar_template_category_updates",
            "template_category_update webhooks by the category a template moves to.",
            ["category"],
            registry=r,
        )
        self.phone_quality = Counter(
            "wa_sidecar_phone_quality_updates",
            "phone_number_quality_update webhooks by event (THROUGHPUT_UPGRADE, ...).",
            ["event"],
            registry=r,
        )
        self.capability_updates = Counter(
            "wa_sidecar_capability_updates",
            "business_capability_update webhooks (the portfolio's messaging limit changed).",
            registry=r,
        )
        self.account_alerts = Counter(
            "wa_sidecar_account_alerts",
            "account_alerts webhooks by severity and alert type.",
            ["severity", "type"],
            registry=r,
        )
        # Engagement KPIs: user-initiated sessions and the business's first reply.
        self.sessions_opened = Counter(
            "wa_sidecar_sessions_opened",
            "User-initiated sessions: inbound messages that found no open service window.",
            registry=r,
        )
        self.first_reply = Histogram(
            "wa_sidecar_session_first_reply_seconds",
            "Seconds from the message that opened a session to the business's first send"
            " accepted by Graph, for sessions answered within the service window.",
            buckets=(10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400),
            registry=r,
        )
        # Capacity that follows the account (service/capacity.py).
        self.account_throughput = Gauge(
            "wa_sidecar_account_throughput",
            "Messages per second the account allows the number (80, 1000, 20 on the Business"
            " app), as last read from Graph.",
            ["phone_number_id"],
            registry=r,
        )
        self.quality_rating = Gauge(
            "wa_sidecar_quality_rating",
            "The number's quality rating: 3 GREEN, 2 YELLOW, 1 RED, 0 unknown.",
            ["phone_number_id"],
            registry=r,
        )
        self.account_messaging_limit = Gauge(
            "wa_sidecar_messaging_limit",
            "Unique users per rolling 24 h the portfolio may reach (-1: unlimited), as in force.",
            registry=r,
        )
        self.capacity_changes = Counter(
            "wa_sidecar_capacity_changes",
            "Changes of what the account allows: what (throughput, quality, messaging_limit)"
            " and direction (up, down).",
            ["what", "direction"],
            registry=r,
        )
        self.capacity_reads = Counter(
            "wa_sidecar_capacity_reads",
            "Capacity readings by source: graph, shared (another replica's), failed.",
            ["result"],
            registry=r,
        )
        # Meta's own analytics (service/insights.py), to set beside the sidecar's counts.
        self.meta_messages = Gauge(
            "wa_sidecar_meta_messages",
            "Meta's message analytics for the WABA: sent or delivered (metric) in the UTC day"
            " (period today or yesterday).",
            ["metric", "period"],
            registry=r,
        )
        self.meta_template_messages = Gauge(
            "wa_sidecar_meta_template_messages",
            "Meta's template analytics: sent, delivered, read, clicked (metric) per template in"
            " the UTC day (period today or yesterday).",
            ["template_id", "template", "category", "metric", "period"],
            registry=r,
        )
        self.meta_pulls = Counter(
            "wa_sidecar_meta_pulls",
            "Pulls of Meta's analytics by result: ok, throttled (80007 or 4), failed.",
            ["result"],
            registry=r,
        )
        self.meta_calls = Counter(
            "wa_sidecar_meta_calls", "Graph calls made to pull Meta's analytics.", registry=r
        )
        self.meta_last_pull = Gauge(
            "wa_sidecar_meta_last_pull_timestamp_seconds",
            "Unix time of the last complete pull of Meta's analytics.",
            registry=r,
        )
        # Series the alerts watch start at 0, so the first event is an increase.
        for event in ("APPROVED", "REJECTED", "PAUSED", "DISABLED"):
            for category in ("MARKETING", "UTILITY", "AUTHENTICATION", "unknown"):
                self.template_statuses.labels(event, category)
        for what in ("throughput", "quality", "messaging_limit"):
            for way in ("up", "down"):
                self.capacity_changes.labels(what, way)
        self.store_up = Gauge(
            "wa_sidecar_store_up",
            "1 when the store answered its last health ping, else 0.",
            ["store"],
            registry=r,
        )

    def delivery_status(self, status: str, count: int = 1) -> None:
        """Count status webhooks; unknown status strings share one label."""
        self.statuses.labels(status if status in DELIVERY_STATUSES else "other").inc(count)

    def capacity(self, phone_number_id: str, rate: float | None, quality: str) -> None:
        """What the account allows the number now (``rate`` None: not known)."""
        if rate is not None:
            self.account_throughput.labels(phone_number_id).set(rate)
        rank = {"GREEN": 3, "YELLOW": 2, "RED": 1}.get(quality, 0)
        self.quality_rating.labels(phone_number_id).set(rank)

    def messaging_limit(self, limit: int) -> None:
        """The tier cap in force (0, no cap, is shown as -1: unlimited)."""
        self.account_messaging_limit.set(limit or -1)

    def capacity_change(self, what: str, way: str) -> None:
        self.capacity_changes.labels(what, way).inc()

    def capacity_read(self, result: str) -> None:
        self.capacity_reads.labels(result).inc()

    def watch_send_rates(self, rates: Callable[[], Mapping[str, float]]) -> None:
        """Export the current adaptive send rate per business number at scrape
        time (``rates`` is called by the scrape, so the value is never stale)."""
        self.registry.register(_SendRates(rates))


class _SendRates(Collector):
    def __init__(self, rates: Callable[[], Mapping[str, float]]) -> None:
        self._rates = rates

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "wa_sidecar_send_rate",
            "Current adaptive send rate (messages/s) per business phone number id.",
            labels=["phone_number_id"],
        )
        for phone_number_id, rate in sorted(self._rates().items()):
            family.add_metric([phone_number_id], rate)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration must not call ``collect`` (the sender may not be ready yet).
        return iter(())
