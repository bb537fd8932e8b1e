"""Settings and in-memory state of the Graph API simulator.

:class:`SimulatorSettings` is what the simulator starts with; the control API
(or Python code holding a :class:`SimulatorState`) may then adjust a mutable
copy of the tunable part, :class:`RuntimeConfig`. Bookkeeping per request is
O(1); the list of accepted messages is capped while every counter stays exact.

    state = SimulatorState(SimulatorSettings(throughput_per_second=10))
    state.configure({"pair_limit_enabled": False, "latency_ms": 20})
    state.add_fault(FaultRule(to="+16505551234", code=131026))  # -> "fault-1"
    state.stats.accepted_by_recipient["16505551234"]
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import os
import secrets
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web

from sidecar.simulator.account import ACCOUNT_FIELDS, SimulatedAccount
from sidecar.simulator.faults import FaultBook, FaultRule, digits_only
from sidecar.simulator.insights import SimulatedInsights
from sidecar.simulator.limits import PairLimiter, ThroughputLimiter
from sidecar.simulator.webhooks import (
    WebhookDispatcher,
    WebhookUpdate,
    inbound_message_item,
)


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """How the simulator starts; the defaults follow Meta's documented behaviour.

    Any ``v<major>.<minor>`` version segment is accepted in Graph paths.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: an ephemeral port, read it from the handle
    # Never-expiring system-user tokens accepted as ``Authorization: Bearer``.
    access_tokens: frozenset[str] = frozenset({"dev-token"})
    # Signs webhooks; with require_appsecret_proof, every Graph call must carry
    # appsecret_proof = hex(HMAC-SHA256(app_secret, access_token)).
    app_secret: bytes | None = None
    require_appsecret_proof: bool = False
    # The oauth endpoint checks these (in Meta both are the app's id and secret).
    app_id: str = "1000000000000001"
    client_secret: str = "dev-client-secret"  # noqa: S105 - a public development default
    exchanged_token_ttl_s: float = 5_183_944.0  # Meta's "60 days" answer
    # Per phone number: token bucket, burst = rate (Meta's default 80 msg/s).
    throughput_enabled: bool = True
    throughput_per_second: float = 80.0
    # Per (phone number, recipient): 1 message per 6 s, bursts of 45 (GCRA).
    pair_limit_enabled: bool = True
    pair_interval_s: float = 6.0
    pair_burst: int = 45
    latency_ms: float = 0.0  # added to every send before it is answered
    webhook_url: str | None = None
    emit_statuses: bool = True  # sent/delivered/read per accepted message
    status_sequence: tuple[str, ...] = ("sent", "delivered", "read")
    known_phone_number_ids: frozenset[str] = frozenset()  # empty: any id is accepted
    waba_id: str = "102290129340398"
    display_phone_number: str = "15550783881"
    messaging_limit: str = "TIER_UNLIMITED"  # the portfolio's, as GET /{phone_number_id} says
    seed: int = 0  # seeds fault probabilities
    max_stored_messages: int = 100_000  # counters stay exact beyond this
    webhook_queue_size: int = 100_000
    control_api: bool = True  # serve /_sim/ (local use only: it has no auth)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be within 0..65535")
        if self.throughput_per_second <= 0 or self.pair_interval_s <= 0 or self.pair_burst < 1:
            raise ValueError("rate limits must be positive")
        if self.latency_ms < 0 or self.max_stored_messages < 1 or self.webhook_queue_size < 1:
            raise ValueError("latency, message cap and queue size must be positive")


_TUNABLE: dict[str, tuple[type, ...]] = {
    "throughput_enabled": (bool,),
    "throughput_per_second": (int, float),
    "pair_limit_enabled": (bool,),
    "pair_interval_s": (int, float),
    "pair_burst": (int,),
    "latency_ms": (int, float),
    "webhook_url": (str, type(None)),
    "emit_statuses": (bool,),
    "require_appsecret_proof": (bool,),
    "exchanged_token_ttl_s": (int, float),
}


