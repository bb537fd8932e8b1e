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

import aiohttp

from sidecar.whatsapp.errors import GraphError, network_error, parse_graph_error


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

    @property
    def root(self) -> str:
        return self._root

    async def send_message(self, phone_number_id: str, body: bytes) -> str:
        """POST a message body (JSON bytes); returns the wamid Graph assigned."""
        url = self._message_urls.get(phone_number_id)
        if url is None:
            url = self._message_urls[phone_number_id] = f"{self._root}/{phone_number_id}/messages"
        response = await self._request("POST", url, body=body)
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
    ) -> GraphResponse:
        """The one choke point: auth, proof, error translation."""
        creds = credentials or self._tokens.credentials
        query = {**creds.params, **params} if params else creds.params
        try:
            async with self._session.request(
                method, url, data=body, params=query, headers=creds.headers
            ) as resp:
                raw = await resp.read()
                status = resp.status
                headers = resp.headers
        except TimeoutError:
            raise network_error("timeout") from None
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError):
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
