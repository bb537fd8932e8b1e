"""An app subscribed to a sidecar's StreamEvents (the webhook ingress refuses
deliveries with 503 while nobody listens).

    async with subscribed(proc) as events:
        event = await asyncio.wait_for(events.get(), 20)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import grpc

from sidecar.api._gen.wasidecar.v1 import verify_pb2, verify_pb2_grpc
from sidecar.testing import SidecarProcess
from support.waiting import eventually


@contextlib.asynccontextmanager
async def subscribed(proc: SidecarProcess) -> AsyncIterator[asyncio.Queue[verify_pb2.Event]]:
    """StreamEvents drained into a queue, once the ingress accepts deliveries."""
    events: asyncio.Queue[verify_pb2.Event] = asyncio.Queue()
    call = verify_pb2_grpc.VerifyServiceStub(proc.channel).StreamEvents(
        verify_pb2.StreamEventsRequest()
    )

    async def drain() -> None:
        async for event in call:
            events.put_nowait(event)

    drainer = asyncio.ensure_future(drain())
    async with aiohttp.ClientSession() as http:

        async def accepted() -> bool:
            # The subscription exists once an ingress POST is no longer refused with 503.
            async with http.post(proc.admin_url + "/webhook", data=b"{}") as reply:
                return reply.status != 503

        await eventually(accepted, "the event subscription opened", timeout=10.0, period=0.05)
    try:
        yield events
    finally:
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await drainer
