"""The first half of the settings: where the sidecar listens, how its
transport is protected, who may call it, and where its secrets come from.

``Settings`` (``fields.py``) extends ``EdgeSettings``, so these come first in
the README table. ``setting()`` declares a field for both halves: its default,
its why, whether it is a secret and the rules its value follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from sidecar.config.rules import (
    Rule,
    existing_file,
    grpc_address,
    host_port,
    non_negative,
    positive,
    rule,
)
from sidecar.config.secret import Secret

T = TypeVar("T")

SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105  # a path


def setting(
    default: T, doc: str, *, secret: bool = False, check: Rule | tuple[Rule, ...] = ()
) -> T:
    """A field: its default, its why, whether it is a secret, its rules (run in order)."""
    rules = check if isinstance(check, tuple) else (check,)
    return field(default=default, metadata={"doc": doc, "secret": secret, "check": rules})


_http_url = rule(
    lambda v: not v or v.startswith(("http://", "https://")),
    "must start with http:// or https://",
)


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """Listeners, TLS, caller auth and secret sources; see ``Settings``."""

    # --- listeners -----------------------------------------------------------
    grpc_addr: str = setting(
        "127.0.0.1:50051",
        "gRPC API listen address: host:port (loopback keeps it private to the pod) or"
        " unix:///path.sock (a Unix socket, mode 0660, for callers sharing a volume).",
        check=grpc_address,
    )
    admin_addr: str = setting(
        "127.0.0.1:9464",
        "HTTP listener for /metrics, /healthz, /readyz and the optional webhook ingress.",
        check=host_port(),
    )
    health_addr: str = setting(
        "",
        "Extra gRPC listener serving only grpc.health.v1, for kubelet probes on the pod IP "
        "(empty = off; always plaintext).",
        check=host_port(optional=True),
    )

    # --- transport security --------------------------------------------------
    tls_cert_file: str = setting(
        "",
        "PEM certificate (chain) of the gRPC API; with WA_SIDECAR_TLS_KEY_FILE the API"
        " speaks TLS. Both files are re-read when they change (cert-manager).",
        check=existing_file,
    )
    tls_key_file: str = setting(
        "", "PEM private key of WA_SIDECAR_TLS_CERT_FILE.", check=existing_file
    )
    tls_client_ca_file: str = setting(
        "",
        "PEM CA bundle: with it, gRPC callers must present a certificate it signed (mTLS);"
        " re-read when it changes.",
        check=existing_file,
    )
    ingress_tls_cert_file: str = setting(
        "",
        "PEM certificate (chain) of the admin listener: with WA_SIDECAR_INGRESS_TLS_KEY_FILE"
        " it serves HTTPS (webhook ingress, /metrics, probes); may be the gRPC pair;"
        " re-read when it changes.",
        check=existing_file,
    )
    ingress_tls_key_file: str = setting(
        "", "PEM private key of WA_SIDECAR_INGRESS_TLS_CERT_FILE.", check=existing_file
    )

    # --- callers -------------------------------------------------------------
    auth_file: str = setting(
        "",
        "YAML file of principals, token hashes and roles; empty = no caller auth "
        "(loopback dev only).",
        check=existing_file,
    )
    approval_ttl: float = setting(
        86400.0,
        "Seconds a four-eyes operation (EraseSubject with caller auth on,"
        " OverrideSuppression) waits for a different approver before it expires.",
        check=positive,
    )

    # --- secret sources ------------------------------------------------------
    vault_addr: str = setting(
        "",
        "Vault or OpenBao address (https://vault:8200); set, the secrets come from the"
        " KV v2 secret at WA_SIDECAR_VAULT_PATH (keys it lacks: environment or files).",
        check=_http_url,
    )
    vault_path: str = setting(
        "",
        "KV v2 secret holding access_token, app_secret, verify_token, encryption_key:"
        " <mount>/<path>, e.g. secret/wa-sidecar/prod.",
    )
    vault_token: Secret = setting(
        Secret(""),
        "Vault token (token auth); re-read from its file when Vault refuses it.",
        secret=True,
    )
    vault_role: str = setting(
        "",
        "Vault Kubernetes auth role: the sidecar logs in with its service-account JWT"
        " (instead of a token).",
    )
    vault_auth_mount: str = setting("kubernetes", "Mount path of Vault's Kubernetes auth method.")
    vault_jwt_file: str = setting(
        SERVICE_ACCOUNT_TOKEN,
        "Service-account JWT presented to Vault's Kubernetes auth (re-read at each login).",
    )
    vault_ca_file: str = setting(
        "", "PEM CA bundle trusted for an https:// Vault address.", check=existing_file
    )
    vault_timeout: float = setting(5.0, "Seconds one Vault request may take.", check=positive)
    secret_reload_interval: float = setting(
        5.0,
        "Seconds between two looks at the secret sources (files' inode and mtime,"
        " Vault's KV version); a change is in force by the next look.",
        check=positive,
    )
    app_secret_overlap: float = setting(
        3600.0,
        "Seconds an App Secret replaced at runtime is still accepted beside the new one,"
        " so webhooks signed during a rotation still verify.",
        check=non_negative,
    )
