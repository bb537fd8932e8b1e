"""The app's side of webhooks in tests: receive the simulator's signed POSTs,
hand them to the sidecar's ``VerifyWebhook`` when the test says so.

    async with WebhookRelay() as relay:
        simulator.state.configure({"webhook_url": relay.url})
        ...
        await relay.wait_for_callback("key-1")
        await relay.forward(verify_stub)       # every delivery received so far
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from sidecar.api._gen.wasidecar.v1 import verify_pb2, verify_pb2_grpc


class WebhookRelay:
    """Records webhook deliveries (body, signature) and forwards them on demand."""

    def __init__(self) -> None:
        self.posts: list[tuple[bytes, str]] = []
        self.forwarded = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> WebhookRelay:
        app = web.Application()
        app.router.add_post("/webhook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/webhook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._changed:
            self.posts.append((body, request.headers.get("X-Hub-Signature-256", "")))
            self._changed.notify_all()
        return web.Response()

    def statuses(self) -> list[dict[str, Any]]:
        found = []
        for body, _ in self.posts:
            for entry in json.loads(body)["entry"]:
                for change in entry["changes"]:
                    found.extend(change["value"].get("statuses", []))
        return found

    def callback_keys(self) -> set[str]:
        return {s.get("biz_opaque_callback_data", "") for s in self.statuses()}

    async def wait_for_callback(self, key: str, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: key in self.callback_keys()), timeout
            )

    async def forward(self, stub: verify_pb2_grpc.VerifyServiceStub) -> int:
        """Hand every delivery not forwarded yet to ``VerifyWebhook``; returns
        how many were forwarded. Each must verify."""
        pending = self.posts[self.forwarded :]
        for body, sig in pending:
            result = await stub.VerifyWebhook(verify_pb2.WebhookRequest(body=body, signature=sig))
            assert result.valid, result
        self.forwarded += len(pending)
        return len(pending)
