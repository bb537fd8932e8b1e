"""Checking a whole ``Settings``: each field's own rules, then the rules that
join fields, then the production guards (SPEC §10).

``validate`` raises ``ConfigError`` naming the first bad setting;
``load_settings`` and ``wa-sidecar check-config`` run it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sidecar.config.fields import DEFAULT_GRAPH_URL, FIELDS, Settings, env_name
from sidecar.config.pem import certificates, check_pair
from sidecar.config.rules import host_of, is_loopback, is_unix
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
    _check_transport(s)
    _check_vault(s)
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


def _pair(s: Settings, cert: str, key: str) -> bool:
    """Both files of a TLS pair or neither; a given pair is parsed and matched."""
    cert_path, key_path = getattr(s, cert), getattr(s, key)
    if bool(cert_path) != bool(key_path):
        missing, given = (key, cert) if cert_path else (cert, key)
        raise ConfigError(env_name(missing), f"required with {env_name(given)}")
    if cert_path:
        check_pair(env_name(cert), cert_path, env_name(key), key_path)
    return bool(cert_path)


def _check_transport(s: Settings) -> None:
    """TLS pairs complete and matching; mTLS only on top of TLS."""
    tls = _pair(s, "tls_cert_file", "tls_key_file")
    _pair(s, "ingress_tls_cert_file", "ingress_tls_key_file")
    if s.tls_client_ca_file:
        if not tls:
            raise ConfigError(
                env_name("tls_client_ca_file"),
                "mTLS needs TLS: set WA_SIDECAR_TLS_CERT_FILE and WA_SIDECAR_TLS_KEY_FILE",
            )
        certificates(env_name("tls_client_ca_file"), s.tls_client_ca_file)


def _check_vault(s: Settings) -> None:
    """A Vault address needs a path and exactly one way to log in."""
    vault_names = ("vault_path", "vault_token", "vault_role")
    if not s.vault_addr:
        for name in vault_names:
            if getattr(s, name):
                raise ConfigError(env_name(name), "needs WA_SIDECAR_VAULT_ADDR")
        return
    path = s.vault_path.strip("/")
    if "/" not in path:
        raise ConfigError(
            env_name("vault_path"), "required with WA_SIDECAR_VAULT_ADDR: <mount>/<path>"
        )
    if bool(s.vault_token) == bool(s.vault_role):
        raise ConfigError(
            env_name("vault_token"),
            "set exactly one of WA_SIDECAR_VAULT_TOKEN(_FILE) and WA_SIDECAR_VAULT_ROLE",
        )
    if s.vault_role and not s.vault_jwt_file:
        raise ConfigError(env_name("vault_jwt_file"), "required with WA_SIDECAR_VAULT_ROLE")
    if s.vault_ca_file:
        certificates(env_name("vault_ca_file"), s.vault_ca_file)


def _check_prod(s: Settings) -> None:
    """Production guards (SPEC §10). With Vault, the secrets are checked once
    read at start (``secrets/keeper.py``): they are not in the settings."""
    if not s.vault_addr:
        for name in ("access_token", "app_secret", "verify_token"):
            if not getattr(s, name):
                raise ConfigError(env_name(name), f"required when {env_name('env')}=prod")
        if not s.encryption_key:
            raise ConfigError(
                env_name("encryption_key"),
                "required when WA_SIDECAR_ENV=prod (no generated dev key in production)",
            )
    elif s.vault_addr.startswith("http://") and not is_loopback(
        urlsplit(s.vault_addr).hostname or ""
    ):
        raise ConfigError(env_name("vault_addr"), "must be https:// in prod (or loopback)")
    if (
        not is_unix(s.grpc_addr)
        and not is_loopback(host_of(s.grpc_addr))
        and not (s.auth_file or s.tls_cert_file)
    ):
        raise ConfigError(
            env_name("grpc_addr"),
            "a non-loopback address needs TLS (WA_SIDECAR_TLS_CERT_FILE) or caller"
            " authentication (WA_SIDECAR_AUTH_FILE) in prod",
        )
    if s.graph_base_url != DEFAULT_GRAPH_URL and not s.graph_base_url.startswith("https://"):
        raise ConfigError(env_name("graph_base_url"), "must be https:// in prod")
