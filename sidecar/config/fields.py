"""The settings themselves: one frozen dataclass, a field per setting.

Each field declares its default, a why (``doc``, shown in README's table and
nowhere else), whether it is a secret, and the rules its value must follow
(``check``, from ``rules``). Its environment variable is
``WA_SIDECAR_<NAME>`` (``env_name``), its YAML key ``<name>``.

A new setting is one field here: loading, validation, the unknown-variable
check and the README table all read ``FIELDS``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sidecar.config.edge import EdgeSettings, setting
from sidecar.config.rules import (
    between,
    button_categories,
    button_payloads,
    cidrs,
    known_locales,
    non_negative,
    not_empty,
    one_of,
    positive,
    rate_limit,
    rule,
    starts_with,
)
from sidecar.config.secret import Secret
from sidecar.policy.buttons import DEFAULT_OPT_OUT_PAYLOADS
from sidecar.policy.optout_packs import PACKS

ENV_PREFIX = "WA_SIDECAR_"
ENVIRONMENTS = ("dev", "staging", "prod")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_GRAPH_URL = "https://graph.facebook.com"


@dataclass(frozen=True, slots=True)
class Settings(EdgeSettings):
    """All sidecar settings; build with ``load_settings``."""

    # --- runtime basics ------------------------------------------------------
    env: str = setting(
        "dev",
        "Environment name: dev, staging or prod (prod enforces the production guards).",
        check=one_of(ENVIRONMENTS),
    )
    log_level: str = setting(
        "INFO", "Log level of the JSON logs.", check=one_of(LOG_LEVELS, fold=str.upper)
    )
    request_log_sample: float = setting(
        0.01,
        "Share (0-1) of successful RPCs written as request log lines; errors and calls "
        "slower than 1 s are always logged.",
        check=between(0, 1, "must be between 0 and 1"),
    )
    shutdown_grace: float = setting(
        10.0, "Seconds in-flight calls get to finish after SIGTERM.", check=non_negative
    )

    # --- Graph API -----------------------------------------------------------
    graph_base_url: str = setting(
        DEFAULT_GRAPH_URL,
        "Graph API base URL; point it at `wa-sidecar simulator` for development.",
        check=starts_with(("http://", "https://"), "must start with http:// or https://"),
    )
    graph_api_version: str = setting(
        "v24.0", "Graph API version path.", check=starts_with("v", "must look like v24.0")
    )
    phone_number_id: str = setting("", "Default business phone number id for sends that name none.")
    app_id: str = setting("", "Meta app id, needed for token exchange and debug_token.")
    access_token: Secret = setting(Secret(""), "Graph access token.", secret=True)
    app_secret: Secret = setting(
        Secret(""),
        "App Secret(s), comma-separated for rotation: webhook HMAC and appsecret_proof.",
        secret=True,
    )
    waba_id: str = setting(
        "",
        "WhatsApp Business Account id; when set, a background task pulls Meta's message and"
        " template analytics into the wa_sidecar_meta_* metrics (empty = off).",
    )
    insights_interval: float = setting(
        900.0, "Seconds between two pulls of Meta's analytics (WA_SIDECAR_WABA_ID).", check=positive
    )
    insights_calls_per_hour: int = setting(
        200,
        "Most Graph calls per hour the analytics pull makes, all replicas together (Meta"
        " allows 5,000 per hour per WABA for every call an app makes; 80007 above it).",
        check=between(1, 5000, "must be between 1 and 5000"),
    )
    verify_token: Secret = setting(
        Secret(""), "Webhook subscription verify token (GET handshake).", secret=True
    )
    graph_timeout: float = setting(
        10.0,
        "Seconds a Graph call may wait to connect (pool slot included; then retried)"
        " and, apart, for its answer once written (then the send is in doubt).",
        check=positive,
    )
    graph_pool_size: int = setting(128, "Connections kept to the Graph API.", check=positive)
    token_refresh_before: float = setting(
        5 * 86400.0,
        "Refresh an expiring token this many seconds before it expires.",
        check=non_negative,
    )

    # --- state and quotas ----------------------------------------------------
    state_url: str = setting(
        "sqlite:///./wa-sidecar.db",
        "Durable state: sqlite:///path.db (embedded) or postgresql://… (scale-out).",
        check=starts_with(
            ("sqlite:///", "postgresql://", "postgres://"),
            "must be sqlite:///path or postgresql://…",
        ),
    )
    quota_url: str = setting(
        "memory://",
        "Quotas, dedup and idempotency locks: memory:// (one replica) or redis://…",
        check=starts_with(("memory://", "redis://", "rediss://"), "must be memory:// or redis://…"),
    )
    quota_fail_mode: str = setting(
        "",
        "When the quota store is down: closed (refuse) or open (conservative local rate). "
        "Default: closed in prod, open elsewhere.",
        check=rule(lambda v: v in ("", "open", "closed"), "must be open or closed"),
    )
    quota_fail_open_fraction: float = setting(
        0.25,
        "Fail mode open: the share of each rate and burst a replica allows itself from a "
        "local bucket while the shared quota store is down (1/replicas is exact).",
        check=rule(lambda v: 0 < v <= 1, "must be > 0 and ≤ 1"),
    )
    quota_key_prefix: str = setting(
        "wa:",
        "Prefix of every key in the shared quota store; deployments sharing one Redis "
        "need distinct prefixes.",
        check=not_empty,
    )
    quota_shadow_mode: bool = setting(
        False,
        "Shadow mode for the quota rules (pair limit, send rate, messaging tier): a send "
        "they would refuse goes out anyway and is counted in "
        "wa_sidecar_quota_shadow_refusals_total{rule}. Waits up to send_max_wait still apply.",
    )
    encryption_key: Secret = setting(
        Secret(""),
        "Base64 key material for field encryption (`id:key,…`, first is primary). "
        "Generated beside a SQLite state in dev; required in prod.",
        secret=True,
    )
    blind_index_bits: int = setting(
        16,
        "Bits kept of the phone-number blind index (see docs/ARCHITECTURE.md).",
        check=between(8, 64, "must be between 8 and 64"),
    )
    retention_days: int = setting(
        30, "Days message records are kept before the purge task deletes them.", check=positive
    )
    retention_interval: float = setting(
        3600.0,
        "Seconds between two runs of the retention purge (it also runs at start).",
        check=positive,
    )

    # --- sending policy ------------------------------------------------------
    send_rate: float = setting(
        80.0,
        "Token-bucket rate per business phone number, messages per second;"
        " may be below 1 (0.5 = one message every 2 s). Unless set, it follows the"
        " number's throughput read from Graph (80, 1000, or 20 on the Business app).",
        check=(positive, rule(lambda v: v <= 100_000, "must be ≤ 100000")),
    )
    send_burst: float = setting(
        0.0,
        "Token-bucket size (≥ 1 message); 0 means the same as the rate, at least 1.",
        check=(
            non_negative,
            rule(
                lambda v: not 0 < v < 1,
                "must be 0 (the rate, at least 1) or ≥ 1; {} lets no message go",
            ),
        ),
    )
    send_max_wait: float = setting(
        2.0, "Longest a unary Send waits for a token before QUOTA_EXHAUSTED.", check=non_negative
    )
    pair_interval: float = setting(
        6.0,
        "Seconds between messages to one recipient (Meta's pair limit, 131056).",
        check=positive,
    )
    pair_burst: int = setting(
        10,
        "Messages to one recipient allowed back to back before pair pacing applies.",
        check=positive,
    )
    messaging_limit: int = setting(
        0,
        "Unique recipients per rolling 24 h per business (messaging tier); 0 = off. Unless"
        " set, it follows the portfolio's messaging limit read from Graph.",
        check=non_negative,
    )
    capacity_refresh_interval: float = setting(
        300.0,
        "Seconds between reads of each number's throughput and quality and the portfolio's"
        " messaging limit from Graph (also at start and at once on account webhooks; replicas"
        " share what one read through the quota store); 0 = never read.",
        check=non_negative,
    )
    red_quality_marketing_share: float = setting(
        0.1,
        "At quality rating RED, marketing sends from that number get this share of its"
        " send rate; 0 pauses them until the rating recovers.",
        check=between(0, 1, "must be between 0 and 1"),
    )
    require_consent_authentication: bool = setting(
        False, "Require a recorded opt-in for AUTHENTICATION sends."
    )
    require_consent_service: bool = setting(False, "Require a recorded opt-in for SERVICE replies.")
    service_window_hours: float = setting(
        24.0,
        "Free-form messages are allowed this long after the user's last inbound message.",
        check=positive,
    )
    retry_max: int = setting(3, "Retries after the first Graph attempt.", check=non_negative)
    retry_base_delay: float = setting(
        1.0, "First backoff delay; doubles per retry (full jitter).", check=positive
    )
    retry_max_delay: float = setting(8.0, "Backoff cap in seconds.", check=positive)
    ambiguous_resend_after: float = setting(
        0.0,
        "Seconds after which a send that may have reached Meta (no usable answer) is"
        " sent once more if no status webhook for its key came; 0 = never resend"
        " (Graph has no idempotency key: a resend can deliver the message twice).",
        check=non_negative,
    )
    batch_chunk_size: int = setting(500, "SendBatch/outbox chunk size.", check=positive)
    batch_chunk_interval: float = setting(
        1.0, "Seconds between the starts of two chunks.", check=positive
    )
    batch_max_in_flight: int = setting(
        256, "Sends in progress at once per batch stream (back-pressure beyond it).", check=positive
    )
    owner_lease_ttl: float = setting(
        30.0,
        "Seconds a process's owner lease lasts without a heartbeat; its unfinished sends"
        " are in doubt (or claimable, if they never left) only after it lapsed.",
        check=positive,
    )
    owner_heartbeat_interval: float = setting(
        10.0, "Seconds between owner lease renewals (well under the lease TTL).", check=positive
    )
    outbox_dispatch: bool = setting(
        True, "Dispatch the Enqueue outbox from this process; false leaves it to other replicas."
    )

    number_validator_url: str = setting(
        "",
        'Optional external validator asked GET <url>?number=<E.164> → {"whatsapp": bool}; '
        "empty = off.",
    )
    number_validator_qps: float = setting(
        10.0, "Most validator calls per second (cached answers are free)."
    )
    number_validator_cache_ttl: float = setting(86400.0, "Seconds a validator answer is reused.")
    number_validator_timeout: float = setting(
        2.0, "Seconds a validator call may take before it is skipped."
    )

    # --- webhooks ------------------------------------------------------------
    webhook_max_body: int = setting(
        3 * 1024 * 1024, "Largest webhook body accepted (Meta's maximum is 3 MB).", check=positive
    )
    webhook_allow_cidrs: tuple[str, ...] = setting(
        (), "CIDRs webhooks may come from; empty = any.", check=cidrs
    )
    webhook_trusted_proxies: tuple[str, ...] = setting(
        (), "Proxies whose X-Forwarded-For is believed.", check=cidrs
    )
    webhook_rate_limit: str = setting(
        "200/second",
        "Per-source-IP webhook limit in `limits` notation; empty = off.",
        check=rate_limit,
    )
    dedup_ttl: float = setting(
        7 * 86400.0,
        "Seconds an event id is remembered (Meta retries for up to 7 days); a status is"
        " remembered as long as its record (`WA_SIDECAR_RETENTION_DAYS` must cover this).",
        check=positive,
    )
    honour_opt_in_keywords: bool = setting(
        True, "Let START/UNSTOP (and Meta's `resume`) re-subscribe a user who opted out by keyword."
    )
    opt_out_keywords: tuple[str, ...] = setting(
        (), "Extra opt-out keywords, added to the built-in multilingual packs."
    )
    webhook_ingress: bool = setting(
        False, "Serve Meta's webhook directly on the admin listener at /webhook."
    )

    # --- opt-out buttons and keyword packs (SPEC §4.5) ------------------------
    opt_out_locales: tuple[str, ...] = setting(
        tuple(PACKS),
        "Built-in opt-out keyword packs to keep (the rest are switched off); an empty "
        "list keeps only WA_SIDECAR_OPT_OUT_KEYWORDS.",
        check=known_locales,
    )
    opt_out_button_payloads: tuple[str, ...] = setting(
        DEFAULT_OPT_OUT_PAYLOADS,
        "Button payloads that opt the user out, compared whole, ignoring case; any other "
        "button (Cancel, End, UNSUBSCRIBE_NO …) is no opt-out. Meta's marketing opt-out "
        "button (Stop promotions) always counts, for MARKETING.",
        check=button_payloads,
    )
    opt_out_button_categories: tuple[str, ...] = setting(
        ("MARKETING",),
        "Categories a declared opt-out button suppresses (and an opt-in button lifts): "
        "MARKETING, UTILITY, AUTHENTICATION, SERVICE.",
        check=button_categories,
    )

    # --- runtime -------------------------------------------------------------
    uvloop: bool = setting(
        False, "Run on uvloop when installed (opt-in; see docs for known uvloop bugs)."
    )

    # --- not a setting: the names the operator gave (YAML or environment) ------
    given: frozenset[str] = field(default=frozenset(), metadata={"internal": True})

    def pinned(self, name: str) -> bool:
        """The operator set ``name`` (even to its default): what the account says
        does not change it. Unset, a capacity setting follows the account."""
        return name in self.given

    @property
    def effective_send_burst(self) -> float:
        # A bucket smaller than one message would let none go: a fractional
        # rate (0.5 = one message every 2 s) gets a burst of one.
        return self.send_burst or max(self.send_rate, 1.0)

    @property
    def effective_quota_fail_mode(self) -> str:
        return self.quota_fail_mode or ("closed" if self.env == "prod" else "open")

    @property
    def app_secrets(self) -> tuple[bytes, ...]:
        raw = self.app_secret.reveal()
        return tuple(s.strip().encode() for s in raw.split(",") if s.strip())


FIELDS: dict[str, dataclasses.Field[Any]] = {
    f.name: f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")
}


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def reference_table() -> str:
    """Markdown table of every setting, for the README."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    for name, spec in FIELDS.items():
        default = spec.default
        if isinstance(default, Secret):
            shown = "none"
        elif isinstance(default, tuple):
            shown = ", ".join(default) or "empty"
        else:
            shown = str(default) if default != "" else "empty"
        var = env_name(name) + (" / `..._FILE`" if spec.metadata["secret"] else "")
        rows.append(f"| `{var}` | {spec.metadata['doc']} | `{shown}` |")
    return "\n".join(rows)
