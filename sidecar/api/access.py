"""Caller access control at the gRPC boundary (SPEC §4.10).

With ``WA_SIDECAR_AUTH_FILE`` set, every call but health and reflection
must carry ``authorization: Bearer <token>`` whose SHA-256 names a principal
of the file, and that principal needs the method's role
(``policy/access.REQUIRED_ROLE``); anything else is refused before the
servicer runs: ``UNAUTHENTICATED`` (no or unknown token) or
``PERMISSION_DENIED`` (a known principal without the role, written to the
audit log). The principal of an admitted call is ``caller()`` for the rest
of the call: audit actor, request log, span attribute, category limits.

``AccessControl`` keeps the file's principals and re-reads the file when it
changes (``watch``); an invalid new version is logged and counted, and the
previous principals stay in force.

    control = AccessControl.load(path, metrics)
    server = grpc.aio.server(interceptors=[telemetry, CallerAccess(control, on_denied)])
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import grpc
import yaml

from sidecar.api.status import to_status
from sidecar.errors import ConfigError, PermissionDenied, SidecarError, Unauthenticated
from sidecar.policy.access import (
    AccessFileError,
    AccessPolicy,
    Principal,
    Role,
    is_open,
    permits,
    required_role,
)
from sidecar.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

SETTING = "WA_SIDECAR_AUTH_FILE"
RELOAD_SECONDS = 2.0
"""How often the auth file's size, mtime and inode are compared."""

_CALLER: ContextVar[Principal | None] = ContextVar("wa_sidecar_caller", default=None)

Handler = Any  # grpc.RpcMethodHandler (untyped)
OnDenied = Callable[[Principal, str, Role | None], Awaitable[None]]


ANONYMOUS = Principal("unauthenticated", frozenset())
"""The caller of a call refused for want of a valid token."""

LOCAL_ACTOR = "local"
"""Every caller's name when caller authentication is off."""


def caller() -> Principal | None:
    """The principal of the current call: None when auth is off."""
    return _CALLER.get()


def actor_of(context: Any) -> str:
    """The name the audit log, request log and spans give the caller.

    With auth on it is the token's principal and nothing the caller says
    about itself counts. Without auth there is no identity to check: a
    caller may label itself with ``x-wa-sidecar-principal`` metadata (for
    development), else it is ``local``.
    """
    principal = _CALLER.get()
    if principal is not None:
        return principal.name
    for key, value in context.invocation_metadata() or ():
        if key == "x-wa-sidecar-principal" and isinstance(value, str):
            return value[:128]
    return LOCAL_ACTOR


def read_policy(path: str | Path) -> AccessPolicy:
    """Parse the auth file; ``ConfigError`` names the setting and the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(SETTING, f"cannot read the file: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(SETTING, f"not valid YAML{where}") from None
    try:
        return AccessPolicy.from_document(doc)
    except AccessFileError as exc:
        raise ConfigError(SETTING, str(exc)) from None


def _signature(path: str | Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class AccessControl:
    """The principals in force, and the watcher that reloads them."""

    def __init__(self, path: str | Path, policy: AccessPolicy, metrics: Metrics) -> None:
        self.path = path
        self.policy = policy
        self._metrics = metrics
        self._seen = _signature(path)

    @classmethod
    def load(cls, path: str | Path, metrics: Metrics) -> AccessControl:
        return cls(path, read_policy(path), metrics)

    async def reload_if_changed(self) -> bool:
        """Re-read the file if it changed since the last look; True when the
        principals were replaced. A Kubernetes Secret volume swaps a symlink,
        which changes the inode: that counts as a change too."""
        seen = await asyncio.to_thread(_signature, self.path)
        if seen == self._seen:
            return False
        self._seen = seen
        if seen is None:
            log.error(
                "auth file disappeared; the previous principals stay in force",
                extra={"event": "auth_reload_failed"},
            )
            self._metrics.access_reloads.labels("invalid").inc()
            return False
        try:
            policy = await asyncio.to_thread(read_policy, self.path)
        except ConfigError as exc:
            log.error(
                "auth file is invalid; the previous principals stay in force: %s",
                exc.problem,
                extra={"event": "auth_reload_failed"},
            )
            self._metrics.access_reloads.labels("invalid").inc()
            return False
        self.policy = policy
        self._metrics.access_reloads.labels("ok").inc()
        log.info(
            "auth file reloaded",
            extra={"event": "auth_reloaded", "principals": len(policy)},
        )
        return True

    async def watch(self, stop: asyncio.Event, interval: float = RELOAD_SECONDS) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if not stop.is_set():
                await self.reload_if_changed()


class CallerAccess(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # untyped base
    """Admits a call whose principal has the method's role; refuses the rest."""

    def __init__(self, control: AccessControl, metrics: Metrics, on_denied: OnDenied) -> None:
        self._control = control
        self._metrics = metrics
        self._on_denied = on_denied

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Handler]],
        handler_call_details: Any,
    ) -> Handler:
        method: str = handler_call_details.method
        if is_open(method):
            return await continuation(handler_call_details)
        authorization = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                authorization = value if isinstance(value, str) else None
                break
        principal = self._control.policy.authenticate(authorization)
        handler = await continuation(handler_call_details)
        if handler is None:  # no such method: gRPC answers UNIMPLEMENTED
            return None
        if principal is None:
            _CALLER.set(ANONYMOUS)
            self._metrics.access_denials.labels("unauthenticated").inc()
            return self._refusal(
                method,
                handler,
                Unauthenticated("a valid 'authorization: Bearer <token>' is required"),
            )
        _CALLER.set(principal)  # the call's own task runs the handler next
        if not permits(principal, method):
            role = required_role(method)
            self._metrics.access_denials.labels("permission_denied").inc()
            needed = role.value if role is not None else "a role"
            return self._refusal(
                method,
                handler,
                PermissionDenied(
                    f"principal {principal.name!r} lacks the {needed!r} role for this method"
                ),
                denied=(principal, role),
            )
        return handler

    def _refusal(
        self,
        method: str,
        handler: Handler,
        error: SidecarError,
        denied: tuple[Principal, Role | None] | None = None,
    ) -> Handler:
        """A handler of the method's own kind that answers ``error``'s status
        (``api/status.py``); a role denial is audited first (if the audit
        write fails the caller is still refused)."""
        on_denied = self._on_denied
        code, message = to_status(error)

        async def refuse(context: Any) -> None:
            if denied is not None:
                try:
                    await on_denied(denied[0], method, denied[1])
                except Exception:  # the refusal stands whatever the audit log does
                    log.exception("could not audit an access denial", extra={"event": "bug"})
            await context.abort(code, message)

        async def unary(request: Any, context: Any) -> Any:
            await refuse(context)

        async def streaming(request: Any, context: Any) -> Any:
            await refuse(context)
            yield  # pragma: no cover  # abort raised above

        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=None, response_serializer=None
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                streaming, request_deserializer=None, response_serializer=None
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                unary, request_deserializer=None, response_serializer=None
            )
        return grpc.stream_stream_rpc_method_handler(
            streaming, request_deserializer=None, response_serializer=None
        )
