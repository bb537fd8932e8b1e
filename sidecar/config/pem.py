"""Offline checks of PEM files named by settings (TLS pairs, CA bundles).

``check-config`` runs them, so a certificate that does not parse, a key that
does not belong to its certificate or an empty CA bundle is an error naming
the variable before the process ever listens.

    check_pair("WA_SIDECAR_TLS_CERT_FILE", cert, "WA_SIDECAR_TLS_KEY_FILE", key)
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sidecar.errors import ConfigError


def _read(setting: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(setting, f"cannot read {path}: {exc.strerror}") from None


def certificates(setting: str, path: str) -> list[x509.Certificate]:
    """Every certificate in the PEM file; at least one."""
    try:
        found = x509.load_pem_x509_certificates(_read(setting, path))
    except ValueError:
        found = []
    if not found:
        raise ConfigError(setting, f"{path} holds no PEM certificate")
    return found


def check_pair(cert_setting: str, cert_path: str, key_setting: str, key_path: str) -> None:
    """The key parses and belongs to the first certificate of the chain."""
    leaf = certificates(cert_setting, cert_path)[0]
    try:
        key = serialization.load_pem_private_key(_read(key_setting, key_path), password=None)
    except (ValueError, TypeError):
        # The parser's message could quote key bytes: say only what is wrong.
        raise ConfigError(
            key_setting, f"{key_path} is not an unencrypted PEM private key"
        ) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != leaf.public_key().public_bytes(der, public):
        raise ConfigError(key_setting, f"does not match the certificate in {cert_setting}")
