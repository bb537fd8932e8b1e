"""One send's Graph calls: retries with backoff, the AUTH refresh, throttling
and the adaptive rate, and the suppression re-check before every retry.

``Sender.deliver`` runs ``GraphAttempts.run`` for a send it holds in flight;
the outcome it returns (SENT, REJECTED by a late opt-out, FAILED,
DEAD_LETTERED or IN_DOUBT) is stored by the caller. Classification is
``policy.retry.classify``; this module only acts on it.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from sidecar.errors import StoreUnavailable
from sidecar.policy.retry import (
    OPT_OUT_CODES,
    PAIR_LIMIT_CODE,
    THROTTLING_CODES,
    Classification,
    RetryPolicy,
    classify,
)
from sidecar.policy.types import ALLOW, Category, Decision, ErrorClass, Reason
from sidecar.service.models import Outcome, SendCommand, SendFailure, SendResult
from sidecar.service.pacing import QuotaGate
from sidecar.service.records import opted_out
from sidecar.service.subjects import SubjectDirectory
from sidecar.stores.base import ConsentStore
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import recording
from sidecar.whatsapp.client import MessageSender
from sidecar.whatsapp.errors import GraphError
from sidecar.whatsapp.messages import graph_body
from sidecar.whatsapp.tokens import TokenManager

OptOutHook = Callable[[str, str, str], Awaitable[None]]
"""``(e164, category_value, source)``: records an opt-out learned from Graph."""

STORE_DOWN = Decision(
    False, Reason.STORE_UNAVAILABLE, "consent store unavailable; failing closed", 1.0
)
_MAX_PAIRS_TRACKED = 100_000
"""Pairs with a running 131056 count kept at most; past it the counts start over."""


class AttemptDeps(Protocol):
    """What the attempts read from ``SendDeps``."""

    @property
    def state(self) -> ConsentStore: ...
    @property
    def quota(self) -> QuotaGate: ...
    @property
    def directory(self) -> SubjectDirectory: ...
    @property
    def graph(self) -> MessageSender: ...
    @property
    def tokens(self) -> TokenManager: ...
    @property
    def metrics(self) -> Metrics: ...


class GraphAttempts:
    """Calls Graph for one send until it is sent, refused, or given up."""

    def __init__(
        self,
        deps: AttemptDeps,
        retry: RetryPolicy,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        on_opt_out: OptOutHook | None = None,
    ) -> None:
        self._d = deps
        self._retry = retry
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._on_opt_out = on_opt_out
        self._pair_failures: dict[str, int] = {}

    async def run(self, cmd: SendCommand) -> SendResult:
        """Attempts until an answer: the first is made at once (its
        suppression check was the store's, when the send started), each
        retry after its backoff and a fresh check."""
        d = self._d
        policy = self._retry
        quota = d.quota
        rate = quota.rate_for(cmd.phone_number_id)
        attempts = 0
        retries = 0
        auth_refreshed = False
        body = graph_body(cmd.envelope, cmd.key)
        while True:
            if attempts:  # a retry: an opt-out may have arrived since the last attempt
                allowed = await self.still_allowed(cmd)
                if not allowed.allowed:  # the quota this send took goes back
                    await quota.refund(cmd, d.directory.indexes(cmd.to))
                    return SendResult(
                        cmd.key, Outcome.REJECTED, decision=allowed, attempts=attempts
                    )
            creds = d.tokens.credentials
            attempts += 1
            try:
                message_id = await d.graph.send_message(
                    cmd.phone_number_id, body, resend_count=attempts - 1
                )
            except GraphError as err:
                c = self._classify(err, cmd)
                d.metrics.graph_errors.labels(str(err.code or 0), c.error_class.value).inc()
                _note_failed_attempt(attempts, err, c)
                if c.in_doubt:  # Meta may have it: never resent blindly
                    return SendResult(
                        cmd.key, Outcome.IN_DOUBT, error=failure(err, c), attempts=attempts
                    )
                await self._react(err, cmd)
                if c.error_class is ErrorClass.AUTH:
                    # Refresh the token, then retry once (SPEC §4.8); a second
                    # AUTH error ends the send.
                    if not auth_refreshed:
                        auth_refreshed = True
                        if await d.tokens.on_auth_error(creds):
                            d.metrics.retries.labels(c.error_class.value).inc()
                            continue
                elif policy.should_retry(retries, c):
                    delay = policy.delay(retries, c, self._rand, err.retry_after_header)
                    d.metrics.retries.labels(c.error_class.value).inc()
                    await self._sleep(delay)
                    retries += 1
                    if await self._retry_token(cmd.phone_number_id):
                        continue
                outcome = Outcome.DEAD_LETTERED if c.retryable else Outcome.FAILED
                return SendResult(cmd.key, outcome, error=failure(err, c), attempts=attempts)
            rate.on_success(self._clock())
            self._pair_delivered(cmd)
            return SendResult(cmd.key, Outcome.SENT, message_id=message_id, attempts=attempts)

    async def still_allowed(self, cmd: SendCommand) -> Decision:
        """Before a retry: suppression read again (the first attempt's check is
        folded into the store operation that started the send)."""
        try:
            snap = await self._d.state.snapshot(None, self._d.directory.indexes(cmd.to).full)
        except StoreUnavailable:
            return STORE_DOWN
        if cmd.category.value in snap.suppressed:
            return opted_out(cmd.category)
        return ALLOW

    async def _retry_token(self, phone_number_id: str) -> bool:
        """A send token for a retry; False (give up, dead-letter) when the quota
        store is down and the fail mode is closed."""
        try:
            await self._d.quota.take_send_token(phone_number_id, math.inf)
        except StoreUnavailable:
            return False
        return True

    def _classify(self, err: GraphError, cmd: SendCommand) -> Classification:
        failures = 0
        if err.code == PAIR_LIMIT_CODE:
            key = f"{cmd.phone_number_id}:{cmd.to}"
            failures = self._pair_failures.get(key, 0)
            if len(self._pair_failures) >= _MAX_PAIRS_TRACKED:
                self._pair_failures.clear()
            self._pair_failures[key] = failures + 1
        return classify(err.code, err.http_status, err.network_error, recipient_failures=failures)

    def _pair_delivered(self, cmd: SendCommand) -> None:
        """A send to the pair went through: its 131056 count starts over (4**0)."""
        if self._pair_failures:
            self._pair_failures.pop(f"{cmd.phone_number_id}:{cmd.to}", None)

    async def _react(self, err: GraphError, cmd: SendCommand) -> None:
        if err.code in THROTTLING_CODES:
            self._d.quota.rate_for(cmd.phone_number_id).on_throttle(self._clock())
        if err.code in OPT_OUT_CODES and self._on_opt_out is not None:
            await self._on_opt_out(cmd.to, Category.MARKETING.value, f"graph:{err.code}")


def _note_failed_attempt(attempt: int, err: GraphError, c: Classification) -> None:
    """The attempt's CLIENT span has ended: the failure is an event on the send span."""
    span = recording()
    if span is not None:
        span.add_event(
            "graph.attempt_failed",
            {
                "sidecar.attempt": attempt,
                "sidecar.graph.error_code": err.code or 0,
                "sidecar.graph.error_class": c.error_class.value,
                "sidecar.graph.retryable": c.retryable,
            },
        )


def failure(err: GraphError, c: Classification) -> SendFailure:
    return SendFailure(
        code=err.code or 0,
        error_class=c.error_class,
        retryable=c.retryable,
        message=str(err),
        fbtrace_id=err.fbtrace_id,
        http_status=err.http_status,
        subcode=err.subcode or 0,
    )
