"""SendService servicer: validation and translation only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sidecar.api import convert
from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.api.status import stream, unary
from sidecar.errors import InvalidRequest, NotImplementedYet
from sidecar.policy.retry import classify
from sidecar.service.campaign import BatchItem, Campaign
from sidecar.service.send import Sender
from sidecar.whatsapp.errors import network_error, parse_graph_error


class SendServicer(send_pb2_grpc.SendServiceServicer):
    def __init__(self, sender: Sender, campaign: Campaign, default_phone_number_id: str) -> None:
        self._sender = sender
        self._campaign = campaign
        self._pnid = default_phone_number_id

    @unary
    async def Send(self, request: send_pb2.SendRequest, context: Any) -> send_pb2.SendResponse:
        cmd = convert.send_command(request, self._pnid)
        return convert.send_response(await self._sender.send(cmd))

    @unary
    async def Check(self, request: send_pb2.SendRequest, context: Any) -> common_pb2.Decision:
        cmd = convert.send_command(request, self._pnid)
        return convert.decision_pb(await self._sender.check(cmd))

    @stream
    async def SendBatch(
        self, request_iterator: AsyncIterator[send_pb2.SendRequest], context: Any
    ) -> AsyncIterator[send_pb2.SendResponse]:
        async def commands() -> AsyncIterator[BatchItem]:
            async for request in request_iterator:
                try:
                    yield convert.send_command(request, self._pnid, key_required=True)
                except InvalidRequest as exc:
                    yield (request.idempotency_key, exc)

        async for result in self._campaign.run(commands()):
            yield convert.send_response(result)

    @unary
    async def Classify(
        self, request: send_pb2.ClassifyRequest, context: Any
    ) -> send_pb2.Classification:
        if request.network_error:
            if request.network_error not in ("timeout", "connection"):
                raise InvalidRequest("network_error", 'must be "timeout" or "connection"')
            err = network_error(request.network_error)
        else:
            if not 100 <= request.http_status <= 599:
                raise InvalidRequest("http_status", "must be an HTTP status (100-599)")
            err = parse_graph_error(request.http_status, request.body)
        c = classify(err.code, err.http_status, err.network_error)
        out = send_pb2.Classification(
            error_class=convert.ERROR_CLASS_TO_PB[c.error_class],
            retryable=c.retryable,
            code=c.code or 0,
            reason=c.reason,
        )
        if c.retry_after > 0:
            out.retry_after.CopyFrom(convert.duration(c.retry_after))
        return out

    @unary
    async def Enqueue(
        self, request: send_pb2.SendRequest, context: Any
    ) -> send_pb2.EnqueueResponse:
        raise NotImplementedYet("Enqueue arrives with the durable outbox dispatcher")

    @unary
    async def GetSendStatus(
        self, request: send_pb2.GetSendStatusRequest, context: Any
    ) -> send_pb2.GetSendStatusResponse:
        raise NotImplementedYet("GetSendStatus arrives with the durable outbox dispatcher")

    @unary
    async def ListDeadLetters(
        self, request: send_pb2.ListDeadLettersRequest, context: Any
    ) -> send_pb2.ListDeadLettersResponse:
        raise NotImplementedYet("ListDeadLetters arrives with the dead-letter review tools")

    @unary
    async def RequeueDeadLetter(
        self, request: send_pb2.RequeueDeadLetterRequest, context: Any
    ) -> send_pb2.RequeueDeadLetterResponse:
        raise NotImplementedYet("RequeueDeadLetter arrives with the dead-letter review tools")

    @unary
    async def ListInDoubt(
        self, request: send_pb2.ListInDoubtRequest, context: Any
    ) -> send_pb2.ListInDoubtResponse:
        raise NotImplementedYet("ListInDoubt arrives with the in-doubt review tools")
