"""Token custody: the access token lives here and nowhere else.

``TokenManager`` holds the current ``Credentials`` (token, ``appsecret_proof``
and headers computed once per token), learns the expiry from Graph's
``debug_token``, refreshes a long-lived token ``refresh_before`` seconds
before it expires with the ``fb_exchange_token`` grant, and refreshes once on
an AUTH error. Swapping is a single attribute assignment, so requests in
flight keep the credentials they started with and none is dropped.

    tokens = TokenManager("EAAG…", app_secret=b"…", app_id="123", refresh_before=432000)
    client = GraphClient(session, base_url=…, api_version=…, tokens=tokens)
    tokens.bind(client)
    await tokens.learn_expiry()
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from sidecar.whatsapp.client import Credentials, GraphClient
from sidecar.whatsapp.errors import GraphError

log = logging.getLogger(__name__)

_RETRY_FAILED_REFRESH = 300.0


def make_credentials(token: str, app_secret: bytes | None) -> Credentials:
    """Everything a request needs for ``token``, computed once."""
    proof = hmac.new(app_secret, token.encode(), hashlib.sha256).hexdigest() if app_secret else ""
    return Credentials(
        token=token,
        appsecret_proof=proof,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        params={"appsecret_proof": proof} if proof else {},
    )


class TokenManager:
    """Current credentials plus the refresh logic; see the module docstring."""

    def __init__(
        self,
        token: str,
        *,
        app_secret: bytes | None,
        app_id: str = "",
        refresh_before: float = 5 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app_secret = app_secret
        self._app_id = app_id
        self._refresh_before = refresh_before
        self._clock = clock
        self._creds = make_credentials(token, app_secret)
        self._expires_at: float | None = None  # None: unknown; 0: never expires
        self._graph: GraphClient | None = None
        self._lock = asyncio.Lock()
        self._swapped = asyncio.Condition()
        self._adopted = asyncio.Event()
        self.refreshes = 0

    def adopt(self, token: str, *, app_secret: bytes | None) -> None:
        """Use ``token`` and ``app_secret`` from the next call on: a secret
        source changed. One attribute swap: calls in flight keep the
        credentials they started with (an AUTH error on one of them is retried
        with these, see ``on_auth_error``). The new token's expiry is learnt
        again by ``run``."""
        if token == self._creds.token and app_secret == self._app_secret:
            return
        self._app_secret = app_secret
        self._creds = make_credentials(token, app_secret)
        self._expires_at = None
        self._adopted.set()
        log.info("access token replaced from its source", extra={"event": "token_adopted"})

    def bind(self, graph: GraphClient) -> None:
        self._graph = graph

    @property
    def credentials(self) -> Credentials:
        return self._creds

    @property
    def expires_at(self) -> float | None:
        return self._expires_at

    @property
    def can_refresh(self) -> bool:
        return bool(self._graph and self._app_id and self._app_secret and self._creds.token)

    def _app_credentials(self) -> Credentials:
        assert self._app_secret is not None
        return make_credentials(f"{self._app_id}|{self._app_secret.decode()}", None)

    async def learn_expiry(self) -> float | None:
        """Ask ``debug_token`` when the current token expires (0 = never)."""
        if not self.can_refresh:
            return None
        assert self._graph is not None
        data = await self._graph.get(
            "debug_token",
            {"input_token": self._creds.token},
            credentials=self._app_credentials(),
        )
        info = data.get("data")
        expires = info.get("expires_at") if isinstance(info, dict) else None
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            self._expires_at = float(expires)
        return self._expires_at

    async def refresh(self, reason: str) -> bool:
        """Exchange the current token for a new one; True if swapped."""
        if not self.can_refresh:
            return False
        assert self._graph is not None and self._app_secret is not None
        async with self._lock:
            old = self._creds
            data = await self._graph.get(
                "oauth/access_token",
                {
                    "grant_type": "fb_exchange_token",
                    "client_id": self._app_id,
                    "client_secret": self._app_secret.decode(),
                    "fb_exchange_token": old.token,
                },
                credentials=old,
            )
            new_token = data.get("access_token")
            if not isinstance(new_token, str) or not new_token:
                raise GraphError(message="token exchange answered without access_token")
            expires_in = data.get("expires_in")
            self._creds = make_credentials(new_token, self._app_secret)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
                self._expires_at = self._clock() + float(expires_in) if expires_in else 0.0
            self.refreshes += 1
            log.info("access token refreshed", extra={"event": "token_refreshed", "why": reason})
        async with self._swapped:
            self._swapped.notify_all()
        return True

    async def on_auth_error(self, failed: Credentials) -> bool:
        """After an AUTH error with ``failed``: refresh once (coalesced).

        Returns True when newer credentials are available for the retry.
        """
        if self._creds is not failed:
            return True  # another request already swapped the token
        async with self._lock:
            if self._creds is not failed:
                return True
        try:
            return await self.refresh("auth_error")
        except GraphError as exc:
            log.warning("token refresh failed: %s", exc, extra={"event": "token_refresh_failed"})
            return False

    async def wait_refreshes(self, count: int) -> None:
        """Wait until ``count`` refreshes have happened (tests, operators)."""
        async with self._swapped:
            await self._swapped.wait_for(lambda: self.refreshes >= count)

    def seconds_until_refresh(self) -> float | None:
        """None when no refresh is due (unknown or never-expiring token)."""
        if not self._expires_at:
            return None
        return max(0.0, self._expires_at - self._refresh_before - self._clock())

    async def _pause(self, stop: asyncio.Event, delay: float) -> None:
        """Sleep ``delay`` seconds, or less when stopping or a token was adopted."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._adopted.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _learn_quietly(self) -> None:
        try:
            await self.learn_expiry()
        except GraphError as exc:
            log.warning("debug_token failed: %s", exc, extra={"event": "token_debug_failed"})

    async def run(self, stop: asyncio.Event) -> None:
        """Background loop: refresh before expiry until ``stop`` is set."""
        if not self.can_refresh:
            return
        await self._learn_quietly()
        while not stop.is_set():
            if self._adopted.is_set():
                self._adopted.clear()
                await self._learn_quietly()
            wait = self.seconds_until_refresh()
            await self._pause(stop, 3600.0 if wait is None else wait)
            if stop.is_set():
                return
            if wait is None or self._adopted.is_set():
                continue
            try:
                await self.refresh("expiry")
            except GraphError as exc:
                log.warning(
                    "token refresh failed: %s", exc, extra={"event": "token_refresh_failed"}
                )
                await self._pause(stop, _RETRY_FAILED_REFRESH)
