"""Secret values that changed at runtime, put into force where they are used.

``SecretKeeper`` (``secrets/keeper.py``) hears a source change; ``Custody``
applies it without a restart:

- the access token and the App Secret's ``appsecret_proof``: the token
  manager's credentials are swapped, so the next Graph call uses them and calls
  in flight finish with the ones they started with;
- the App Secret for webhooks: the new secrets verify at once and the replaced
  one keeps verifying for the overlap (``policy/rotation.py``);
- the verify token of the subscription handshake;
- the encryption key: the ciphers take the new keyring when its blind-index
  root (``idx``) is unchanged; otherwise the change is refused (a new index
  root would orphan every stored index) and the old keys stay.

    custody = Custody(tokens, webhooks, rekey, values=keeper.values, overlap=3600.0)
    keeper.listen(custody.adopt)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from sidecar.config import Secret
from sidecar.crypto.keys import Keyring
from sidecar.errors import ConfigError
from sidecar.policy.rotation import SecretRotation
from sidecar.policy.signature import SignatureVerifier
from sidecar.service.webhooks import WebhookHandler
from sidecar.whatsapp.tokens import TokenManager

log = logging.getLogger(__name__)

Rekey = Callable[[str], None]
"""Takes a new encryption key setting; raises ValueError to refuse it."""

_INDEX_PROBE = b"wa-sidecar/v1/custody-index-probe"


class Rekeyable(Protocol):
    def rekey(self, keyring: Keyring) -> None: ...


def rekeyer(keyring: Keyring, *ciphers: Rekeyable) -> Rekey:
    """A ``Rekey`` that hands a new keyring to ``ciphers`` when its blind-index
    root is the one in use (a key added, promoted or dropped); a new root
    would make every stored index unreadable, so it is refused."""
    index = keyring.index_subkey(_INDEX_PROBE)

    def rekey(setting: str) -> None:
        try:
            ring = Keyring.parse(setting)
        except ConfigError as exc:
            raise ValueError(f"encryption_key: {exc.problem}") from None
        if not hmac.compare_digest(ring.index_subkey(_INDEX_PROBE), index):
            raise ValueError("encryption_key: its blind-index root (idx) may not change")
        for cipher in ciphers:
            cipher.rekey(ring)

    return rekey


def app_secrets(value: Secret | None) -> tuple[bytes, ...]:
    """``WA_SIDECAR_APP_SECRET``'s comma-separated secrets, first is current."""
    raw = value.reveal() if value else ""
    return tuple(s.strip().encode() for s in raw.split(",") if s.strip())


class Custody:
    """Puts changed secrets into force; see the module docstring."""

    def __init__(
        self,
        tokens: TokenManager,
        webhooks: WebhookHandler,
        rekey: Rekey,
        *,
        values: Mapping[str, Secret],
        overlap: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._webhooks = webhooks
        self._rekey = rekey
        self._overlap = overlap
        self._clock = clock
        self._rotation = SecretRotation.start(app_secrets(values.get("app_secret")))
        verify = values.get("verify_token")
        self._verify_token = verify.reveal() if verify else ""
        self._lapse_changed = asyncio.Event()

    def verify_token(self) -> str:
        """The webhook subscription verify token in force."""
        return self._verify_token

    def active_app_secrets(self) -> tuple[bytes, ...]:
        return self._rotation.active(self._clock())

    async def adopt(self, values: Mapping[str, Secret], changed: frozenset[str]) -> None:
        """Apply ``changed`` keys of ``values``; ValueError refuses them all."""
        if "encryption_key" in changed:
            # First: the only change that can be refused, so nothing else
            # moves when it is.
            self._rekey(values["encryption_key"].reveal())
        secrets = app_secrets(values.get("app_secret"))
        if "app_secret" in changed:
            now = self._clock()
            self._rotation = self._rotation.rotate(secrets, now=now, overlap=self._overlap)
            self._webhooks.use_verifier(SignatureVerifier(self._rotation.active(now)))
            self._lapse_changed.set()
        if changed & {"access_token", "app_secret"} and "access_token" in values:
            self._tokens.adopt(
                values["access_token"].reveal(), app_secret=secrets[0] if secrets else None
            )
        if "verify_token" in changed:
            self._verify_token = values["verify_token"].reveal()

    async def run(self, stop: asyncio.Event) -> None:
        """Drop each replaced App Secret when its overlap ends."""
        while not stop.is_set():
            lapse = self._rotation.next_lapse(self._clock())
            wait = 3600.0 if lapse is None else max(0.0, lapse - self._clock())
            self._lapse_changed.clear()
            stopping = asyncio.ensure_future(stop.wait())
            changed = asyncio.ensure_future(self._lapse_changed.wait())
            await asyncio.wait({stopping, changed}, timeout=wait, return_when="FIRST_COMPLETED")
            for task in (stopping, changed):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if stop.is_set() or self._lapse_changed.is_set():
                continue
            now = self._clock()
            self._webhooks.use_verifier(SignatureVerifier(self._rotation.active(now)))
            log.info(
                "a replaced App Secret's overlap ended",
                extra={"event": "app_secret_retired", "active": len(self._rotation.active(now))},
            )
