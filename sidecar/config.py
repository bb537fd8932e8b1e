"""Typed, frozen settings: defaults, then an optional YAML file, then environment.

Every field has an environment variable ``WA_SIDECAR_<NAME>`` (the SPEC §10
names among them) and a YAML key ``<name>``. Secrets are read from the
variable or from a file named by ``WA_SIDECAR_<NAME>_FILE`` (a Kubernetes
Secret volume) — never from the YAML file in plain text.

    settings = load_settings(config_file="sidecar.yaml", environ=os.environ)
    settings.send_rate   # 80.0

``load_settings`` validates everything and raises ``ConfigError`` naming the
setting; ``wa-sidecar check-config`` runs exactly the same code offline.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sidecar.errors import ConfigError
from sidecar.policy.buttons import DEFAULT_OPT_OUT_PAYLOADS, ButtonRules
from sidecar.policy.optout import OptOutMatcher
from sidecar.policy.optout_packs import PACKS

ENV_PREFIX = "WA_SIDECAR_"
ENVIRONMENTS = ("dev", "staging", "prod")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_GRAPH_URL = "https://graph.facebook.com"


class Secret:
    """A secret string that never shows itself in ``repr``/``str``/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _doc(text: str, *, secret: bool = False) -> dict[str, Any]:
    return {"doc": text, "secret": secret}