@dataclass(slots=True)
class RuntimeConfig:
    """The settings the control API may change while the simulator runs."""

    throughput_enabled: bool
    throughput_per_second: float
    pair_limit_enabled: bool
    pair_interval_s: float
    pair_burst: int
    latency_ms: float
    webhook_url: str | None
    emit_statuses: bool
    require_appsecret_proof: bool
    exchanged_token_ttl_s: float

    @classmethod
    def from_settings(cls, settings: SimulatorSettings) -> RuntimeConfig:
        return cls(**{name: getattr(settings, name) for name in _TUNABLE})

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An access token the simulator knows; ``expires_at`` None = never."""

    token: str
    issued_at: int
    expires_at: float | None
    scopes: tuple[str, ...] = ("whatsapp_business_messaging", "whatsapp_business_management")
    user_id: str = "100000000000002"

    def is_valid(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One accepted send, as ``GET /_sim/messages`` lists it."""

    to: str
    wa_id: str
    phone_number_id: str
    wamid: str
    type: str
    biz_opaque_callback_data: str | None
    accepted_monotonic: float
    accepted_at: float
    # SHA-256 (hex) of the bearer token the send came with: tests see which
    # token was used without the simulator keeping tokens in its records.
    token_sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class SimulatorStats:
    """Exact counters; ``accepted_per_second`` is keyed by wall-clock second."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    dropped_connections: int = 0
    rejected_by_code: Counter[int] = field(default_factory=Counter)
    async_failed_by_code: Counter[int] = field(default_factory=Counter)
    accepted_by_phone_number_id: Counter[str] = field(default_factory=Counter)
    rejected_by_phone_number_id: Counter[str] = field(default_factory=Counter)
    accepted_by_recipient: Counter[str] = field(default_factory=Counter)
    accepted_per_second: Counter[int] = field(default_factory=Counter)
    first_accept_monotonic: float | None = None
    last_accept_monotonic: float | None = None

    def to_json(self) -> dict[str, Any]:
        by_recipient = self.accepted_by_recipient
        return {
            "received": self.received,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "dropped_connections": self.dropped_connections,
            "rejected_by_code": {str(k): v for k, v in self.rejected_by_code.items()},
            "async_failed_by_code": {str(k): v for k, v in self.async_failed_by_code.items()},
            "accepted_by_phone_number_id": dict(self.accepted_by_phone_number_id),
            "rejected_by_phone_number_id": dict(self.rejected_by_phone_number_id),
            "accepted_by_recipient": dict(by_recipient),
            "distinct_recipients": len(by_recipient),
            "max_accepted_per_recipient": max(by_recipient.values(), default=0),
            "accepted_per_second": {str(k): v for k, v in sorted(self.accepted_per_second.items())},
            "first_accept_monotonic": self.first_accept_monotonic,
            "last_accept_monotonic": self.last_accept_monotonic,
        }


class SimulatorState:
    """Everything the simulator knows; handlers and tests share one instance."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.config = RuntimeConfig.from_settings(settings)
        self.faults = FaultBook(settings.seed)
        self.stats = SimulatorStats()
        self.messages: deque[MessageRecord] = deque(maxlen=settings.max_stored_messages)
        self.webhooks = WebhookDispatcher(
            secret=settings.app_secret,
            url=settings.webhook_url,
            waba_id=settings.waba_id,
            display_phone_number=settings.display_phone_number,
            queue_size=settings.webhook_queue_size,
        )
        self.tokens: dict[str, TokenInfo] = {}
        self._proofs: dict[str, str] = {}
        # A per-process prefix keeps wamids unique across simulator restarts.
        self._wamid_prefix = os.urandom(6)
        self._wamid_seq = itertools.count(1)
        self.throughput = ThroughputLimiter(settings.throughput_per_second)
        self.account = SimulatedAccount(
            self._announce, settings.display_phone_number, settings.messaging_limit
        )
        self.insights = SimulatedInsights()
        self.pair = PairLimiter(settings.pair_interval_s, settings.pair_burst)
        self._received_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._reset_tokens()

    def note_received(self) -> None:
        """Count one send request and wake tests waiting for it."""
        self.stats.received += 1
        if self._received_waiters:
            still = []
            for target, future in self._received_waiters:
                if self.stats.received >= target and not future.done():
                    future.set_result(None)
                elif not future.done():
                    still.append((target, future))
            self._received_waiters = still

    async def wait_received(self, count: int) -> None:
        """Wait (on the condition, not on time) until ``count`` sends arrived."""
        if self.stats.received >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._received_waiters.append((count, future))
        await future

    # -- identifiers and tokens -------------------------------------------------

    def new_wamid(self) -> str:
        raw = self._wamid_prefix + next(self._wamid_seq).to_bytes(8, "big")
        return "wamid." + base64.b64encode(raw).decode("ascii")

    def token_info(self, token: str) -> TokenInfo | None:
        return self.tokens.get(token)

    def issue_token(self, expires_in: float | None, token: str | None = None) -> TokenInfo:
        """Make ``token`` (or a fresh one) valid for ``expires_in`` s (None: forever)."""
        now = time.time()
        value = token if token is not None else "EAASIM" + secrets.token_urlsafe(32)
        info = TokenInfo(
            token=value,
            issued_at=int(now),
            expires_at=None if expires_in is None else now + expires_in,
        )
        self.tokens[value] = info
        return info

    def expected_proof(self, token: str) -> str | None:
        """The ``appsecret_proof`` Meta expects with ``token``; cached per token."""
        secret = self.settings.app_secret
        if secret is None:
            return None
        proof = self._proofs.get(token)
        if proof is None:
            proof = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
            if len(self._proofs) < 10_000:
                self._proofs[token] = proof
        return proof

    # -- bookkeeping --------------------------------------------------------

    def record_rejection(self, code: int, phone_number_id: str) -> None:
        stats = self.stats
        stats.rejected += 1
        stats.rejected_by_code[code] += 1
        stats.rejected_by_phone_number_id[phone_number_id] += 1

    def record_acceptance(self, record: MessageRecord) -> None:
        stats = self.stats
        stats.accepted += 1
        stats.accepted_by_phone_number_id[record.phone_number_id] += 1
        stats.accepted_by_recipient[record.wa_id] += 1
        stats.accepted_per_second[int(record.accepted_at)] += 1
        if stats.first_accept_monotonic is None:
            stats.first_accept_monotonic = record.accepted_monotonic
        stats.last_accept_monotonic = record.accepted_monotonic
        self.messages.append(record)

    # -- control ------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> str:
        return self.faults.add(rule)

    def clear_faults(self) -> None:
        self.faults.clear()

    def configure(self, changes: Mapping[str, Any]) -> RuntimeConfig:
        """Apply control-API changes; raises ``ValueError`` before changing anything."""
        for name, value in changes.items():
            if name == "seed":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError("seed must be an integer")
                continue
            allowed = _TUNABLE.get(name)
            if allowed is None:
                raise ValueError(f"unknown setting {name!r}")
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                raise ValueError(f"{name} has the wrong type")
        new = RuntimeConfig(
            **{**self.config.to_json(), **{k: v for k, v in changes.items() if k != "seed"}}
        )
        if new.throughput_per_second <= 0 or new.pair_interval_s <= 0 or new.pair_burst < 1:
            raise ValueError("rate limits must be positive")
        if new.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if "seed" in changes:
            self.faults.reseed(changes["seed"])
        self._apply(new)
        return new

    def reset(self) -> None:
        """Back to the starting settings: no counters, limits, messages, faults, tokens."""
        self.faults.clear()
        self.faults.reseed(self.settings.seed)
        self.stats = SimulatorStats()
        self.messages.clear()
        self.webhooks.clear()
        self._reset_tokens()
        self._apply(RuntimeConfig.from_settings(self.settings))
        self.throughput.clear()
        self.pair.clear()
        self.account.reset()
        self.insights.reset()

    def messages_to(self, to: str | None = None) -> list[MessageRecord]:
        """Stored accepted messages, optionally only those to ``to`` (any format)."""
        if to is None:
            return list(self.messages)
        wa_id = digits_only(to)
        return [m for m in self.messages if m.wa_id == wa_id]

    def deliver_inbound(
        self,
        sender: str,
        *,
        phone_number_id: str,
        text: str | None = None,
        button_payload: str | None = None,
        button_text: str | None = None,
        context_id: str | None = None,
        name: str = "Simulated User",
    ) -> str:
        """Queue an inbound-message webhook from ``sender``; returns its wamid."""
        if self.config.webhook_url is None:
            raise ValueError("no webhook_url is configured")
        wamid = self.new_wamid()
        wa_id = digits_only(sender)
        context = None
        if context_id is not None:
            context = {"from": self.settings.display_phone_number, "id": context_id}
        item = inbound_message_item(
            wamid,
            wa_id,
            int(time.time()),
            text=text,
            button_payload=button_payload,
            button_text=button_text,
            context=context,
        )
        contact = {"profile": {"name": name}, "wa_id": wa_id}
        if not self.webhooks.submit(WebhookUpdate(phone_number_id, "messages", item, contact)):
            raise ValueError("the webhook queue is full")
        return wamid

    def emit_account_change(self, field: str, value: dict[str, Any]) -> None:
        """Queue one account webhook (``simulator/account.py`` builds values)."""
        if field not in ACCOUNT_FIELDS:
            raise ValueError(f"field must be one of {', '.join(ACCOUNT_FIELDS)}")
        if self.config.webhook_url is None:
            raise ValueError("no webhook_url is configured")
        if not self.webhooks.submit(WebhookUpdate("", "account", value, field=field)):
            raise ValueError("the webhook queue is full")

    def _announce(self, field: str, value: dict[str, Any]) -> None:
        """An account change Meta announces, queued when webhooks are configured."""
        if self.config.webhook_url is not None:
            self.emit_account_change(field, value)

    def _apply(self, new: RuntimeConfig) -> None:
        old, self.config = self.config, new
        self.webhooks.url = new.webhook_url
        if new.throughput_per_second != old.throughput_per_second:
            self.throughput = ThroughputLimiter(new.throughput_per_second)
        if (new.pair_interval_s, new.pair_burst) != (old.pair_interval_s, old.pair_burst):
            self.pair = PairLimiter(new.pair_interval_s, new.pair_burst)

    def _reset_tokens(self) -> None:
        self.tokens.clear()
        self._proofs.clear()
        for token in self.settings.access_tokens:
            self.tokens[token] = TokenInfo(token=token, issued_at=0, expires_at=None)


SIMULATOR_STATE = web.AppKey("simulator_state", SimulatorState)
