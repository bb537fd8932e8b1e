"""Settings → secret sources: the one place that chooses them.

The environment first, then the files named by ``*_FILE`` variables, then
Vault when ``WA_SIDECAR_VAULT_ADDR`` is set; later sources win per key.

    keeper = SecretKeeper(secret_sources(settings), metrics, interval=5.0)
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

from sidecar.config import ConfigError, Secret, Settings
from sidecar.secrets.base import KEYS, SecretSource
from sidecar.secrets.env import EnvSource
from sidecar.secrets.files import FileSource
from sidecar.secrets.vault import KubernetesAuth, TokenAuth, VaultAuth, VaultSource


def secret_sources(settings: Settings) -> list[SecretSource]:
    """The sources the settings name, in merge order (call inside the event loop)."""
    held: dict[str, Secret] = {key: getattr(settings, key) for key in KEYS}
    sources: list[SecretSource] = [
        EnvSource({key: value for key, value in held.items() if value and not value.file})
    ]
    files = {key: value.file for key, value in held.items() if value.file}
    if files:
        sources.append(FileSource(files))
    if settings.vault_addr:
        sources.append(_vault(settings))
    return sources


def _vault(settings: Settings) -> VaultSource:
    auth: VaultAuth = (
        KubernetesAuth(settings.vault_role, settings.vault_jwt_file, settings.vault_auth_mount)
        if settings.vault_role
        else TokenAuth(settings.vault_token)
    )
    context = (
        ssl.create_default_context(cafile=settings.vault_ca_file)
        if settings.vault_ca_file
        else True
    )
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=2), skip_auto_headers=("User-Agent",)
    )
    return VaultSource(
        session,
        settings.vault_addr,
        settings.vault_path,
        auth,
        timeout=settings.vault_timeout,
    )


def in_force(settings: Settings, values: Mapping[str, Secret]) -> Settings:
    """``settings`` with the secrets the sources gave. With Vault in prod, a
    secret no source holds is a ``ConfigError`` naming the Vault path (the
    settings alone could not be checked for it offline)."""
    if settings.env == "prod" and settings.vault_addr:
        for key in KEYS:
            if not values.get(key):
                raise ConfigError(
                    "WA_SIDECAR_VAULT_PATH",
                    f"{key} is required when WA_SIDECAR_ENV=prod: not in {settings.vault_path}"
                    f" at {settings.vault_addr}, nor in the environment or a file",
                )
    given: dict[str, Any] = {key: value for key, value in values.items() if key in KEYS}
    return dataclasses.replace(settings, **given)
