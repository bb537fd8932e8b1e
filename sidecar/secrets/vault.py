"""Vault / OpenBao KV v2 as a secret source, over plain aiohttp.

One GET per look: ``/v1/<mount>/data/<path>`` answers the secret's keys and
its ``metadata.version``; the version is the reading's revision, so new
values are taken exactly when Vault says the secret changed. Two ways to log
in:

- token auth: ``WA_SIDECAR_VAULT_TOKEN`` or ``..._FILE`` (a file that an agent
  may rewrite: it is read again when Vault refuses the token);
- Kubernetes auth: ``WA_SIDECAR_VAULT_ROLE`` plus the service-account JWT,
  exchanged at ``/v1/auth/<mount>/login`` for a token, renewed by logging in
  again before its lease ends or when Vault refuses it.

    source = VaultSource(session, "https://vault:8200", "secret/wa-sidecar",
                         TokenAuth(Secret("s.…")), timeout=5.0)

Any failure (refused connection, timeout, 5xx, a refused login) raises
``SecretSourceUnavailable`` naming the address and the cause class — never a
token or a value.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from sidecar.config import Secret
from sidecar.errors import SecretSourceUnavailable
from sidecar.secrets.base import KEYS, Reading

_RENEW_AT = 0.8  # share of a login's lease after which the next look logs in again


class VaultAuth(Protocol):
    """Gives the token to send; ``forget`` after Vault refused it."""

    async def token(self, vault: VaultSource) -> str: ...

    def forget(self) -> None: ...


class TokenAuth:
    """A fixed token, or one read again from its file after a refusal."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    async def token(self, vault: VaultSource) -> str:
        return self._token.reveal()

    def forget(self) -> None:
        if self._token.file:
            try:
                fresh = Path(self._token.file).read_text().strip()
            except OSError:
                return  # the next look fails the same way and says so
            self._token = Secret(fresh, file=self._token.file)


class KubernetesAuth:
    """Log in with the pod's service-account JWT under ``role``."""

    def __init__(
        self,
        role: str,
        jwt_file: str,
        mount: str = "kubernetes",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._role = role
        self._jwt_file = jwt_file
        self._mount = mount.strip("/")
        self._clock = clock
        self._token = ""
        self._renew_at = 0.0

    async def token(self, vault: VaultSource) -> str:
        if self._token and self._clock() < self._renew_at:
            return self._token
        try:
            jwt = (await asyncio.to_thread(Path(self._jwt_file).read_text)).strip()
        except OSError as exc:
            raise SecretSourceUnavailable(
                f"service-account token {self._jwt_file}: {exc.strerror}"
            ) from None
        body = await vault.call(
            "POST", f"auth/{self._mount}/login", json={"role": self._role, "jwt": jwt}
        )
        auth = body.get("auth") if isinstance(body, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise SecretSourceUnavailable(f"Vault at {vault.where}: login answered no token")
        lease = auth.get("lease_duration") if isinstance(auth, dict) else None
        seconds = float(lease) if isinstance(lease, int | float) and lease > 0 else 3600.0
        self._token, self._renew_at = token, self._clock() + _RENEW_AT * seconds
        return token

    def forget(self) -> None:
        self._token = ""


class _Refused(Exception):
    """Vault answered 401/403: the token is not (or no longer) good."""


class VaultSource:
    """The KV v2 secret at ``path`` (``<mount>/<rest>``) on the Vault at ``addr``."""

    name = "vault"
    setting = "WA_SIDECAR_VAULT_ADDR"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        addr: str,
        path: str,
        auth: VaultAuth,
        *,
        timeout: float,
    ) -> None:
        self._session = session
        self.where = addr.rstrip("/")
        mount, _, rest = path.strip("/").partition("/")
        # Accept the API form too: "secret/data/app" is the secret "app" of "secret".
        rest = rest.removeprefix("data/")
        self._data_path = f"{mount}/data/{rest}"
        self._auth = auth
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def call(
        self, method: str, path: str, *, token: str = "", json: dict[str, Any] | None = None
    ) -> Any:
        """One Vault API call; the JSON answer. 401/403 raise ``_Refused``."""
        headers = {"X-Vault-Token": token} if token else {}
        url = f"{self.where}/v1/{path}"
        try:
            async with self._session.request(
                method, url, json=json, headers=headers, timeout=self._timeout
            ) as response:
                if response.status in (401, 403):
                    raise _Refused
                if response.status == 404:
                    raise SecretSourceUnavailable(f"Vault at {self.where}: nothing at {path} (404)")
                if response.status >= 300:
                    raise SecretSourceUnavailable(
                        f"Vault at {self.where} answered HTTP {response.status} for {path}"
                    )
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SecretSourceUnavailable(
                f"Vault at {self.where} unreachable ({type(exc).__name__})"
            ) from None

    async def _get(self) -> Any:
        for attempt in range(2):
            try:
                token = await self._auth.token(self)
                return await self.call("GET", self._data_path, token=token)
            except _Refused:
                # A rotated token file, an expired login: once more with a new one.
                self._auth.forget()
                if attempt:
                    break
        raise SecretSourceUnavailable(f"Vault at {self.where} refused the sidecar's token")

    async def read(self, since: Reading | None) -> Reading | None:
        body = await self._get()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise SecretSourceUnavailable(f"Vault at {self.where}: not a KV v2 answer")
        version = str((data.get("metadata") or {}).get("version", ""))
        if since is not None and version and since.revision == version:
            return None
        found = data.get("data") or {}
        values: dict[str, Secret] = {}
        for key in KEYS:
            value = found.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise SecretSourceUnavailable(
                    f"Vault at {self.where}: {key} in {self._data_path} is not a string"
                )
            values[key] = Secret(value.strip())
        if not version:  # KV v2 always versions; a bare KV answer gets a digest instead
            joined = "\0".join(f"{k}={v.reveal()}" for k, v in sorted(values.items()))
            version = "sha256:" + hashlib.sha256(joined.encode()).hexdigest()
        return Reading(values, version)

    async def close(self) -> None:
        await self._session.close()
