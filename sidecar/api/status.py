"""The one mapping from domain errors to gRPC status codes.

Servicer methods are wrapped with ``@unary`` / ``@stream``; a domain error
becomes its status code with a message that never holds a number or secret.
Anything else is a bug: it is logged with its traceback and answered
INTERNAL with a generic message (no exception text reaches the caller).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from sidecar import errors

log = logging.getLogger(__name__)

_CODES: tuple[tuple[type[errors.SidecarError], grpc.StatusCode], ...] = (
    (errors.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.IdempotencyConflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PreconditionFailed, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.StoreUnavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.NotImplementedYet, grpc.StatusCode.UNIMPLEMENTED),
)


def to_status(exc: errors.SidecarError) -> tuple[grpc.StatusCode, str]:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code, str(exc)
    return grpc.StatusCode.INTERNAL, "internal error; see the sidecar logs"


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
        except errors.SidecarError as exc:
            code, message = to_status(exc)
            await context.abort(code, message)
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception:
            log.exception("unhandled error in %s", method.__qualname__, extra={"event": "bug"})
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the sidecar logs")
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
        except errors.SidecarError as exc:
            code, message = to_status(exc)
            await context.abort(code, message)
        except (grpc.aio.AbortError, grpc.aio.UsageError):
            raise
        except Exception:
            log.exception("unhandled error in %s", method.__qualname__, extra={"event": "bug"})
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the sidecar logs")

    return wrapper
