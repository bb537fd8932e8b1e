"""GraphClient: the sidecar's only way to call Meta's Graph API.

One shared aiohttp session (sized pool, timeouts) is injected; every call goes
through ``_request``, the single choke point that adds the bearer token and
``appsecret_proof`` and turns aiohttp failures and Graph error bodies into
``GraphError`` (``whatsapp/errors.py``). Tokens come from a ``TokenSource``
so they can be swapped without dropping requests.

    client = GraphClient(session, base_url="https://graph.facebook.com",
                         api_version="v24.0", tokens=token_manager)
    wamid = await client.send_message("106540352242922", body_bytes)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from opentelemetry.trace import Span, SpanKind, StatusCode

from sidecar.telemetry.tracing import child_span, tracer
from sidecar.whatsapp.errors import GraphError, network_error, parse_graph_error

_TRACER = tracer(__name__)
_MESSAGES_TEMPLATE = "/{api_version}/{phone_number_id}/messages"


@dataclass(frozen=True, slots=True)
class Credentials:
    """One access token with everything derived from it, computed once."""

    token: str
    appsecret_proof: str
    headers: Mapping[str, str]
    params: Mapping[str, str]


class TokenSource(Protocol):
    """Supplies the current credentials (``whatsapp/tokens.py``)."""

    @property
    def credentials(self) -> Credentials: ...


class MessageSender(Protocol):
    """What sending needs of the Graph API: ``GraphClient`` here, a scripted
    fake in the service's unit tests."""

    async def send_message(
        self, phone_number_id: str, body: bytes, *, resend_count: int = 0
    ) -> str:
        """The wamid Graph assigned; ``GraphError`` for every failure."""
        ...


@dataclass(frozen=True, slots=True)
class GraphResponse:
    status: int
    data: dict[str, Any]


class GraphClient:
    """Calls the Graph API; raises ``GraphError`` for every failure."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_version: str,
        tokens: TokenSource,
    ) -> None:
        self._session = session
        self._root = f"{base_url.rstrip('/')}/{api_version}"
        self._tokens = tokens
        self._message_urls: dict[str, str] = {}
        target = urlsplit(self._root)
        self._server: dict[str, str | int] = {
            "server.address": target.hostname or "",
            "server.port": target.port or (443 if target.scheme == "https" else 80),
        }

    @property
    def root(self) -> str:
        return self._root

    async def send_message(
        self, phone_number_id: str, body: bytes, *, resend_count: int = 0
    ) -> str:
        """POST a message body (JSON bytes); returns the wamid Graph assigned.
        ``resend_count``: how many attempts of this send came before (for the span)."""
        url = self._message_urls.get(phone_number_id)
        if url is None:
            url = self._message_urls[phone_number_id] = f"{self._root}/{phone_number_id}/messages"
        response = await self._request(
            "POST", url, body=body, template=_MESSAGES_TEMPLATE, resend_count=resend_count
        )
        try:
            message_id = response.data["messages"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise GraphError(
                http_status=response.status, message="success response without messages[0].id"
            ) from None
        if not isinstance(message_id, str):
            raise GraphError(http_status=response.status, message="message id is not a string")
        return message_id

    async def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        credentials: Credentials | None = None,
        template: str = "",
        resend_count: int = 0,
    ) -> GraphResponse:
        """The one choke point: auth, proof, error translation, one CLIENT span
        per attempt (HTTP conventions; never the URL's query, which holds the
        appsecret_proof)."""
        name = f"{method} {template}" if template else method
        with child_span(_TRACER, name, kind=SpanKind.CLIENT, mark_errors=False) as span:
            if not span.is_recording():
                return await self._exchange(method, url, body, params, credentials)
            span.set_attributes(self._server)
            span.set_attribute("http.request.method", method)
            if template:
                span.set_attribute("url.template", template)
            if resend_count:
                span.set_attribute("http.request.resend_count", resend_count)
            try:
                response = await self._exchange(method, url, body, params, credentials)
            except GraphError as err:
                _record_error(span, err)
                raise
            span.set_attribute("http.response.status_code", response.status)
            return response

    async def _exchange(
        self,
        method: str,
        url: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        credentials: Credentials | None,
    ) -> GraphResponse:
        creds = credentials or self._tokens.credentials
        query = {**creds.params, **params} if params else creds.params
        try:
            async with self._session.request(
                method, url, data=body, params=query, headers=creds.headers
            ) as resp:
                status = resp.status
                headers = resp.headers
                raw = await _read_body(resp)
        except _NOT_SENT:
            raise network_error("connect") from None
        except TimeoutError:
            raise network_error("timeout") from None
        except _NO_ANSWER:
            raise network_error("connection") from None
        if status >= 300:
            raise parse_graph_error(status, raw, headers)
        try:
            data = json.loads(raw)
        except ValueError:
            raise GraphError(http_status=status, message="response is not JSON") from None
        if not isinstance(data, dict):
            raise GraphError(http_status=status, message="response is not a JSON object")
        return GraphResponse(status, data)

    async def get(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        credentials: Credentials | None = None,
    ) -> dict[str, Any]:
        """GET ``{root}/{path}``, e.g. ``debug_token`` or ``oauth/access_token``."""
        response = await self._request(
            "GET", f"{self._root}/{path}", params=params, credentials=credentials
        )
        return response.data


# Raised before the request left this process: the connection (or a pool
# slot) was never obtained. ``session_timeout`` bounds the connect phase with
# its own ``connect`` timeout, so a timeout there is a ConnectionTimeoutError
# and every other timeout came after the request was written.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
_NO_ANSWER = (aiohttp.ClientError, OSError, asyncio.IncompleteReadError)


def session_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """Timeouts for the Graph session that keep "never sent" apart from
    "maybe sent": ``connect`` (pool wait + connect + TLS) and ``sock_read``
    (silence after the request) of ``seconds`` each; ``total`` is only a
    backstop and cannot end the connect phase first."""
    return aiohttp.ClientTimeout(
        total=3 * seconds, connect=seconds, sock_connect=seconds, sock_read=seconds
    )


async def _read_body(resp: aiohttp.ClientResponse) -> bytes:
    """The answer's body; a refusal whose body is cut off is still a refusal
    (its status arrived), a success whose body is cut off is not an answer."""
    try:
        return await resp.read()
    except (*_NO_ANSWER, TimeoutError):
        if resp.status >= 300:
            return b""
        raise


def _record_error(span: Span, err: GraphError) -> None:
    """``error.type``: the HTTP status, or ``connect``/``timeout``/``connection`` without one."""
    if err.http_status:
        span.set_attribute("http.response.status_code", err.http_status)
    if err.code:
        span.set_attribute("sidecar.graph.error_code", err.code)
    span.set_attribute("error.type", err.network_error or str(err.http_status or "GraphError"))
    span.set_status(StatusCode.ERROR)
