"""SendService servicer: validation and translation only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sidecar.api import convert
from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.api.access import caller
from sidecar.api.convert_send import (
    MAX_KEY,
    OUTCOME_TO_PB,
    classification_pb,
    send_command,
    send_error_pb,
    send_response,
)
from sidecar.api.status import stream, unary
from sidecar.errors import InvalidRequest
from sidecar.service.campaign import BatchItem, Campaign
from sidecar.service.failures import classify_failure
from sidecar.service.outbox import Outbox
from sidecar.service.review import DeadLetter, Review
from sidecar.service.send import Sender


class SendServicer(send_pb2_grpc.SendServiceServicer):
    def __init__(
        self,
        sender: Sender,
        campaign: Campaign,
        outbox: Outbox,
        review: Review,
        default_phone_number_id: str,
    ) -> None:
        self._sender = sender
        self._campaign = campaign
        self._outbox = outbox
        self._review = review
        self._pnid = default_phone_number_id

    @unary
    async def Send(self, request: send_pb2.SendRequest, context: Any) -> send_pb2.SendResponse:
        cmd = send_command(request, self._pnid)
        return send_response(await self._sender.send(cmd, principal=caller()))

    @unary
    async def Check(self, request: send_pb2.SendRequest, context: Any) -> common_pb2.Decision:
        cmd = send_command(request, self._pnid, fingerprinted=False)
        return convert.decision_pb(await self._sender.check(cmd, principal=caller()))

    @stream
    async def SendBatch(
        self, request_iterator: AsyncIterator[send_pb2.SendRequest], context: Any
    ) -> AsyncIterator[send_pb2.SendResponse]:
        async def commands() -> AsyncIterator[BatchItem]:
            async for request in request_iterator:
                try:
                    yield send_command(request, self._pnid, key_required=True)
                except InvalidRequest as exc:
                    yield (request.idempotency_key, exc)

        async for result in self._campaign.run(commands(), principal=caller()):
            yield send_response(result)

    @unary
    async def Classify(
        self, request: send_pb2.ClassifyRequest, context: Any
    ) -> send_pb2.Classification:
        if request.network_error:
            if request.network_error not in ("connect", "timeout", "connection"):
                raise InvalidRequest(
                    "network_error", 'must be "connect", "timeout" or "connection"'
                )
            return classification_pb(classify_failure(network_error=request.network_error))
        if not 100 <= request.http_status <= 599:
            raise InvalidRequest("http_status", "must be an HTTP status (100-599)")
        return classification_pb(classify_failure(request.http_status, request.body))

    @unary
    async def Enqueue(
        self, request: send_pb2.SendRequest, context: Any
    ) -> send_pb2.EnqueueResponse:
        cmd = send_command(request, self._pnid, key_required=True)
        result = await self._outbox.enqueue(cmd, principal=caller())
        out = send_pb2.EnqueueResponse(
            idempotency_key=result.key, outcome=OUTCOME_TO_PB[result.outcome]
        )
        if not result.decision.allowed:
            out.decision.CopyFrom(convert.decision_pb(result.decision))
        return out

    @unary
    async def GetSendStatus(
        self, request: send_pb2.GetSendStatusRequest, context: Any
    ) -> send_pb2.GetSendStatusResponse:
        key = _key(request.idempotency_key)
        status = await self._outbox.status(key)
        if status is None:
            return send_pb2.GetSendStatusResponse(found=False)
        return send_pb2.GetSendStatusResponse(
            found=True,
            response=send_response(status.result),
            delivery_status=status.delivery_status,
        )

    @unary
    async def ListDeadLetters(
        self, request: send_pb2.ListDeadLettersRequest, context: Any
    ) -> send_pb2.ListDeadLettersResponse:
        limit = convert.page_size(request.page_size)
        letters = await self._review.dead_letters(limit, request.page_token)
        return send_pb2.ListDeadLettersResponse(
            dead_letters=[_dead_letter_pb(d) for d in letters],
            next_page_token=letters[-1].id if len(letters) == limit else "",
        )

    @unary
    async def RequeueDeadLetter(
        self, request: send_pb2.RequeueDeadLetterRequest, context: Any
    ) -> send_pb2.RequeueDeadLetterResponse:
        if not request.id:
            raise InvalidRequest("id", "required")
        result, requeued = await self._review.requeue(request.id)
        return send_pb2.RequeueDeadLetterResponse(requeued=requeued, response=send_response(result))

    @unary
    async def ListInDoubt(
        self, request: send_pb2.ListInDoubtRequest, context: Any
    ) -> send_pb2.ListInDoubtResponse:
        limit = convert.page_size(request.page_size)
        sends = await self._review.in_doubt(limit, request.page_token)
        return send_pb2.ListInDoubtResponse(
            sends=[
                send_pb2.InDoubtSend(
                    idempotency_key=s.key,
                    to_masked=s.to_masked,
                    category=convert.CATEGORY_TO_PB[s.category],
                    started_at=convert.timestamp(s.started_at),
                    phone_number_id=s.phone_number_id,
                )
                for s in sends
            ],
            next_page_token=sends[-1].key if len(sends) == limit else "",
        )

    @unary
    async def ResolveInDoubt(
        self, request: send_pb2.ResolveInDoubtRequest, context: Any
    ) -> send_pb2.SendResponse:
        key = _key(request.idempotency_key)
        resolution = request.resolution
        if resolution not in _RESOLUTIONS:
            raise InvalidRequest(
                "resolution", "IN_DOUBT_RESOLUTION_SENT or IN_DOUBT_RESOLUTION_NOT_SENT"
            )
        sent = resolution == send_pb2.IN_DOUBT_RESOLUTION_SENT
        if request.message_id and not sent:
            raise InvalidRequest("message_id", "only with IN_DOUBT_RESOLUTION_SENT")
        if len(request.message_id) > _MAX_MESSAGE_ID:
            raise InvalidRequest("message_id", f"at most {_MAX_MESSAGE_ID} characters")
        result = await self._review.resolve_in_doubt(key, sent, request.message_id)
        return send_response(result)


_RESOLUTIONS = frozenset((send_pb2.IN_DOUBT_RESOLUTION_SENT, send_pb2.IN_DOUBT_RESOLUTION_NOT_SENT))
_MAX_MESSAGE_ID = 256


def _key(value: str) -> str:
    if not value:
        raise InvalidRequest("idempotency_key", "required")
    if len(value) > MAX_KEY:
        raise InvalidRequest("idempotency_key", f"at most {MAX_KEY} characters")
    return value


def _dead_letter_pb(d: DeadLetter) -> send_pb2.DeadLetter:
    return send_pb2.DeadLetter(
        id=d.id,
        idempotency_key=d.key,
        to_masked=d.to_masked,
        category=convert.CATEGORY_TO_PB[d.category],
        error=send_error_pb(d.error),
        attempts=d.attempts,
        created_at=convert.timestamp(d.created_at),
        phone_number_id=d.phone_number_id,
    )
