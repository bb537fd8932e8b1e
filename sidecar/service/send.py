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
(``_still_allowed``): an opt-out that arrives while a send waits stops it.
Repeats return the stored outcome; concurrent repeats in one process share
one Graph call; a record left IN_FLIGHT by a crashed incarnation (its owner
lease lapsed, ``service/leases.py``) answers OUTCOME_IN_DOUBT and is never
resent blindly. So does a send whose own Graph call may have reached Meta
without a usable answer (``Classification.in_doubt``): it is held IN_DOUBT at
once, without retry or dead letter, until its status webhook or a person
resolves it (``service/resend.py`` for the opt-in resend). A send cancelled
by its caller is released when the Graph call had not started, else handed
over as in doubt — never left IN_FLIGHT under a live owner.

    sender = Sender(deps, send_settings)   # both built by ``sidecar/app.py``
    result = await sender.send(command)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sidecar.crypto.fields import FieldCipher, aad
from sidecar.errors import IdempotencyConflict, StoreUnavailable
from sidecar.policy.access import Principal, category_refusal
from sidecar.policy.consent import ConsentRules, decide_category, decide_consent, decide_window
from sidecar.policy.retry import (
    OPT_OUT_CODES,
    PAIR_LIMIT_CODE,
    THROTTLING_CODES,
    Classification,
    RetryPolicy,
    classify,
)
from sidecar.policy.types import ALLOW, Category, Decision, ErrorClass, Reason
from sidecar.redact import mask_number
from sidecar.service.models import Outcome, SendCommand, SendFailure, SendResult, rejected
from sidecar.service.pacing import QuotaGate
from sidecar.service.sealed import seal_request
from sidecar.service.subjects import Indexes, SubjectDirectory
from sidecar.service.validator import NumberValidator
from sidecar.stores.base import (
    ConsentSnapshot,
    ConsentStore,
    DeadLetterRecord,
    DeadLetterStore,
    SendRecord,
    SendState,
    SendStore,
    StartVerdict,
    Subject,
    WindowStore,
)
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import child_span, recording, tracer
from sidecar.whatsapp.client import MessageSender
from sidecar.whatsapp.errors import GraphError
from sidecar.whatsapp.messages import graph_body
from sidecar.whatsapp.tokens import TokenManager

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)
T = TypeVar("T")

OptOutHook = Callable[[str, str, str], Awaitable[None]]
"""``(e164, category_value, source)``: records an opt-out learned from Graph."""


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