@dataclass(frozen=True, slots=True)
class Settings:
    """All sidecar settings; build with ``load_settings``."""

    # --- listeners -----------------------------------------------------------
    grpc_addr: str = field(
        default="127.0.0.1:50051",
        metadata=_doc("gRPC API listen address; loopback keeps it private to the pod."),
    )
    admin_addr: str = field(
        default="127.0.0.1:9464",
        metadata=_doc(
            "HTTP listener for /metrics, /healthz, /readyz and the optional webhook ingress."
        ),
    )
    health_addr: str = field(
        default="",
        metadata=_doc(
            "Extra gRPC listener serving only grpc.health.v1, for kubelet probes on the pod IP "
            "(empty = off)."
        ),
    )
    auth_file: str = field(
        default="",
        metadata=_doc(
            "YAML file of principals, token hashes and roles; empty = no caller auth "
            "(loopback dev only)."
        ),
    )
    approval_ttl: float = field(
        default=86400.0,
        metadata=_doc(
            "Seconds a four-eyes operation (EraseSubject with caller auth on,"
            " OverrideSuppression) waits for a different approver before it expires."
        ),
    )
    env: str = field(
        default="dev",
        metadata=_doc(
            "Environment name: dev, staging or prod (prod enforces the production guards)."
        ),
    )
    log_level: str = field(default="INFO", metadata=_doc("Log level of the JSON logs."))
    request_log_sample: float = field(
        default=0.01,
        metadata=_doc(
            "Share (0-1) of successful RPCs written as request log lines; errors and calls "
            "slower than 1 s are always logged."
        ),
    )
    shutdown_grace: float = field(
        default=10.0, metadata=_doc("Seconds in-flight calls get to finish after SIGTERM.")
    )

    # --- Graph API -----------------------------------------------------------
    graph_base_url: str = field(
        default=DEFAULT_GRAPH_URL,
        metadata=_doc("Graph API base URL; point it at `wa-sidecar simulator` for development."),
    )
    graph_api_version: str = field(default="v24.0", metadata=_doc("Graph API version path."))
    phone_number_id: str = field(
        default="", metadata=_doc("Default business phone number id for sends that name none.")
    )
    app_id: str = field(
        default="", metadata=_doc("Meta app id, needed for token exchange and debug_token.")
    )
    access_token: Secret = field(
        default=Secret(""), metadata=_doc("Graph access token.", secret=True)
    )
    app_secret: Secret = field(
        default=Secret(""),
        metadata=_doc(
            "App Secret(s), comma-separated for rotation: webhook HMAC and appsecret_proof.",
            secret=True,
        ),
    )
    verify_token: Secret = field(
        default=Secret(""),
        metadata=_doc("Webhook subscription verify token (GET handshake).", secret=True),
    )
    graph_timeout: float = field(
        default=10.0,
        metadata=_doc(
            "Seconds a Graph call may wait to connect (pool slot included; then retried)"
            " and, apart, for its answer once written (then the send is in doubt)."
        ),
    )
    graph_pool_size: int = field(default=128, metadata=_doc("Connections kept to the Graph API."))
    token_refresh_before: float = field(
        default=5 * 86400.0,
        metadata=_doc("Refresh an expiring token this many seconds before it expires."),
    )

    # --- state and quotas ----------------------------------------------------
    state_url: str = field(
        default="sqlite:///./wa-sidecar.db",
        metadata=_doc("Durable state: sqlite:///path.db (embedded) or postgresql://… (scale-out)."),
    )
    quota_url: str = field(
        default="memory://",
        metadata=_doc("Quotas, dedup and idempotency locks: memory:// (one replica) or redis://…"),
    )
    quota_fail_mode: str = field(
        default="",
        metadata=_doc(
            "When the quota store is down: closed (refuse) or open (conservative local rate). "
            "Default: closed in prod, open elsewhere."
        ),
    )
    quota_fail_open_fraction: float = field(
        default=0.25,
        metadata=_doc(
            "Fail mode open: the share of each rate and burst a replica allows itself from a "
            "local bucket while the shared quota store is down (1/replicas is exact)."
        ),
    )
    quota_key_prefix: str = field(
        default="wa:",
        metadata=_doc(
            "Prefix of every key in the shared quota store; deployments sharing one Redis "
            "need distinct prefixes."
        ),
    )
    quota_shadow_mode: bool = field(
        default=False,
        metadata=_doc(
            "Shadow mode for the quota rules (pair limit, send rate, messaging tier): a send "
            "they would refuse goes out anyway and is counted in "
            "wa_sidecar_quota_shadow_refusals_total{rule}. Waits up to send_max_wait still apply."
        ),
    )
    encryption_key: Secret = field(
        default=Secret(""),
        metadata=_doc(
            "Base64 key material for field encryption (`id:key,…`, first is primary). "
            "Generated beside a SQLite state in dev; required in prod.",
            secret=True,
        ),
    )
    blind_index_bits: int = field(
        default=16,
        metadata=_doc("Bits kept of the phone-number blind index (see docs/ARCHITECTURE.md)."),
    )
    retention_days: int = field(
        default=30,
        metadata=_doc("Days message records are kept before the purge task deletes them."),
    )
    retention_interval: float = field(
        default=3600.0,
        metadata=_doc("Seconds between two runs of the retention purge (it also runs at start)."),
    )

    # --- sending policy ------------------------------------------------------
    send_rate: float = field(
        default=80.0,
        metadata=_doc(
            "Token-bucket rate per business phone number, messages per second;"
            " may be below 1 (0.5 = one message every 2 s)."
        ),
    )
    send_burst: float = field(
        default=0.0,
        metadata=_doc("Token-bucket size (≥ 1 message); 0 means the same as the rate, at least 1."),
    )
    send_max_wait: float = field(
        default=2.0, metadata=_doc("Longest a unary Send waits for a token before QUOTA_EXHAUSTED.")
    )
    pair_interval: float = field(
        default=6.0,
        metadata=_doc("Seconds between messages to one recipient (Meta's pair limit, 131056)."),
    )
    pair_burst: int = field(
        default=10,
        metadata=_doc("Messages to one recipient allowed back to back before pair pacing applies."),
    )
    messaging_limit: int = field(
        default=0,
        metadata=_doc("Unique recipients per rolling 24 h per business (messaging tier); 0 = off."),
    )
    require_consent_authentication: bool = field(
        default=False, metadata=_doc("Require a recorded opt-in for AUTHENTICATION sends.")
    )
    require_consent_service: bool = field(
        default=False, metadata=_doc("Require a recorded opt-in for SERVICE replies.")
    )
    service_window_hours: float = field(
        default=24.0,
        metadata=_doc(
            "Free-form messages are allowed this long after the user's last inbound message."
        ),
    )
    retry_max: int = field(default=3, metadata=_doc("Retries after the first Graph attempt."))
    retry_base_delay: float = field(
        default=1.0, metadata=_doc("First backoff delay; doubles per retry (full jitter).")
    )
    retry_max_delay: float = field(default=8.0, metadata=_doc("Backoff cap in seconds."))
    ambiguous_resend_after: float = field(
        default=0.0,
        metadata=_doc(
            "Seconds after which a send that may have reached Meta (no usable answer) is"
            " sent once more if no status webhook for its key came; 0 = never resend"
            " (Graph has no idempotency key: a resend can deliver the message twice)."
        ),
    )
    batch_chunk_size: int = field(default=500, metadata=_doc("SendBatch/outbox chunk size."))
    batch_chunk_interval: float = field(
        default=1.0, metadata=_doc("Seconds between the starts of two chunks.")
    )
    batch_max_in_flight: int = field(
        default=256,
        metadata=_doc("Sends in progress at once per batch stream (back-pressure beyond it)."),
    )
    owner_lease_ttl: float = field(
        default=30.0,
        metadata=_doc(
            "Seconds a process's owner lease lasts without a heartbeat; its unfinished sends"
            " are in doubt (or claimable, if they never left) only after it lapsed."
        ),
    )
    owner_heartbeat_interval: float = field(
        default=10.0,
        metadata=_doc("Seconds between owner lease renewals (well under the lease TTL)."),
    )
    outbox_dispatch: bool = field(
        default=True,
        metadata=_doc(
            "Dispatch the Enqueue outbox from this process; false leaves it to other replicas."
        ),
    )

    number_validator_url: str = field(
        default="",
        metadata=_doc(
            'Optional external validator asked GET <url>?number=<E.164> → {"whatsapp": bool}; '
            "empty = off."
        ),
    )
    number_validator_qps: float = field(
        default=10.0, metadata=_doc("Most validator calls per second (cached answers are free).")
    )
    number_validator_cache_ttl: float = field(
        default=86400.0, metadata=_doc("Seconds a validator answer is reused.")
    )
    number_validator_timeout: float = field(
        default=2.0, metadata=_doc("Seconds a validator call may take before it is skipped.")
    )

    # --- webhooks ------------------------------------------------------------
    webhook_max_body: int = field(
        default=3 * 1024 * 1024,
        metadata=_doc("Largest webhook body accepted (Meta's maximum is 3 MB)."),
    )
    webhook_allow_cidrs: tuple[str, ...] = field(
        default=(), metadata=_doc("CIDRs webhooks may come from; empty = any.")
    )
    webhook_trusted_proxies: tuple[str, ...] = field(
        default=(), metadata=_doc("Proxies whose X-Forwarded-For is believed.")
    )
    webhook_rate_limit: str = field(
        default="200/second",
        metadata=_doc("Per-source-IP webhook limit in `limits` notation; empty = off."),
    )
    dedup_ttl: float = field(
        default=7 * 86400.0,
        metadata=_doc(
            "Seconds an event id is remembered (Meta retries for up to 7 days); a status is"
            " remembered as long as its record (`WA_SIDECAR_RETENTION_DAYS` must cover this)."
        ),
    )
    honour_opt_in_keywords: bool = field(
        default=True,
        metadata=_doc(
            "Let START/UNSTOP (and Meta's `resume`) re-subscribe a user who opted out by keyword."
        ),
    )
    opt_out_keywords: tuple[str, ...] = field(
        default=(),
        metadata=_doc("Extra opt-out keywords, added to the built-in multilingual packs."),
    )
    webhook_ingress: bool = field(
        default=False,
        metadata=_doc("Serve Meta's webhook directly on the admin listener at /webhook."),
    )

    # --- opt-out buttons and keyword packs (SPEC §4.5) ------------------------
    opt_out_locales: tuple[str, ...] = field(
        default=tuple(PACKS),
        metadata=_doc(
            "Built-in opt-out keyword packs to keep (the rest are switched off); an empty "
            "list keeps only WA_SIDECAR_OPT_OUT_KEYWORDS."
        ),
    )
    opt_out_button_payloads: tuple[str, ...] = field(
        default=DEFAULT_OPT_OUT_PAYLOADS,
        metadata=_doc(
            "Button payloads that opt the user out, compared whole, ignoring case; any other "
            "button (Cancel, End, UNSUBSCRIBE_NO …) is no opt-out. Meta's marketing opt-out "
            "button (Stop promotions) always counts, for MARKETING."
        ),
    )
    opt_out_button_categories: tuple[str, ...] = field(
        default=("MARKETING",),
        metadata=_doc(
            "Categories a declared opt-out button suppresses (and an opt-in button lifts): "
            "MARKETING, UTILITY, AUTHENTICATION, SERVICE."
        ),
    )

    # --- runtime -------------------------------------------------------------
    uvloop: bool = field(
        default=False,
        metadata=_doc("Run on uvloop when installed (opt-in; see docs for known uvloop bugs)."),
    )

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


FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(Settings)}
_HINTS = typing.get_type_hints(Settings)


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _convert(name: str, raw: Any) -> Any:
    """Turn a YAML or environment value into the field's type, or raise ConfigError."""
    hint = _HINTS[name]
    setting = env_name(name)
    try:
        if hint is Secret:
            return Secret(str(raw).strip())
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("expected true or false")
        if hint is int:
            if isinstance(raw, bool):
                raise ValueError("expected an integer")
            return int(str(raw).strip())
        if hint is float:
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            return float(str(raw).strip())
        if typing.get_origin(hint) is tuple:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        if isinstance(raw, dict | list):
            raise ValueError("expected a string")
        return str(raw).strip()
    except ValueError as exc:
        raise ConfigError(setting, f"invalid value ({exc})") from None


def _read_secret_file(name: str, path: str) -> Secret:
    setting = env_name(name) + "_FILE"
    try:
        return Secret(Path(path).read_text().strip())
    except OSError as exc:
        raise ConfigError(setting, f"cannot read secret file: {exc.strerror}") from None


def _from_yaml(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError("--config", f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{path} must hold a mapping of settings")
    values: dict[str, Any] = {}
    for raw_key, raw in data.items():
        key = str(raw_key)
        if key.endswith("_file") and key[:-5] in FIELDS and FIELDS[key[:-5]].metadata["secret"]:
            values[key[:-5]] = _read_secret_file(key[:-5], str(raw))
            continue
        if key not in FIELDS:
            raise ConfigError(key, f"unknown setting in {path}" + _suggest(key, _YAML_KEYS))
        if FIELDS[key].metadata["secret"]:
            raise ConfigError(
                env_name(key),
                f"secrets may not be written in the config file; use {env_name(key)}_FILE "
                f"or {key}_file",
            )
        values[key] = _convert(key, raw)
    return values


# Every name the loader reads, derived from the field declarations, so a
# setting added there is known here without a second list.
_ENV_NAMES = frozenset(
    [env_name(name) for name in FIELDS]
    + [env_name(name) + "_FILE" for name, spec in FIELDS.items() if spec.metadata["secret"]]
)
_YAML_KEYS = frozenset(
    [*FIELDS, *(name + "_file" for name, spec in FIELDS.items() if spec.metadata["secret"])]
)


def _suggest(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _refuse_unknown_env(env: Mapping[str, str]) -> None:
    """A ``WA_SIDECAR_*`` variable no setting reads is a typo (a Helm value
    that would otherwise be ignored in silence): refuse it, with the closest name."""
    for var in sorted(env):
        if var.startswith(ENV_PREFIX) and var not in _ENV_NAMES:
            raise ConfigError(var, "unknown setting" + _suggest(var, _ENV_NAMES))


def load_settings(
    config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults ← YAML file ← environment; validated. Raises ConfigError."""
    env = os.environ if environ is None else environ
    _refuse_unknown_env(env)
    values: dict[str, Any] = _from_yaml(config_file) if config_file else {}
    for name, spec in FIELDS.items():
        var = env_name(name)
        if var in env:
            values[name] = _convert(name, env[var])
        elif spec.metadata["secret"] and env.get(var + "_FILE"):
            values[name] = _read_secret_file(name, env[var + "_FILE"])
    settings = Settings(**values)
    validate(settings)
    return settings


def _check_addr(name: str, value: str, *, optional: bool = False) -> str:
    """Validate ``host:port`` (IPv6 in brackets); returns the host."""
    setting = env_name(name)
    if not value:
        if optional:
            return ""
        raise ConfigError(setting, "must be host:port")
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ConfigError(setting, f"must be host:port, got {value!r}")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(setting, f"port must be 0-65535, got {port!r}")
    return host.strip("[]")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "unix"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(env_name(name), f"must be {'≥' if allow_zero else '>'} 0, got {value}")


def validate(s: Settings) -> None:
    """Check every setting; raise ConfigError naming the first bad one."""
    grpc_host = _check_addr("grpc_addr", s.grpc_addr)
    _check_addr("admin_addr", s.admin_addr)
    _check_addr("health_addr", s.health_addr, optional=True)
    if s.env not in ENVIRONMENTS:
        raise ConfigError(env_name("env"), f"must be one of {', '.join(ENVIRONMENTS)}")
    if s.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(env_name("log_level"), f"must be one of {', '.join(LOG_LEVELS)}")
    if not 0 <= s.request_log_sample <= 1:
        raise ConfigError(env_name("request_log_sample"), "must be between 0 and 1")
    if not s.graph_base_url.startswith(("http://", "https://")):
        raise ConfigError(env_name("graph_base_url"), "must start with http:// or https://")
    if not s.graph_api_version.startswith("v"):
        raise ConfigError(env_name("graph_api_version"), "must look like v24.0")
    if not s.state_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(env_name("state_url"), "must be sqlite:///path or postgresql://…")
    if not s.quota_url.startswith(("memory://", "redis://", "rediss://")):
        raise ConfigError(env_name("quota_url"), "must be memory:// or redis://…")
    if s.quota_fail_mode not in ("", "open", "closed"):
        raise ConfigError(env_name("quota_fail_mode"), "must be open or closed")
    if not 0 < s.quota_fail_open_fraction <= 1:
        raise ConfigError(env_name("quota_fail_open_fraction"), "must be > 0 and ≤ 1")
    if not s.quota_key_prefix:
        raise ConfigError(env_name("quota_key_prefix"), "must not be empty")
    for name in (
        "send_rate",
        "graph_timeout",
        "pair_interval",
        "service_window_hours",
        "batch_chunk_interval",
        "retry_base_delay",
        "retry_max_delay",
        "dedup_ttl",
        "retention_interval",
        "approval_ttl",
        "owner_lease_ttl",
        "owner_heartbeat_interval",
    ):
        _positive(name, getattr(s, name))
    if s.owner_heartbeat_interval >= s.owner_lease_ttl:
        raise ConfigError(
            env_name("owner_heartbeat_interval"), "must be shorter than WA_SIDECAR_OWNER_LEASE_TTL"
        )
    for name in (
        "send_burst",
        "send_max_wait",
        "token_refresh_before",
        "shutdown_grace",
        "ambiguous_resend_after",
    ):
        _positive(name, getattr(s, name), allow_zero=True)
    for name in (
        "graph_pool_size",
        "pair_burst",
        "batch_chunk_size",
        "batch_max_in_flight",
        "webhook_max_body",
        "retention_days",
    ):
        _positive(name, getattr(s, name))
    _positive("retry_max", s.retry_max, allow_zero=True)
    if 0 < s.send_burst < 1:
        raise ConfigError(
            env_name("send_burst"),
            f"must be 0 (the rate, at least 1) or ≥ 1; {s.send_burst} lets no message go",
        )
    if s.retention_days * 86400.0 < s.dedup_ttl:
        # A status's record is its dedup claim: purging it sooner would let a
        # re-delivery within the TTL count as new.
        raise ConfigError(
            env_name("retention_days"), "must cover WA_SIDECAR_DEDUP_TTL (records are dedup claims)"
        )
    _positive("messaging_limit", s.messaging_limit, allow_zero=True)
    if s.send_rate > 100_000:
        raise ConfigError(env_name("send_rate"), "must be ≤ 100000")
    if not 8 <= s.blind_index_bits <= 64:
        raise ConfigError(env_name("blind_index_bits"), "must be between 8 and 64")
    if s.webhook_rate_limit:
        _check_rate_limit(s.webhook_rate_limit)
    for name in ("webhook_allow_cidrs", "webhook_trusted_proxies"):
        for cidr in getattr(s, name):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(env_name(name), f"{cidr!r} is not a CIDR") from None
    _check_opt_out(s)
    if s.auth_file and not Path(s.auth_file).is_file():
        raise ConfigError(env_name("auth_file"), "file does not exist")
    if s.env == "prod":
        _check_prod(s, grpc_host)


_BUTTON_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION", "SERVICE")


def _check_opt_out(s: Settings) -> None:
    unknown = [name for name in s.opt_out_locales if name not in PACKS]
    if unknown:
        raise ConfigError(
            env_name("opt_out_locales"),
            f"unknown locale {unknown[0]!r}; known: {', '.join(PACKS)}",
        )
    if not s.opt_out_locales and not s.opt_out_keywords:
        raise ConfigError(
            env_name("opt_out_locales"),
            "no built-in pack and no WA_SIDECAR_OPT_OUT_KEYWORDS: nothing would opt out",
        )
    try:
        ButtonRules(s.opt_out_button_payloads)
    except ValueError as exc:
        raise ConfigError(env_name("opt_out_button_payloads"), str(exc)) from None
    try:
        OptOutMatcher(locales=s.opt_out_locales, extra_opt_out=s.opt_out_keywords)
    except ValueError as exc:
        raise ConfigError(env_name("opt_out_keywords"), str(exc)) from None
    if not s.opt_out_button_categories:
        raise ConfigError(env_name("opt_out_button_categories"), "must name a category")
    for name in s.opt_out_button_categories:
        if name.upper() not in _BUTTON_CATEGORIES:
            raise ConfigError(
                env_name("opt_out_button_categories"),
                f"{name!r} is not one of {', '.join(_BUTTON_CATEGORIES)}",
            )


def _check_rate_limit(text: str) -> None:
    from limits import parse  # imported here: only needed to validate

    try:
        parse(text)
    except ValueError:
        raise ConfigError(
            env_name("webhook_rate_limit"), f"{text!r} is not like 200/second"
        ) from None


def _check_prod(s: Settings, grpc_host: str) -> None:
    """Production guards (SPEC §10)."""
    for name in ("access_token", "app_secret", "verify_token"):
        if not getattr(s, name):
            raise ConfigError(env_name(name), f"required when {env_name('env')}=prod")
    if not s.encryption_key:
        raise ConfigError(
            env_name("encryption_key"),
            "required when WA_SIDECAR_ENV=prod (no generated dev key in production)",
        )
    if not is_loopback(grpc_host) and not s.auth_file:
        raise ConfigError(
            env_name("grpc_addr"),
            "a non-loopback address needs caller authentication (WA_SIDECAR_AUTH_FILE) in prod",
        )
    if s.graph_base_url != DEFAULT_GRAPH_URL and not s.graph_base_url.startswith("https://"):
        raise ConfigError(env_name("graph_base_url"), "must be https:// in prod")


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


__all__ = ["ConfigError", "Secret", "Settings", "load_settings", "reference_table", "validate"]
