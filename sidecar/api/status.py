"""The one mapping from domain errors to gRPC status codes.

Servicer methods are wrapped with ``@unary`` / ``@stream``; a domain error
becomes its status code with a message that never holds a number or secret.
Anything else is a bug: it is logged with its traceback and answered
INTERNAL with a generic message (no exception text reaches the caller).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

import grpc

from sidecar import errors

log = logging.getLogger(__name__)

CODES: Final[Mapping[type[errors.SidecarError], grpc.StatusCode]] = {
    errors.InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.IdempotencyConflict: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PreconditionFailed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DecryptionError: grpc.StatusCode.DATA_LOSS,
}
"""Domain error → status; a subclass answers as its nearest listed ancestor."""

BUG_MESSAGE: Final = "internal error; see the sidecar logs"
# Raised by context.abort itself, or by misuse of the context: already an answer.
_ANSWERED = (grpc.aio.AbortError, grpc.aio.UsageError)


def to_status(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The code and caller-safe message for ``exc``; INTERNAL for anything unlisted."""
    for kind in type(exc).__mro__:
        code = CODES.get(kind)
        if code is not None:
            return code, str(exc)
    return grpc.StatusCode.INTERNAL, BUG_MESSAGE


async def _abort(context: Any, exc: Exception, where: str) -> None:
    code, message = to_status(exc)
    if code is grpc.StatusCode.INTERNAL:
        log.error("unhandled error in %s", where, exc_info=exc, extra={"event": "bug"})
    await context.abort(code, message)


Req = TypeVar("Req")
Resp = TypeVar("Resp")
Self = TypeVar("Self")


def unary(
    method: Callable[[Self, Req, Any], Awaitable[Resp]],
) -> Callable[[Self, Req, Any], Awaitable[Resp]]:
    """Translate errors of a unary (or client-streaming) servicer method."""

    @functools.wraps(method)
    async def wrapper(self: Self, request: Req, context: Any) -> Resp:
        try:
            return await method(self, request, context)
        except _ANSWERED:
            raise
        except Exception as exc:
            await _abort(context, exc, method.__qualname__)
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


def stream(
    method: Callable[[Self, Req, Any], AsyncIterator[Resp]],
) -> Callable[[Self, Req, Any], AsyncIterator[Resp]]:
    """Translate errors of a server-streaming (or bidi) servicer method."""

    @functools.wraps(method)
    async def wrapper(self: Self, request: Req, context: Any) -> AsyncIterator[Resp]:
        try:
            async for item in method(self, request, context):
                yield item
        except _ANSWERED:
            raise
        except Exception as exc:
            await _abort(context, exc, method.__qualname__)

    return wrapper
