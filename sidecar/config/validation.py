"""Checking a whole ``Settings``: each field's own rules, then the rules that
join fields, then the production guards (SPEC §10).

``validate`` raises ``ConfigError`` naming the first bad setting;
``load_settings`` and ``wa-sidecar check-config`` run it.
"""

from __future__ import annotations

from sidecar.config.fields import DEFAULT_GRAPH_URL, FIELDS, Settings, env_name
from sidecar.config.rules import host_of, is_loopback
from sidecar.errors import ConfigError
from sidecar.policy.optout import OptOutMatcher


def validate(s: Settings) -> None:
    """Check every setting; raise ConfigError naming the first bad one."""
    for name, spec in FIELDS.items():
        for check in spec.metadata["check"]:
            try:
                check(getattr(s, name))
            except ValueError as exc:
                raise ConfigError(env_name(name), str(exc)) from None
    _check_together(s)
    if s.env == "prod":
        _check_prod(s)


def _check_together(s: Settings) -> None:
    """Rules that join two or more settings."""
    if s.owner_heartbeat_interval >= s.owner_lease_ttl:
        raise ConfigError(
            env_name("owner_heartbeat_interval"), "must be shorter than WA_SIDECAR_OWNER_LEASE_TTL"
        )
    if s.retention_days * 86400.0 < s.dedup_ttl:
        # A status's record is its dedup claim: purging it sooner would let a
        # re-delivery within the TTL count as new.
        raise ConfigError(
            env_name("retention_days"), "must cover WA_SIDECAR_DEDUP_TTL (records are dedup claims)"
        )
    if not s.opt_out_locales and not s.opt_out_keywords:
        raise ConfigError(
            env_name("opt_out_locales"),
            "no built-in pack and no WA_SIDECAR_OPT_OUT_KEYWORDS: nothing would opt out",
        )
    try:
        # A configured keyword may clash with an opt-in word of a kept pack.
        OptOutMatcher(locales=s.opt_out_locales, extra_opt_out=s.opt_out_keywords)
    except ValueError as exc:
        raise ConfigError(env_name("opt_out_keywords"), str(exc)) from None


def _check_prod(s: Settings) -> None:
    """Production guards (SPEC §10)."""
    for name in ("access_token", "app_secret", "verify_token"):
        if not getattr(s, name):
            raise ConfigError(env_name(name), f"required when {env_name('env')}=prod")
    if not s.encryption_key:
        raise ConfigError(
            env_name("encryption_key"),
            "required when WA_SIDECAR_ENV=prod (no generated dev key in production)",
        )
    if not is_loopback(host_of(s.grpc_addr)) and not s.auth_file:
        raise ConfigError(
            env_name("grpc_addr"),
            "a non-loopback address needs caller authentication (WA_SIDECAR_AUTH_FILE) in prod",
        )
    if s.graph_base_url != DEFAULT_GRAPH_URL and not s.graph_base_url.startswith("https://"):
        raise ConfigError(env_name("graph_base_url"), "must be https:// in prod")