class SendPathState(SendStore, ConsentStore, WindowStore, DeadLetterStore, Protocol):
    """The state roles a send reads and writes: its record, consent, the
    service window and dead letters."""


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
        self._sleep = sleep
        self._rand = rand
        self._on_opt_out = on_opt_out
        self.owner = uuid.uuid4().hex
        self._inflight: dict[str, tuple[str, asyncio.Future[SendResult]]] = {}
        self._pair_failures: dict[str, int] = {}
        self._wire = asyncio.Semaphore(settings.wire_slots)
        self._cleanup: set[asyncio.Future[object]] = set()
        self.quota = deps.quota

    # ------------------------------------------------------------------ decisions

    async def check(self, cmd: SendCommand, *, principal: Principal | None = None) -> Decision:
        """The verdict for ``cmd`` now, consuming nothing; ``principal`` is the
        authenticated caller, refused categories it may not send."""
        refusal = category_refusal(principal, cmd.category)
        if refusal is not None:
            return refusal
        decision, _ = await self._decide(cmd, self._d.directory.indexes(cmd.to), consume=False)
        return decision

    async def _lookup(
        self, cmd: SendCommand, idx: Indexes, key: str | None = None
    ) -> tuple[SendRecord | None, _Lookup]:
        """The send recorded under ``key`` (when given), the subject and its
        consent snapshot: one store operation, plus one more only at the first
        sight in this process of a subject the store already holds."""
        d = self._d
        subject = d.directory.cached(idx)
        ctx = await d.state.prepare_send(
            key, subject.id if subject else None, None if subject else idx.blind, idx.full
        )
        if subject is None and ctx.existing is None:
            subject = d.directory.pick(cmd.to, idx, ctx.candidates)
            if subject is not None:
                return None, (subject, await d.state.snapshot(subject.id, idx.full))
        return ctx.existing, (subject, ctx.snapshot)

    async def _decide(
        self,
        cmd: SendCommand,
        idx: Indexes,
        *,
        consume: bool,
        max_wait: float | None = None,
        looked_up: _Lookup | None = None,
    ) -> tuple[Decision, Subject | None]:
        with child_span(_TRACER, "policy.decide") as span:
            decision, subject = await self._decide_steps(cmd, idx, consume, max_wait, looked_up)
            span.set_attribute("sidecar.decision.reason", decision.reason.value)
            return decision, subject

    async def _decide_steps(
        self,
        cmd: SendCommand,
        idx: Indexes,
        consume: bool,
        max_wait: float | None,
        looked_up: _Lookup | None,
    ) -> tuple[Decision, Subject | None]:
        """Consent → window → validator → quota; the first refusal wins."""
        d = self._d
        unfit = decide_category(cmd.category, cmd.free_form)
        if not unfit.allowed:  # stored before the edge refused it
            return unfit, None
        try:
            subject, snap = looked_up or (await self._lookup(cmd, idx))[1]
            current = {category: action.value for category, action in snap.current.items()}
            decision = decide_consent(self._s.rules, cmd.category, snap.suppressed, current)
            if not decision.allowed:
                return decision, subject
            if cmd.free_form:
                last = (
                    await d.state.last_inbound(cmd.phone_number_id, subject.id) if subject else None
                )
                decision = decide_window(True, last, self._clock(), self._s.window_seconds)
                if not decision.allowed:
                    return decision, subject
        except StoreUnavailable:
            return _STORE_DOWN, None
        if d.validator is not None and await d.validator.reachable(cmd.to, key=idx.full) is False:
            return _NOT_ON_WHATSAPP, subject
        decision = await self.quota.decide(cmd, idx, consume=consume, max_wait=max_wait)
        return decision, subject

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
        looked_up: _Lookup | None = None
        if cmd.key_given:
            try:
                existing, looked_up = await self._lookup(cmd, idx, cmd.key)
            except StoreUnavailable:
                self._count(cmd, Outcome.REJECTED, _STORE_DOWN.reason)
                return rejected(cmd.key, _STORE_DOWN)
            if existing is not None:
                return self._replay(existing, fp)
        decision, subject = await self._decide(
            cmd, idx, consume=not cmd.dry_run, max_wait=max_wait, looked_up=looked_up
        )
        if not decision.allowed:
            self._count(cmd, Outcome.REJECTED, decision.reason)
            return rejected(cmd.key, decision)
        if cmd.dry_run:
            return SendResult(cmd.key, Outcome.DRY_RUN)
        now = self._clock()
        record = SendRecord(
            key=cmd.key,
            fingerprint=fp,
            state=SendState.IN_FLIGHT,
            owner=self.owner,
            phone_number_id=cmd.phone_number_id,
            category=cmd.category.value,
            subject_id=subject.id if subject else "",
            to_masked=mask_number(cmd.to),
            created_at=now,
            updated_at=now,
        )
        async with self._wire:  # held from here: no pool wait after the intent is stored
            try:
                existing = await d.state.begin_send(record, idx.full, _REFUSALS[cmd.category])
            except asyncio.CancelledError:  # the caller gave up; Graph was not called
                self._later(d.state.release_send(cmd.key, self.owner))
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
        decision, _ = await self._decide(cmd, idx, consume=True, max_wait=math.inf)
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
                    cmd.key, self.owner, idx.full, _REFUSALS[cmd.category], self._clock()
                )
            except asyncio.CancelledError:  # shutdown cut it off before Graph
                self._later(d.state.release_send(cmd.key, self.owner))
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
            result = await self._call_graph(cmd)
        except asyncio.CancelledError:  # cut off mid-call: it may be on the wire
            self._later(d.state.abandon_send(cmd.key, self.owner, self._clock()))
            raise
        if result.outcome is Outcome.IN_DOUBT:
            result = await self._hold_in_doubt(cmd, result, resendable)
            self._count(cmd, result.outcome, Reason.NONE)
            return result
        finish = (cmd.key, self.owner, result.outcome.value, result.message_id, result.to_json())
        try:
            if result.outcome is Outcome.DEAD_LETTERED:
                await self._dead_letter(cmd, result)
            if not await d.state.finish_send(*finish, self._clock()):
                log.info(
                    "send outcome not stored: the record was resolved meanwhile",
                    extra={"event": "finish_superseded", "idempotency_key": cmd.key},
                )
        except asyncio.CancelledError:  # the outcome is known: store it anyway
            self._later(d.state.finish_send(*finish, self._clock()))
            raise
        self._count(cmd, result.outcome, result.decision.reason)
        return result

    async def _hold_in_doubt(
        self, cmd: SendCommand, result: SendResult, resendable: bool
    ) -> SendResult:
        """Record a maybe-sent outcome (IN_DOUBT, never retried or
        dead-lettered). If the key's status webhook came first, its
        resolution stands and is the answer."""
        d = self._d
        sealed = seal_request(d.cipher, cmd) if resendable and self._s.resend_after > 0 else b""
        held = await d.state.hold_in_doubt(
            cmd.key, self.owner, result.to_json(), sealed, self._clock()
        )
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
        decision, _ = await self._decide(cmd, idx, consume=True, max_wait=math.inf)
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
        return SendResult.from_json(cmd.key, _REFUSALS[cmd.category])

    async def _still_allowed(self, cmd: SendCommand) -> Decision:
        """Before a retry: suppression read again (the first attempt's check is
        folded into the store operation that started the send)."""
        try:
            snap = await self._d.state.snapshot(None, self._d.directory.indexes(cmd.to).full)
        except StoreUnavailable:
            return _STORE_DOWN
        if cmd.category.value in snap.suppressed:
            return _opted_out(cmd.category)
        return ALLOW

    def _later(self, work: Awaitable[object]) -> None:
        """Finish store work a cancelled send left, in the background."""
        task = asyncio.ensure_future(work)
        self._cleanup.add(task)
        task.add_done_callback(self._cleaned)

    def _cleaned(self, task: asyncio.Future[object]) -> None:
        self._cleanup.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "store update after a cancelled send failed: %s",
                type(task.exception()).__name__,
                extra={"event": "send_cleanup_failed"},
            )

    async def settle(self) -> None:
        """Wait for the background store work of cancelled sends (shutdown)."""
        if self._cleanup:
            await asyncio.gather(*list(self._cleanup), return_exceptions=True)

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

    async def _call_graph(self, cmd: SendCommand) -> SendResult:
        d = self._d
        policy = self._s.retry
        rate = self.quota.rate_for(cmd.phone_number_id)
        attempts = 0
        retries = 0
        auth_refreshed = False
        body = graph_body(cmd.envelope, cmd.key)
        while True:
            if attempts:  # a retry: an opt-out may have arrived since the last attempt
                allowed = await self._still_allowed(cmd)
                if not allowed.allowed:  # the quota this send took goes back
                    await self.quota.refund(cmd, d.directory.indexes(cmd.to))
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
                span = recording()
                if span is not None:  # the attempt's CLIENT span has ended: note it here
                    span.add_event(
                        "graph.attempt_failed",
                        {
                            "sidecar.attempt": attempts,
                            "sidecar.graph.error_code": err.code or 0,
                            "sidecar.graph.error_class": c.error_class.value,
                            "sidecar.graph.retryable": c.retryable,
                        },
                    )
                if c.in_doubt:  # Meta may have it: never resent blindly
                    return SendResult(
                        cmd.key, Outcome.IN_DOUBT, error=_failure(err, c), attempts=attempts
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
                failure = _failure(err, c)
                outcome = Outcome.DEAD_LETTERED if c.retryable else Outcome.FAILED
                return SendResult(cmd.key, outcome, error=failure, attempts=attempts)
            rate.on_success(self._clock())
            self._pair_delivered(cmd)
            return SendResult(cmd.key, Outcome.SENT, message_id=message_id, attempts=attempts)

    async def _retry_token(self, phone_number_id: str) -> bool:
        """A send token for a retry; False (give up, dead-letter) when the quota
        store is down and the fail mode is closed."""
        try:
            await self.quota.take_send_token(phone_number_id, math.inf)
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
            self.quota.rate_for(cmd.phone_number_id).on_throttle(self._clock())
        if err.code in OPT_OUT_CODES and self._on_opt_out is not None:
            await self._on_opt_out(cmd.to, Category.MARKETING.value, f"graph:{err.code}")

    async def _dead_letter(self, cmd: SendCommand, result: SendResult) -> None:
        assert result.error is not None
        dl_id = uuid.uuid4().hex
        e = result.error
        error_json = json.dumps(
            {
                "code": e.code,
                "class": e.error_class.value,
                "message": e.message,
                "fbtrace_id": e.fbtrace_id,
                "http_status": e.http_status,
            }
        )
        request = json.dumps(
            {
                "to": cmd.to,
                "category": cmd.category.value,
                "free_form": cmd.free_form,
                "phone_number_id": cmd.phone_number_id,
                "body": graph_body(cmd.envelope, cmd.key).decode(),
            }
        ).encode()
        await self._d.state.put_dead_letter(
            DeadLetterRecord(
                id=dl_id,
                key=cmd.key,
                phone_number_id=cmd.phone_number_id,
                category=cmd.category.value,
                to_masked=mask_number(cmd.to),
                error_json=error_json,
                attempts=result.attempts,
                created_at=self._clock(),
                request_ct=self._d.cipher.encrypt(request, aad("dead_letters", "request", dl_id)),
            )
        )
        self._d.metrics.dead_letters.inc()
        log.warning(
            "send dead-lettered",
            extra={"event": "dead_lettered", "idempotency_key": cmd.key, "code": e.code},
        )

    def refuse(self, cmd: SendCommand, decision: Decision) -> SendResult:
        """Answer a send refused before the pipeline (the caller's category
        limits), counted like any refusal."""
        self._count(cmd, Outcome.REJECTED, decision.reason)
        return rejected(cmd.key, decision)

    def _count(self, cmd: SendCommand, outcome: Outcome, reason: Reason) -> None:
        self._d.metrics.sends.labels(outcome.value, reason.value, cmd.category.value).inc()


_NOT_ON_WHATSAPP = Decision(
    False, Reason.NUMBER_NOT_ON_WHATSAPP, "the number validator says this number has no WhatsApp"
)
_Lookup = tuple[Subject | None, ConsentSnapshot]
_MAX_PAIRS_TRACKED = 100_000
"""Pairs with a running 131056 count kept at most; past it the counts start over."""
_CONFLICT = "idempotency_key was already used for a request with different content"
_STORE_DOWN = Decision(
    False, Reason.STORE_UNAVAILABLE, "consent store unavailable; failing closed", 1.0
)


def _opted_out(category: Category) -> Decision:
    return Decision(False, Reason.OPTED_OUT, f"recipient opted out of {category.value}")


_REFUSALS = {c: rejected("", _opted_out(c)).to_json() for c in Category}
"""The stored response of a send refused at its start, per category."""


def stored_result(record: SendRecord) -> SendResult:
    """The outcome of a DONE record. One resolved by a status webhook has no
    stored response, only its outcome and message id."""
    if not record.response:
        return SendResult(record.key, Outcome(record.outcome), message_id=record.message_id)
    return SendResult.from_json(record.key, record.response)


def held_result(record: SendRecord) -> SendResult:
    """The answer of an IN_DOUBT record: IN_DOUBT, with the failure that
    left it in doubt when stored."""
    if record.response:
        held = SendResult.from_json(record.key, record.response)
        if held.outcome is Outcome.IN_DOUBT:
            return held
    return SendResult(record.key, Outcome.IN_DOUBT)


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


def _failure(err: GraphError, c: Classification) -> SendFailure:
    return SendFailure(
        code=err.code or 0,
        error_class=c.error_class,
        retryable=c.retryable,
        message=str(err),
        fbtrace_id=err.fbtrace_id,
        http_status=err.http_status,
        subcode=err.subcode or 0,
    )
