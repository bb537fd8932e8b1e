"""Sending: the policy pipeline, idempotency, the retry loop and dead letters.

Order for every send (SPEC §4, issue "SendService"): validate (in ``api/``)
→ consent → 24-hour window → pair limit → token bucket → Graph → classify →
retry or finish. ``check`` runs the same decisions without taking quota.
Each decision is a pure function in ``policy/``; this module only fetches
what they need and acts on the verdicts.

Idempotency: a send records its intent (state IN_FLIGHT, owned by this
process incarnation) durably right before the Graph call — after every wait,
holding a wire slot so that no pool wait follows — and the outcome after.
The store operation that records the intent also re-checks suppression
(``begin_send``/``start_send``), and each retry asks again
(``GraphAttempts.still_allowed``): an opt-out that arrives while a send waits
stops it.
Repeats return the stored outcome; concurrent repeats in one process share
one Graph call; a record left IN_FLIGHT by a crashed incarnation (its owner
lease lapsed, ``service/leases.py``) answers OUTCOME_IN_DOUBT and is never
resent blindly. So does a send whose own Graph call may have reached Meta
without a usable answer (``Classification.in_doubt``): it is held IN_DOUBT at
once, without retry or dead letter, until its status webhook or a person
resolves it (``service/resend.py`` for the opt-in resend). A send cancelled
by its caller is released when the Graph call had not started, else handed
over as in doubt — never left IN_FLIGHT under a live owner. A Graph answer
(sent, or maybe sent) that the store cannot take because it just went down is
still the caller's answer, never UNAVAILABLE (which would invite a second
send); ``service/leftovers.py`` stores it once the store is back.

    sender = Sender(deps, send_settings)   # both built by ``sidecar/app.py``
    result = await sender.send(command)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sidecar.crypto.fields import FieldCipher
from sidecar.errors import IdempotencyConflict, StoreUnavailable
from sidecar.policy.access import Principal, category_refusal
from sidecar.policy.consent import ConsentRules
from sidecar.policy.retry import RetryPolicy
from sidecar.policy.types import Decision, Reason
from sidecar.redact import mask_number
from sidecar.service.attempts import STORE_DOWN, GraphAttempts, OptOutHook
from sidecar.service.decide import Lookup, SendDecider
from sidecar.service.leftovers import Leftovers
from sidecar.service.models import Outcome, SendCommand, SendResult, rejected
from sidecar.service.pacing import QuotaGate
from sidecar.service.records import REFUSALS, dead_letter, held_result, new_record, stored_result
from sidecar.service.sealed import seal_request
from sidecar.service.subjects import SubjectDirectory
from sidecar.service.validator import NumberValidator
from sidecar.stores.base import (
    ConsentStore,
    DeadLetterStore,
    EngagementStore,
    SendRecord,
    SendState,
    SendStore,
    StartVerdict,
    WindowStore,
)
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import child_span, tracer
from sidecar.whatsapp.client import MessageSender
from sidecar.whatsapp.tokens import TokenManager

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)

__all__ = ["OptOutHook", "SendDeps", "SendPathState", "SendSettings", "Sender", "stored_result"]


@dataclass(frozen=True, slots=True)
class SendSettings:
    """The sending knobs (``sidecar/service_settings.py`` reads them from ``Settings``)."""

    rate: float
    burst: float
    max_wait: float
    pair_rate: float
    pair_burst: float
    window_seconds: float
    rules: ConsentRules
    retry: RetryPolicy
    messaging_limit: int = 0
    quota_fail_open: bool = False  # quota store down: local fallback bucket instead of refusing
    fail_open_fraction: float = 0.25  # share of each rate/burst/cap the fallback allows
    quota_shadow: bool = False  # quota refusals are counted, not enforced
    resend_after: float = 0.0  # > 0: keep a maybe-sent request sealed for one resend
    wire_slots: int = 128  # Graph calls at once (the HTTP pool): a send marked in flight has one
    burst_follows_rate: bool = False  # no burst configured: the bucket is the (account's) rate
    red_marketing_share: float = 0.1  # at quality RED, marketing's share of the number's rate


class SendPathState(
    SendStore, ConsentStore, WindowStore, DeadLetterStore, EngagementStore, Protocol
):
    """The state roles a send reads and writes: its record, consent, the
    service window, dead letters and the session it may answer."""


@dataclass(slots=True)
class SendDeps:
    state: SendPathState
    quota: QuotaGate
    directory: SubjectDirectory
    graph: MessageSender
    tokens: TokenManager
    cipher: FieldCipher
    metrics: Metrics
    fingerprint_key: bytes
    validator: NumberValidator | None = None


class Sender:
    """Sends one message at a time through the whole pipeline."""

    def __init__(
        self,
        deps: SendDeps,
        settings: SendSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        on_opt_out: OptOutHook | None = None,
    ) -> None:
        self._d = deps
        self._s = settings
        self._clock = clock
        self.owner = uuid.uuid4().hex
        self._inflight: dict[str, tuple[str, asyncio.Future[SendResult]]] = {}
        self._attempts = GraphAttempts(
            deps, settings.retry, clock=clock, sleep=sleep, rand=rand, on_opt_out=on_opt_out
        )
        self._wire = asyncio.Semaphore(settings.wire_slots)
        self._leftovers = Leftovers()
        self.quota = deps.quota
        self._decider = SendDecider(deps, settings.rules, settings.window_seconds, clock)

    # ------------------------------------------------------------------ decisions

    async def check(self, cmd: SendCommand, *, principal: Principal | None = None) -> Decision:
        """The verdict for ``cmd`` now, consuming nothing; ``principal`` is the
        authenticated caller, refused categories it may not send."""
        refusal = category_refusal(principal, cmd.category)
        if refusal is not None:
            return refusal
        decision, _ = await self._decider.decide(
            cmd, self._d.directory.indexes(cmd.to), consume=False
        )
        return decision

    # ------------------------------------------------------------------ sending

    def fingerprint(self, cmd: SendCommand) -> str:
        return hashlib.blake2b(cmd.content, key=self._d.fingerprint_key, digest_size=16).hexdigest()

    async def send(
        self,
        cmd: SendCommand,
        *,
        max_wait: float | None = None,
        principal: Principal | None = None,
    ) -> SendResult:
        """Send with idempotency; concurrent repeats of one key share one call.
        A ``principal`` (the authenticated caller) sends only its categories."""
        refusal = category_refusal(principal, cmd.category)
        if refusal is not None:
            return self.refuse(cmd, refusal)
        pending = self._inflight.get(cmd.key)
        if pending is not None:
            fingerprint, shared = pending
            if fingerprint != self.fingerprint(cmd):
                raise IdempotencyConflict(_CONFLICT)
            return await asyncio.shield(shared)
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        fp = self.fingerprint(cmd)
        self._inflight[cmd.key] = (fp, future)
        try:
            with child_span(_TRACER, "send") as span:
                result = await self._send(cmd, fp, max_wait)
                if span.is_recording():
                    span.set_attributes(_span_attributes(cmd, result))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[cmd.key]

    async def _send(self, cmd: SendCommand, fp: str, max_wait: float | None) -> SendResult:
        d = self._d
        idx = d.directory.indexes(cmd.to)
        looked_up: Lookup | None = None
        if cmd.key_given:
            try:
                existing, looked_up = await self._decider.lookup(cmd, idx, cmd.key)
            except StoreUnavailable:
                self._count(cmd, Outcome.REJECTED, STORE_DOWN.reason)
                return rejected(cmd.key, STORE_DOWN)
            if existing is not None:
                return self._replay(existing, fp)
        decision, subject = await self._decider.decide(
            cmd, idx, consume=not cmd.dry_run, max_wait=max_wait, looked_up=looked_up
        )
        if not decision.allowed:
            self._count(cmd, Outcome.REJECTED, decision.reason)
            return rejected(cmd.key, decision)
        if cmd.dry_run:
            return SendResult(cmd.key, Outcome.DRY_RUN)
        now = self._clock()
        record = new_record(
            cmd, fp, SendState.IN_FLIGHT, owner=self.owner, subject=subject, now=now
        )
        async with self._wire:  # held from here: no pool wait after the intent is stored
            try:
                existing = await d.state.begin_send(record, idx.full, REFUSALS[cmd.category])
            except asyncio.CancelledError:  # the caller gave up; Graph was not called
                self._leftovers.later(d.state.release_send(cmd.key, self.owner))
                raise
            if existing is not None:
                if existing.owner == self.owner and existing.created_at == now:
                    return await self._refused_at_start(cmd)  # opted out while it waited
                return self._replay(existing, fp)
            return await self.deliver(cmd)

    async def dispatch(self, cmd: SendCommand) -> SendResult:
        """Send a command whose record this process holds RESERVED (claimed
        from the outbox): decide, wait for quota as long as needed, mark it in
        flight (suppression re-checked), deliver, and store the outcome — a
        refusal is final for the record."""
        d = self._d
        idx = d.directory.indexes(cmd.to)
        decision, _ = await self._decider.decide(cmd, idx, consume=True, max_wait=math.inf)
        if not decision.allowed:
            result = rejected(cmd.key, decision)
            await d.state.finish_send(
                cmd.key, self.owner, result.outcome.value, "", result.to_json(), self._clock()
            )
            self._count(cmd, Outcome.REJECTED, decision.reason)
            return result
        async with self._wire:
            try:
                verdict = await d.state.start_send(
                    cmd.key, self.owner, idx.full, REFUSALS[cmd.category], self._clock()
                )
            except asyncio.CancelledError:  # shutdown cut it off before Graph
                self._leftovers.later(d.state.release_send(cmd.key, self.owner))
                raise
            if verdict is StartVerdict.SUPPRESSED:
                return await self._refused_at_start(cmd)
            if verdict is StartVerdict.LOST:  # taken over meanwhile: not ours to send
                return SendResult(cmd.key, Outcome.QUEUED)
            return await self.deliver(cmd)

    async def deliver(self, cmd: SendCommand, *, resendable: bool = True) -> SendResult:
        """Graph call with retries for a send this process holds IN_FLIGHT;
        stores the outcome (unless the record was resolved meanwhile).
        ``resendable`` False: a maybe-sent outcome keeps no request (it was
        the one resend already)."""
        d = self._d
        try:
            result = await self._attempts.run(cmd)
        except asyncio.CancelledError:  # cut off mid-call: it may be on the wire
            self._leftovers.later(d.state.abandon_send(cmd.key, self.owner, self._clock()))
            raise
        if result.outcome is Outcome.IN_DOUBT:
            result = await self._hold_in_doubt(cmd, result, resendable)
            self._count(cmd, result.outcome, Reason.NONE)
            return result
        finish = (cmd.key, self.owner, result.outcome.value, result.message_id, result.to_json())
        try:
            if result.outcome is Outcome.DEAD_LETTERED:
                await self._dead_letter(cmd, result)
            if result.outcome is Outcome.SENT:
                stored = await self._finish_sent(cmd.key, result)
            else:
                stored = await d.state.finish_send(*finish, self._clock())
            if not stored:
                log.info(
                    "send outcome not stored: the record was resolved meanwhile",
                    extra={"event": "finish_superseded", "idempotency_key": cmd.key},
                )
        except asyncio.CancelledError:  # the outcome is known: store it anyway
            self._leftovers.later(d.state.finish_send(*finish, self._clock()))
            raise
        except StoreUnavailable:
            if result.outcome is not Outcome.SENT:
                raise  # nothing reached the user: the caller may try again
            # Graph accepted it: answering UNAVAILABLE would invite a second
            # send. The answer is SENT; its record is stored once the store is back.
            at = self._clock()  # when it was sent, not when the store came back
            self._leftovers.until_stored(lambda: self._finish_sent(cmd.key, result, at), cmd.key)
        self._count(cmd, result.outcome, result.decision.reason)
        return result

    async def _finish_sent(self, key: str, result: SendResult, at: float | None = None) -> bool:
        """Store a SENT outcome and, in the same store operation, the first
        reply to a session its recipient opened (the session response KPIs)."""
        stored, delay = await self._d.state.finish_sent(
            key,
            self.owner,
            result.message_id,
            result.to_json(),
            self._clock() if at is None else at,
            self._s.window_seconds,
        )
        if delay is not None:
            self._d.metrics.first_reply.observe(delay)
        return stored

    async def _hold_in_doubt(
        self, cmd: SendCommand, result: SendResult, resendable: bool
    ) -> SendResult:
        """Record a maybe-sent outcome (IN_DOUBT, never retried or
        dead-lettered). If the key's status webhook came first, its
        resolution stands and is the answer."""
        d = self._d
        sealed = seal_request(d.cipher, cmd) if resendable and self._s.resend_after > 0 else b""
        hold = (cmd.key, self.owner, result.to_json(), sealed, self._clock())
        try:
            held = await d.state.hold_in_doubt(*hold)
        except StoreUnavailable:  # maybe sent: UNAVAILABLE would invite a second send
            self._leftovers.until_stored(lambda: d.state.hold_in_doubt(*hold), cmd.key)
            held = True
        if not held:
            record = await d.state.get_send(cmd.key)
            if record is not None and record.state is SendState.DONE:
                return stored_result(record)
        d.metrics.in_doubt.inc()
        log.warning(
            "send in doubt: Graph gave no usable answer; not resent",
            extra={"event": "send_in_doubt", "idempotency_key": cmd.key},
        )
        return result

    async def resend(self, cmd: SendCommand) -> SendResult:
        """Send once more a held send that this process has claimed again
        (``StateStore.claim_resend``): policy decides anew (an opt-out since
        the first attempt wins), then one delivery whose maybe-sent outcome
        is held without a request. A refusal leaves the send in doubt."""
        idx = self._d.directory.indexes(cmd.to)
        decision, _ = await self._decider.decide(cmd, idx, consume=True, max_wait=math.inf)
        if not decision.allowed:
            log.info(
                "in-doubt send not resent: policy refuses it now",
                extra={"event": "resend_refused", "idempotency_key": cmd.key},
            )
            held = SendResult(cmd.key, Outcome.IN_DOUBT, decision=decision)
            await self._d.state.hold_in_doubt(
                cmd.key, self.owner, held.to_json(), b"", self._clock()
            )
            return held
        return await self.deliver(cmd, resendable=False)

    async def _refused_at_start(self, cmd: SendCommand) -> SendResult:
        """The store refused to start the send: the recipient opted out after
        the decision. The refusal is stored under the key; the quota the
        decision took is given back."""
        await self.quota.refund(cmd, self._d.directory.indexes(cmd.to))
        self._count(cmd, Outcome.REJECTED, Reason.OPTED_OUT)
        return SendResult.from_json(cmd.key, REFUSALS[cmd.category])

    async def settle(self) -> None:
        """Wait for the store work sends left in the background (shutdown)."""
        await self._leftovers.settle()

    def _replay(self, existing: SendRecord, fingerprint: str) -> SendResult:
        if existing.fingerprint != fingerprint:
            raise IdempotencyConflict(_CONFLICT)
        if existing.state is SendState.DONE:
            return stored_result(existing)
        if existing.state in (SendState.QUEUED, SendState.RESERVED):
            return SendResult(existing.key, Outcome.QUEUED)
        self._d.metrics.in_doubt.inc()
        if existing.state is SendState.IN_DOUBT:
            return held_result(existing)
        return SendResult(existing.key, Outcome.IN_DOUBT)

    async def _dead_letter(self, cmd: SendCommand, result: SendResult) -> None:
        await self._d.state.put_dead_letter(dead_letter(cmd, result, self._d.cipher, self._clock()))
        self._d.metrics.dead_letters.inc()
        code = result.error.code if result.error else 0
        log.warning(
            "send dead-lettered",
            extra={"event": "dead_lettered", "idempotency_key": cmd.key, "code": code},
        )

    def refuse(self, cmd: SendCommand, decision: Decision) -> SendResult:
        """Answer a send refused before the pipeline (the caller's category
        limits), counted like any refusal."""
        self._count(cmd, Outcome.REJECTED, decision.reason)
        return rejected(cmd.key, decision)

    def _count(self, cmd: SendCommand, outcome: Outcome, reason: Reason) -> None:
        self._d.metrics.sends.labels(outcome.value, reason.value, cmd.category.value).inc()


_CONFLICT = "idempotency_key was already used for a request with different content"


def _span_attributes(cmd: SendCommand, result: SendResult) -> dict[str, str | int]:
    """What the ``send`` span tells: the number only masked, never the body."""
    return {
        "sidecar.recipient": mask_number(cmd.to),
        "sidecar.category": cmd.category.value,
        "sidecar.phone_number_id": cmd.phone_number_id,
        "sidecar.outcome": result.outcome.value,
        "sidecar.decision.reason": result.decision.reason.value,
        "sidecar.graph.attempts": result.attempts,
    }
