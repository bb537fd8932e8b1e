"""The one mapping from domain errors to gRPC status codes (api/status.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from sidecar import errors
from sidecar.api.status import BUG_MESSAGE, stream, to_status, unary
from sidecar.crypto import FieldCipher, Keyring, aad
from sidecar.whatsapp.errors import GraphError

pytestmark = pytest.mark.unit


class Context:
    """What a servicer sees of grpc's context: ``abort`` answers and raises."""

    def __init__(self) -> None:
        self.answer: tuple[grpc.StatusCode, str] | None = None

    async def abort(self, code: grpc.StatusCode, message: str) -> None:
        self.answer = (code, message)
        raise grpc.aio.AbortError()


class Servicer:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    @unary
    async def Call(self, request: Any, context: Any) -> str:
        raise self.exc

    @stream
    async def Watch(self, request: Any, context: Any) -> AsyncIterator[str]:
        yield "first"
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.InvalidRequest("to", "not E.164"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.IdempotencyConflict("key reused"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.PreconditionFailed("no app secret"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.NotFound("no such operation"), grpc.StatusCode.NOT_FOUND),
        (errors.PermissionDenied("lacks admin"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.Unauthenticated("token required"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.StoreUnavailable("sqlite down"), grpc.StatusCode.UNAVAILABLE),
        (errors.DecryptionError("unknown key id"), grpc.StatusCode.DATA_LOSS),
    ],
)
async def test_each_domain_error_answers_its_code_and_own_message(
    exc: errors.SidecarError, code: grpc.StatusCode
) -> None:
    assert to_status(exc) == (code, str(exc))
    context = Context()
    with pytest.raises(grpc.aio.AbortError):
        await Servicer(exc).Call(None, context)
    assert context.answer == (code, str(exc))


async def test_a_blob_that_will_not_open_answers_data_loss_without_its_contents() -> None:
    cipher = FieldCipher(Keyring.parse(Keyring.generate()))
    blob = cipher.encrypt(b"+16505551234", aad("sends", "to", "k1"))
    with pytest.raises(errors.DecryptionError) as raised:
        cipher.decrypt(blob, aad("sends", "to", "k2"))
    code, message = to_status(raised.value)
    assert code is grpc.StatusCode.DATA_LOSS
    assert "6505551234" not in message


async def test_a_subclass_answers_as_its_nearest_listed_ancestor() -> None:
    class NoSuchCampaign(errors.NotFound):
        pass

    assert to_status(NoSuchCampaign("c1")) == (grpc.StatusCode.NOT_FOUND, "c1")


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("+16505551234 broke something"),
        GraphError(code=131000, http_status=500, message="Something went wrong"),
        errors.WebhookParseError("entry[0]: missing"),
    ],
)
async def test_anything_unlisted_is_a_logged_bug_answered_internal_without_its_text(
    exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    for method in ("Call", "Watch"):
        caplog.clear()
        context = Context()
        with (
            caplog.at_level(logging.ERROR, logger="sidecar.api.status"),
            pytest.raises(grpc.aio.AbortError),
        ):
            if method == "Call":
                await Servicer(exc).Call(None, context)
            else:
                async for _ in Servicer(exc).Watch(None, context):
                    pass
        assert context.answer == (grpc.StatusCode.INTERNAL, BUG_MESSAGE)
        [record] = caplog.records
        assert record.exc_info is not None and record.exc_info[1] is exc
        assert getattr(record, "event", None) == "bug"


async def test_an_abort_from_the_method_itself_passes_through_untouched() -> None:
    class Aborting:
        @unary
        async def Call(self, request: Any, context: Any) -> str:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
            return "never"

    context = Context()
    with pytest.raises(grpc.aio.AbortError):
        await Aborting().Call(None, context)
    assert context.answer == (grpc.StatusCode.NOT_FOUND, "unknown service")
