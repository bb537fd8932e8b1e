"""The blocking client (threads, WSGI apps, scripts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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


class SidecarClient:
    """A typed, blocking client of the local wa-policy-sidecar.

        from wa_sidecar_client import SidecarClient, SendRefused

        with SidecarClient() as client:          # WASIDECAR_ADDR, WASIDECAR_TOKEN
            client.grant("+16505551234", ["MARKETING"], source="web-form")
            reply = client.send_template("+16505551234", "spring_sale", category="MARKETING")
            print(reply.message_id)

    Every call has a deadline (``timeout``, default 10 s, retries included) and
    is retried with backoff only when it ends ``UNAVAILABLE``. Sends get a fresh
    idempotency key unless given one, so a retry cannot reach the user twice.
    The current OpenTelemetry trace continues in the sidecar when
    ``opentelemetry-api`` is installed (``pip install wa-sidecar-client[otel]``).
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
        self._channel = grpc.insecure_channel(
            self.options.address, options=list(self.options.channel_options)
        )
        self._send = send_pb2_grpc.SendServiceStub(self._channel)
        self._verify = verify_pb2_grpc.VerifyServiceStub(self._channel)
        self._consent = consent_pb2_grpc.ConsentServiceStub(self._channel)

    # -- sending -----------------------------------------------------------

    def send_text(
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
        """Send a free-form text (a SERVICE reply inside the user's 24-hour window).

            reply = client.send_text("+16505551234", "Your parcel is at the door")

        Raises :class:`SendRefused` or :class:`SendFailed` unless ``check=False``.
        """
        request = _calls.text_request(
            to,
            body,
            category=category,
            idempotency_key=idempotency_key,
            preview_url=preview_url,
            phone_number_id=phone_number_id,
            tags=tags,
        )
        return self.send(request, check=check, timeout=timeout)

    def send_template(
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
        """Send an approved template; ``params`` fill its body placeholders.

            client.send_template("+16505551234", "otp", category="AUTHENTICATION",
                                 params=["492817"], idempotency_key="login-8812")

        ``category`` is the template's Meta category (MARKETING, UTILITY or
        AUTHENTICATION). Raises like :meth:`send_text`.
        """
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
        return self.send(request, check=check, timeout=timeout)

    def send(
        self, request: send_pb2.SendRequest, *, check: bool = True, timeout: float | None = None
    ) -> send_pb2.SendResponse:
        """``SendService.Send`` with any request; a key is added when it has none."""
        reply = self._unary(self._send.Send, _calls.with_key(request), timeout)
        return _calls.checked_send(reply) if check else reply

    def check(
        self, request: send_pb2.SendRequest, *, timeout: float | None = None
    ) -> common_pb2.Decision:
        """The policy verdict for ``request`` without sending or taking quota."""
        decision: common_pb2.Decision = self._unary(self._send.Check, request, timeout)
        return decision

    # -- webhooks ----------------------------------------------------------

    def verify_webhook(
        self,
        raw_body: bytes,
        signature: str | None,
        remote_ip: str,
        *,
        headers: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> verify_pb2.WebhookResult:
        """Verify Meta's POST and get its new events (opt-outs already applied).

        ``raw_body`` must be the bytes as received: JSON parsed and dumped again
        does not match the signature.

            body = request.get_data()          # Flask: the raw bytes
            try:
                result = client.verify_webhook(
                    body, request.headers.get("X-Hub-Signature-256"), request.remote_addr)
            except WebhookRejected as exc:
                return "", exc.http_status
        """
        request = _calls.webhook_request(raw_body, signature, remote_ip, headers)
        result = self._unary(self._verify.VerifyWebhook, request, timeout)
        return _calls.checked_webhook(result) if check else result

    def verify_subscription(
        self, mode: str, verify_token: str, challenge: str, *, timeout: float | None = None
    ) -> str | None:
        """Meta's GET handshake: the ``hub.challenge`` to echo, or ``None``.

            challenge = client.verify_subscription(
                args["hub.mode"], args["hub.verify_token"], args["hub.challenge"])

        Answer 200 with the challenge, or 403 when it is ``None``.
        """
        request = verify_pb2.SubscriptionRequest(
            mode=mode, verify_token=verify_token, challenge=challenge
        )
        reply: verify_pb2.SubscriptionResult = self._unary(
            self._verify.VerifySubscription, request, timeout
        )
        return reply.challenge if reply.ok else None

    def stream_events(self, *, timeout: float | None = None) -> Iterator[verify_pb2.Event]:
        """Verified events from the sidecar's own webhook ingress
        (``WA_SIDECAR_WEBHOOK_INGRESS=true``), as they arrive.

            for event in client.stream_events():
                if event.WhichOneof("kind") == "message":
                    print(event.message.type, event.message.opt_out)

        A subscription has no deadline unless ``timeout`` is given. Opening it is
        retried on ``UNAVAILABLE``; once events have flowed, a lost connection
        raises :class:`Unavailable` and the caller subscribes again.
        """
        attempts = _calls.Attempts(self.options.retry, timeout)
        metadata = _calls.metadata(self.options)
        while True:
            call = self._verify.StreamEvents(
                verify_pb2.StreamEventsRequest(), timeout=attempts.remaining(), metadata=metadata
            )
            received = False
            try:
                for event in call:
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
            time.sleep(wait)

    # -- consent -----------------------------------------------------------

    def grant(
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
        """Record an opt-in with its proof.

            state = client.grant("+16505551234", ["MARKETING"], source="web-form",
                                 evidence="form 8812", notice_version="2026-11")
            if state.suppression_stands:
                ...  # the user's own STOP still holds until the user lifts it

        A grant after the user's own opt-out is recorded as proof but does not
        lift it: the answer says ``suppression_stands``.
        """
        request = _calls.grant_request(
            phone_number,
            categories,
            source=source,
            evidence=evidence,
            notice_version=notice_version,
            jurisdiction=jurisdiction,
        )
        state: consent_pb2.ConsentState = self._unary(self._consent.Grant, request, timeout)
        return state

    def revoke(
        self,
        phone_number: str,
        categories: Iterable[CategoryLike] = (),
        *,
        source: str = "",
        reason: str = "",
        timeout: float | None = None,
    ) -> consent_pb2.ConsentState:
        """Record an opt-out; no categories means all of them.

            client.revoke("+16505551234", ["MARKETING"], source="preference-center")

        A later :meth:`grant` lifts an opt-out recorded this way.
        """
        request = _calls.revoke_request(phone_number, categories, source=source, reason=reason)
        state: consent_pb2.ConsentState = self._unary(self._consent.Revoke, request, timeout)
        return state

    def get_consent(
        self, phone_number: str, *, timeout: float | None = None
    ) -> consent_pb2.ConsentState:
        """The consent recorded for a number, per category, with its history."""
        request = consent_pb2.GetRequest(phone_number=phone_number)
        state: consent_pb2.ConsentState = self._unary(self._consent.Get, request, timeout)
        return state

    # -- plumbing ----------------------------------------------------------

    def _unary(self, method: Callable[..., Reply], request: Any, timeout: float | None) -> Reply:
        attempts = _calls.Attempts(
            self.options.retry, self.options.timeout if timeout is None else timeout
        )
        metadata = _calls.metadata(self.options)
        while True:
            try:
                return method(request, timeout=attempts.remaining(), metadata=metadata)
            except grpc.RpcError as exc:
                error: RpcError = from_rpc_error(exc)
                wait = attempts.retry_after(error)
                if wait is None:
                    raise error from exc
            time.sleep(wait)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> SidecarClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
