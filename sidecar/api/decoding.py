"""Request bytes that are not a valid protobuf message answer INVALID_ARGUMENT.

grpc's own deserialisation failure answers UNKNOWN ("Unexpected DecodeError")
for a unary call and surfaces inside a streaming servicer as an exception
(INTERNAL). ``guard`` gives a method handler a deserializer that returns a
``Malformed`` marker instead of raising, and a behaviour that turns the marker
into ``InvalidRequest("request", …)`` — the same clear answer as any other
invalid field (INVALID_ARGUMENT naming ``request``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from google.protobuf.message import DecodeError

from sidecar.api.status import to_status
from sidecar.errors import InvalidRequest

_DECODE_ERRORS: Final = (DecodeError, ValueError, RecursionError)


class Malformed:
    """Stands in for a request whose bytes did not decode."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def error(self) -> InvalidRequest:
        return InvalidRequest("request", f"not a valid {self.type_name} message")


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer``, answering ``Malformed`` where it would raise."""
    if deserializer is None:
        return None
    message_type = getattr(deserializer, "__self__", None)
    descriptor = getattr(message_type, "DESCRIPTOR", None)
    malformed = Malformed(getattr(descriptor, "full_name", "request"))

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except _DECODE_ERRORS:
            return malformed

    return decode


def checked(kind: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    """``behavior`` (an async servicer method of handler kind ``kind``) that
    refuses ``Malformed`` requests; the result is of the same function kind.

    A unary request is refused before the method runs (INVALID_ARGUMENT,
    through ``api.status``); a request stream is checked message by message
    as the method reads it, so the ``InvalidRequest`` reaches the method's
    own error translation."""
    if kind == "stream_stream":

        async def stream_both(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
            async for reply in behavior(_checked_stream(requests), context):
                yield reply

        return stream_both
    if kind == "stream_unary":

        async def stream_in(requests: AsyncIterator[Any], context: Any) -> Any:
            return await behavior(_checked_stream(requests), context)

        return stream_in
    if kind == "unary_stream":

        async def stream_out(request: Any, context: Any) -> AsyncIterator[Any]:
            if type(request) is Malformed:
                await _refuse(request, context)
            async for reply in behavior(request, context):
                yield reply

        return stream_out

    async def unary(request: Any, context: Any) -> Any:
        if type(request) is Malformed:
            await _refuse(request, context)
        return await behavior(request, context)

    return unary


async def _refuse(request: Malformed, context: Any) -> None:
    code, message = to_status(request.error())
    await context.abort(code, message)


async def _checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if type(request) is Malformed:
            raise request.error()
        yield request
