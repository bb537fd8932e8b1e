"""The asyncio client (``grpc.aio``): the same calls as :class:`SidecarClient`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from wa_sidecar_client import _calls
from wa_sidecar_client._calls import CategoryLike, JurisdictionLike
from wa_sidecar_client._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from wa_sidecar_client.errors import RpcError, from_rpc_error
from wa_sidecar_client.options import ClientOptions, RetryPolicy

Reply = TypeVar("Reply")


class AsyncSidecarClient:
    """A typed asyncio client of the local wa-policy-sidecar.

        from wa_sidecar_client import AsyncSidecarClient

        async with AsyncSidecarClient("127.0.0.1:50051", token=token) as client:
            await client.grant("+16505551234", ["MARKETING"], source="web-form")
            reply = await client.send_template(
                "+16505551234", "spring_sale", category="MARKETING")
            async for event in client.stream_events():
                ...

    Deadlines, retries on ``UNAVAILABLE``, idempotency keys, trace context and
    errors work as in :class:`wa_sidecar_client.SidecarClient`. Create it inside
    the event loop that uses it.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        token: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.options = options or ClientOptions.from_env(
            address=address, token=token, timeout=timeout, retry=retry
        )
        self._channel = grpc.aio.insecure_channel(
            self.options.address, options=list(self.options.channel_options)
        )
        self._send = send_pb2_grpc.SendServiceStub(self._channel)
        self._verify = verify_pb2_grpc.VerifyServiceStub(self._channel)
        self._consent = consent_pb2_grpc.ConsentServiceStub(self._channel)

    async def send_text(
        self,
        to: str,
        body: str,
        *,
        category: CategoryLike = "SERVICE",
        idempotency_key: str | None = None,
        preview_url: bool = False,
        phone_number_id: str = "",
        tags: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> send_pb2.SendResponse:
        """Send a free-form text; see :meth:`SidecarClient.send_text`."""
        request = _calls.text_request(
            to,
            body,
            category=category,
            idempotency_key=idempotency_key,
            preview_url=preview_url,
            phone_number_id=phone_number_id,
            tags=tags,
        )
        return await self.send(request, check=check, timeout=timeout)

    async def send_template(
        self,
        to: str,
        name: str,
        *,
        category: CategoryLike,
        language: str = "en_US",
        params: Sequence[str] = (),
        components: Iterable[send_pb2.TemplateComponent] = (),
        idempotency_key: str | None = None,
        phone_number_id: str = "",
        tags: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> send_pb2.SendResponse:
        """Send an approved template; see :meth:`SidecarClient.send_template`."""
        request = _calls.template_request(
            to,
            name,
            category=category,
            language=language,
            params=params,
            components=components,
            idempotency_key=idempotency_key,
            phone_number_id=phone_number_id,
            tags=tags,
        )
        return await self.send(request, check=check, timeout=timeout)

    async def send(
        self, request: send_pb2.SendRequest, *, check: bool = True, timeout: float | None = None
    ) -> send_pb2.SendResponse:
        """``SendService.Send`` with any request; a key is added when it has none."""
        reply = await self._unary(self._send.Send, _calls.with_key(request), timeout)
        return _calls.checked_send(reply) if check else reply

    async def check(
        self, request: send_pb2.SendRequest, *, timeout: float | None = None
    ) -> common_pb2.Decision:
        """The policy verdict for ``request`` without sending or taking quota."""
        decision: common_pb2.Decision = await self._unary(self._send.Check, request, timeout)
        return decision

    async def verify_webhook(
        self,
        raw_body: bytes,
        signature: str | None,
        remote_ip: str,
        *,
        headers: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> verify_pb2.WebhookResult:
        """Verify Meta's POST from its raw bytes; see :meth:`SidecarClient.verify_webhook`.

            body = await request.read()        # aiohttp: the raw bytes
            result = await client.verify_webhook(
                body, request.headers.get("X-Hub-Signature-256"), request.remote)

        Raises :class:`WebhookRejected` (with ``http_status``) unless ``check=False``.
        """
        request = _calls.webhook_request(raw_body, signature, remote_ip, headers)
        result = await self._unary(self._verify.VerifyWebhook, request, timeout)
        return _calls.checked_webhook(result) if check else result

    async def verify_subscription(
        self, mode: str, verify_token: str, challenge: str, *, timeout: float | None = None
    ) -> str | None:
        """Meta's GET handshake: the ``hub.challenge`` to echo, or ``None``.

            challenge = await client.verify_subscription(
                args["hub.mode"], args["hub.verify_token"], args["hub.challenge"])

        Answer 200 with the challenge, or 403 when it is ``None``.
        """
        request = verify_pb2.SubscriptionRequest(
            mode=mode, verify_token=verify_token, challenge=challenge
        )
        reply: verify_pb2.SubscriptionResult = await self._unary(
            self._verify.VerifySubscription, request, timeout
        )
        return reply.challenge if reply.ok else None

    async def stream_events(
        self, *, timeout: float | None = None
    ) -> AsyncIterator[verify_pb2.Event]:
        """Verified events from the sidecar's webhook ingress; see
        :meth:`SidecarClient.stream_events`."""
        attempts = _calls.Attempts(self.options.retry, timeout)
        metadata = _calls.metadata(self.options)
        while True:
            call = self._verify.StreamEvents(
                verify_pb2.StreamEventsRequest(), timeout=attempts.remaining(), metadata=metadata
            )
            received = False
            try:
                async for event in call:
                    received = True
                    yield event
                return
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                wait = None if received else attempts.retry_after(error)
                if wait is None:
                    raise error from exc
            finally:
                call.cancel()
            await asyncio.sleep(wait)

    async def grant(
        self,
        phone_number: str,
        categories: Iterable[CategoryLike],
        *,
        source: str,
        evidence: str = "",
        notice_version: str = "",
        jurisdiction: JurisdictionLike | None = None,
        timeout: float | None = None,
    ) -> consent_pb2.ConsentState:
        """Record an opt-in with its proof; see :meth:`SidecarClient.grant`."""
        request = _calls.grant_request(
            phone_number,
            categories,
            source=source,
            evidence=evidence,
            notice_version=notice_version,
            jurisdiction=jurisdiction,
        )
        state: consent_pb2.ConsentState = await self._unary(self._consent.Grant, request, timeout)
        return state

    async def revoke(
        self,
        phone_number: str,
        categories: Iterable[CategoryLike] = (),
        *,
        source: str = "",
        reason: str = "",
        timeout: float | None = None,
    ) -> consent_pb2.ConsentState:
        """Record an opt-out; no categories means all of them."""
        request = _calls.revoke_request(phone_number, categories, source=source, reason=reason)
        state: consent_pb2.ConsentState = await self._unary(self._consent.Revoke, request, timeout)
        return state

    async def get_consent(
        self, phone_number: str, *, timeout: float | None = None
    ) -> consent_pb2.ConsentState:
        """The consent recorded for a number, per category, with its history."""
        request = consent_pb2.GetRequest(phone_number=phone_number)
        state: consent_pb2.ConsentState = await self._unary(self._consent.Get, request, timeout)
        return state

    async def _unary(
        self, method: Callable[..., Awaitable[Reply]], request: Any, timeout: float | None
    ) -> Reply:
        attempts = _calls.Attempts(
            self.options.retry, self.options.timeout if timeout is None else timeout
        )
        metadata = _calls.metadata(self.options)
        while True:
            try:
                return await method(request, timeout=attempts.remaining(), metadata=metadata)
            except grpc.RpcError as exc:
                error: RpcError = from_rpc_error(exc)
                wait = attempts.retry_after(error)
                if wait is None:
                    raise error from exc
            await asyncio.sleep(wait)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncSidecarClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
