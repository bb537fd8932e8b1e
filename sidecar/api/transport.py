"""How the listeners are reached: Unix sockets, TLS and mTLS, certificate reloads.

- ``bind`` puts a gRPC server on ``host:port`` or ``unix:///path`` (the socket
  file gets mode 0660: the sidecar's user and group, e.g. an app container
  sharing the volume and group), in plaintext or with server credentials.
- ``GrpcTls`` builds ``grpc.dynamic_ssl_server_credentials``: gRPC asks its
  fetcher before each handshake, and the fetcher hands over new certificates
  when the files changed (cert-manager renewing them), at most one ``stat``
  round per second. With a client CA, callers must present a certificate it
  signed.
- ``IngressTls`` is the admin listener's ``ssl.SSLContext``; ``watch`` loads
  the pair again into the same context when the files change, so new
  connections get the new certificate.

A changed pair that does not parse or match is logged and counted
(``wa_sidecar_tls_reloads_total{result="invalid"}``); the old one stays.

    tls = GrpcTls(cert, key, client_ca, metrics)
    port = bind(server, "0.0.0.0:50051", "WA_SIDECAR_GRPC_ADDR", tls.credentials())
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import stat
import threading
import time
from pathlib import Path
from typing import Any

import grpc

from sidecar.config import Settings
from sidecar.config.pem import check_pair
from sidecar.config.rules import UNIX_PREFIX, is_unix
from sidecar.errors import ConfigError
from sidecar.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

SOCKET_MODE = 0o660
_RECHECK_SECONDS = 1.0


class CertFiles:
    """The files of one certificate configuration and whether they changed."""

    def __init__(self, *paths: str) -> None:
        self.paths = tuple(p for p in paths if p)
        self._seen = self._signature()

    def _signature(self) -> tuple[tuple[int, int, int], ...]:
        found = []
        for path in self.paths:
            try:
                st = os.stat(path)  # follows a Secret volume's ..data link
            except OSError:
                found.append((0, 0, 0))
                continue
            found.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(found)

    def changed(self) -> bool:
        """True once per change since the last call (or since construction)."""
        seen = self._signature()
        if seen == self._seen:
            return False
        self._seen = seen
        return True


def _valid_pair(cert: str, key: str, listener: str, metrics: Metrics) -> bool:
    try:
        check_pair("certificate", cert, "key", key)
    except ConfigError as exc:
        log.error(
            "new certificate files refused; the previous ones stay in use: %s",
            exc,
            extra={"event": "tls_reload_failed", "listener": listener},
        )
        metrics.tls_reloads.labels(listener, "invalid").inc()
        return False
    return True


class GrpcTls:
    """TLS (and with ``client_ca``, mTLS) credentials for the gRPC API."""

    def __init__(self, cert: str, key: str, client_ca: str, metrics: Metrics) -> None:
        self._cert, self._key, self._ca = cert, key, client_ca
        self._files = CertFiles(cert, key, client_ca)
        self._metrics = metrics
        self._lock = threading.Lock()  # gRPC calls the fetcher from its own threads
        self._next_check = 0.0

    def _configuration(self) -> Any:
        ca = Path(self._ca).read_bytes() if self._ca else None
        pair = (Path(self._key).read_bytes(), Path(self._cert).read_bytes())
        return grpc.ssl_server_certificate_configuration([pair], root_certificates=ca)

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self._configuration(), self._fetch, require_client_authentication=bool(self._ca)
        )

    def _fetch(self) -> Any:
        """gRPC's fetcher: None keeps the configuration in use."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_check:
                return None
            self._next_check = now + _RECHECK_SECONDS
            if not self._files.changed():
                return None
            if not _valid_pair(self._cert, self._key, "grpc", self._metrics):
                return None
            try:
                configuration = self._configuration()
            except OSError:
                self._metrics.tls_reloads.labels("grpc", "invalid").inc()
                return None
        self._metrics.tls_reloads.labels("grpc", "ok").inc()
        log.info("gRPC certificates reloaded", extra={"event": "tls_reloaded", "listener": "grpc"})
        return configuration


class IngressTls:
    """HTTPS for the admin listener (webhook ingress, /metrics, probes)."""

    def __init__(self, cert: str, key: str, metrics: Metrics) -> None:
        self._cert, self._key = cert, key
        self._files = CertFiles(cert, key)
        self._metrics = metrics
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)

    def reload_if_changed(self) -> bool:
        if not self._files.changed():
            return False
        if not _valid_pair(self._cert, self._key, "ingress", self._metrics):
            return False
        try:
            self.context.load_cert_chain(self._cert, self._key)
        except (OSError, ssl.SSLError):
            self._metrics.tls_reloads.labels("ingress", "invalid").inc()
            return False
        self._metrics.tls_reloads.labels("ingress", "ok").inc()
        log.info(
            "ingress certificates reloaded", extra={"event": "tls_reloaded", "listener": "ingress"}
        )
        return True

    async def watch(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if not stop.is_set():
                await asyncio.to_thread(self.reload_if_changed)


def listener_tls(s: Settings, metrics: Metrics) -> tuple[GrpcTls | None, IngressTls | None]:
    """The gRPC API's TLS and the admin listener's HTTPS, where configured."""
    grpc_tls = (
        GrpcTls(s.tls_cert_file, s.tls_key_file, s.tls_client_ca_file, metrics)
        if s.tls_cert_file
        else None
    )
    https = (
        IngressTls(s.ingress_tls_cert_file, s.ingress_tls_key_file, metrics)
        if s.ingress_tls_cert_file
        else None
    )
    return grpc_tls, https


def bind(
    server: grpc.aio.Server,
    addr: str,
    setting: str,
    credentials: grpc.ServerCredentials | None = None,
) -> int:
    """Listen on ``addr``; the port (0 for a Unix socket). ConfigError if we cannot."""
    if is_unix(addr):
        return _bind_unix(server, addr, setting, credentials)
    try:
        port: int = (
            server.add_secure_port(addr, credentials)
            if credentials is not None
            else server.add_insecure_port(addr)
        )
    except RuntimeError:
        port = 0
    if port == 0 and not addr.endswith(":0"):
        raise ConfigError(setting, f"cannot listen on {addr} (in use or not a local address)")
    return port


def _bind_unix(
    server: grpc.aio.Server, addr: str, setting: str, credentials: grpc.ServerCredentials | None
) -> int:
    path = Path(addr.removeprefix(UNIX_PREFIX))
    if not path.parent.is_dir():
        raise ConfigError(setting, f"cannot listen on {addr}: {path.parent} is not a directory")
    with contextlib.suppress(FileNotFoundError):
        # A socket left by a killed process; anything else at the path is not ours.
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ConfigError(setting, f"cannot listen on {addr}: the path exists, not a socket")
        path.unlink()
    previous = os.umask(0o117)  # created 0660: no moment when others may connect
    try:
        bound = (
            server.add_secure_port(addr, credentials)
            if credentials is not None
            else server.add_insecure_port(addr)
        )
    except RuntimeError:
        bound = 0
    finally:
        os.umask(previous)
    if not bound:
        raise ConfigError(setting, f"cannot listen on {addr}")
    path.chmod(SOCKET_MODE)
    return 0
