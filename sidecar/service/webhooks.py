"""Webhook handling: verify, parse, apply effects, deduplicate (SPEC §3.2, §4.1–4.6).

Order: size cap → source allowlist → per-IP rate limit → signature → parse →
effects → dedup claim. Effects (service window, opt-out/opt-in, status
records, in-doubt resolution) are idempotent per event key and run *before*
the claim, so a crash between the two loses nothing: the re-delivery applies
them again as no-ops and is then claimed. Only the claim winner reports an
event as new, counts metrics and hands it to the app. An opt-out is durable
before this returns, for every replica.

    handler = WebhookHandler(deps, webhook_settings)   # both built by ``sidecar/app.py``
    outcome = await handler.handle(body, signature, remote_ip, headers)
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from sidecar.errors import StoreUnavailable, WebhookParseError
from sidecar.policy.inbound import InboundRules
from sidecar.policy.numbers import from_wa_id
from sidecar.policy.optout import KeywordIntent
from sidecar.policy.retry import OPT_OUT_CODES
from sidecar.policy.signature import SignatureProblem, SignatureVerifier
from sidecar.policy.source import SourcePolicy
from sidecar.policy.types import Category
from sidecar.service.account import ACCOUNT_EVENT_TYPES, AccountEvents
from sidecar.service.consent import ConsentManager, Proof
from sidecar.service.subjects import SubjectDirectory
from sidecar.stores.base import (
    DedupStore,
    EngagementStore,
    QuotaStore,
    SendStore,
    StatusRecord,
    WindowStore,
)
from sidecar.telemetry.metrics import Metrics
from sidecar.telemetry.tracing import child_span, tracer
from sidecar.whatsapp.webhooks import (
    AccountAlert,
    CapabilityUpdate,
    Event,
    InboundMessage,
    PhoneQualityUpdate,
    PreferenceUpdate,
    StatusUpdate,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
    parse_delivery,
)

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)

WEBHOOK_ACTOR = "webhook"
_MARKETING = (Category.MARKETING,)


class Rejection(enum.Enum):
    NONE = "none"
    BAD_SIGNATURE = "bad_signature"
    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    UNSUPPORTED_SIGNATURE = "unsupported_signature"
    NOT_CONFIGURED = "not_configured"
    IP_NOT_ALLOWED = "ip_not_allowed"
    RATE_LIMITED = "rate_limited"
    MALFORMED_PAYLOAD = "malformed_payload"
    TOO_LARGE = "too_large"


_FROM_SIGNATURE = {
    SignatureProblem.MISSING: Rejection.MISSING_SIGNATURE,
    SignatureProblem.MALFORMED: Rejection.MALFORMED_SIGNATURE,
    SignatureProblem.UNSUPPORTED: Rejection.UNSUPPORTED_SIGNATURE,
    SignatureProblem.MISMATCH: Rejection.BAD_SIGNATURE,
    SignatureProblem.NOT_CONFIGURED: Rejection.NOT_CONFIGURED,
}


@dataclass(frozen=True, slots=True)
class Applied:
    """An event with what the sidecar did about it."""

    event: Event
    opt_out: bool = False
    opt_in: bool = False


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    rejection: Rejection
    detail: str = ""
    events: tuple[Applied, ...] = ()
    duplicate: bool = False
    duplicate_events: int = 0

    @property
    def valid(self) -> bool:
        return self.rejection is Rejection.NONE


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    max_body: int
    dedup_ttl: float
    honour_opt_in: bool
    window_seconds: float = 86_400.0  # the service window: what opens a session


class RateLimiter:
    """Per-source-IP moving-window limit (``limit`` deliveries per ``period``
    seconds) kept in the quota store, so replicas sharing it share the limit.

    Fails open: when the store (Redis) is down a delivery is not refused
    for it — Meta's signature still guards the door — and the miss is logged.
    """

    def __init__(self, store: QuotaStore, limit: int, period: float) -> None:
        self._store = store
        self._limit = limit
        self._period = period

    async def allow(self, ip: str) -> bool:
        try:
            return await self._store.hit_window(f"webhook:{ip}", self._limit, self._period)
        except StoreUnavailable:
            log.warning(
                "webhook rate-limit storage unavailable; not limiting",
                extra={"event": "webhook_limit_unavailable"},
            )
            return True


class WebhookState(SendStore, WindowStore, EngagementStore, Protocol):
    """The state roles a delivery writes: status records, the service window
    and sessions."""


@dataclass(slots=True)
class WebhookDeps:
    state: WebhookState
    dedup: DedupStore
    directory: SubjectDirectory
    consent: ConsentManager
    verifier: SignatureVerifier
    source: SourcePolicy
    rules: InboundRules
    metrics: Metrics
    event_key_secret: bytes
    limiter: RateLimiter | None = None
    account: AccountEvents | None = None


class WebhookHandler:
    """Verifies and applies webhook deliveries."""

    def __init__(
        self, deps: WebhookDeps, settings: WebhookSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._d = deps
        self._s = settings
        self._clock = clock

    def use_verifier(self, verifier: SignatureVerifier) -> None:
        """Verify from the next delivery on with ``verifier`` (an App Secret rotation)."""
        self._d.verifier = verifier

    def _event_key(self, event: Event) -> str:
        """The event's dedup key under a keyed hash: Meta's keys embed the
        user's number (``wa_id``, and inside wamids), so they never reach a
        store as they are."""
        return hashlib.blake2b(
            event.dedup_key.encode(), key=self._d.event_key_secret, digest_size=16
        ).hexdigest()

    def reject(self, rejection: Rejection, detail: str) -> WebhookOutcome:
        self._d.metrics.signature_failures.labels(rejection.value).inc()
        return WebhookOutcome(rejection, detail)

    async def handle(
        self,
        body: bytes,
        signature: str,
        remote_ip: str = "",
        headers: Mapping[str, str | Sequence[str]] | None = None,
    ) -> WebhookOutcome:
        """Verify and apply one delivery; every path (rejections too) is timed."""
        started = time.perf_counter()
        with child_span(_TRACER, "webhook.handle") as span:
            try:
                outcome = await self._handle(body, signature, remote_ip, headers)
            finally:
                self._d.metrics.webhook_latency.observe(time.perf_counter() - started)
            if span.is_recording():
                span.set_attributes(
                    {
                        "sidecar.webhook.rejection": outcome.rejection.value,
                        "sidecar.webhook.new_events": len(outcome.events),
                        "sidecar.webhook.duplicate_events": outcome.duplicate_events,
                    }
                )
            return outcome

    async def _handle(
        self,
        body: bytes,
        signature: str,
        remote_ip: str,
        headers: Mapping[str, str | Sequence[str]] | None,
    ) -> WebhookOutcome:
        d = self._d
        if len(body) > self._s.max_body:
            return self.reject(Rejection.TOO_LARGE, f"body exceeds {self._s.max_body} bytes")
        forwarded = headers.get("x-forwarded-for") if headers else None
        ip = d.source.client_ip(remote_ip, forwarded)
        if not d.source.allowed(ip):
            return self.reject(Rejection.IP_NOT_ALLOWED, "source address not in the allowlist")
        if d.limiter is not None and not await d.limiter.allow(ip or "unknown"):
            return self.reject(Rejection.RATE_LIMITED, "too many deliveries from this source")
        verdict = d.verifier.verify(body, signature)
        if not verdict.ok:
            rejection = _FROM_SIGNATURE[verdict.problem]
            return self.reject(rejection, f"signature {verdict.problem.value}")
        d.metrics.signature_matches.labels(str(verdict.secret_index)).inc()
        try:
            events = parse_delivery(body)
        except WebhookParseError as exc:
            return self.reject(Rejection.MALFORMED_PAYLOAD, str(exc))
        applied, first = await self._apply_all(events)
        # Plain statuses were claimed by their own record; every other event
        # is claimed in the dedup store after its effects (a crash in between
        # re-applies idempotent effects, never loses one).
        others = [i for i in range(len(events)) if i not in first]
        if others:
            with child_span(_TRACER, "dedup.claim"):
                keys = [self._event_key(events[i]) for i in others]
                claimed = await d.dedup.claim(keys, self._s.dedup_ttl, self._clock())
            first.update(zip(others, claimed, strict=True))
        fresh = [first[i] for i in range(len(events))]
        new = tuple(a for a, is_first in zip(applied, fresh, strict=True) if is_first)
        # Count per label set, then touch each metric child once (not per event).
        kinds = Counter(
            (_kind(a.event), "false" if is_first else "true")
            for a, is_first in zip(applied, fresh, strict=True)
        )
        for (kind, duplicate), count in kinds.items():
            d.metrics.webhook_events.labels(kind, duplicate).inc(count)
        statuses = Counter(a.event.status for a in new if isinstance(a.event, StatusUpdate))
        for status, count in statuses.items():
            d.metrics.delivery_status(status, count)
        account = [a.event for a in new if isinstance(a.event, ACCOUNT_EVENT_TYPES)]
        if account and d.account is not None:
            d.account.report(account)
        return WebhookOutcome(
            Rejection.NONE,
            events=new,
            duplicate=bool(events) and not new,
            duplicate_events=len(events) - len(new),
        )

    # ------------------------------------------------------------------ effects

    async def _apply_all(self, events: list[Event]) -> tuple[list[Applied], dict[int, bool]]:
        """Apply effects. Plain statuses (the bulk of webhook traffic) go to
        the store in one call, which also tells which of them are new (their
        ``(wamid, status)`` record is their dedup claim: see the second value,
        by event index); the rest run in order for each user and concurrently
        across users (a STOP then START must land in order)."""
        results: list[Applied] = [Applied(e) for e in events]
        plain: list[int] = []
        groups: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            if isinstance(event, StatusUpdate) and not _opts_out(event):
                plain.append(i)
            else:
                groups.setdefault(_party(event), []).append(i)
        first: dict[int, bool] = {}

        async def run(indices: list[int]) -> None:
            for i in indices:
                results[i] = await self._apply(events[i])

        async def record() -> None:
            statuses = [cast(StatusUpdate, events[i]) for i in plain]
            first.update(zip(plain, await self._record_statuses(statuses), strict=True))

        work = [run(indices) for indices in groups.values()]
        if plain:
            work.append(record())
        if len(work) == 1:
            await work[0]
        elif work:
            await asyncio.gather(*work)
        return results, first

    async def _record_statuses(self, statuses: list[StatusUpdate]) -> list[bool]:
        with child_span(_TRACER, "webhook.statuses", {"sidecar.webhook.statuses": len(statuses)}):
            return await self._d.state.record_statuses(
                [_status_record(s) for s in statuses],
                [(s.callback_data, s.id, s.status) for s in statuses if s.callback_data],
                self._clock(),
            )

    async def _apply(self, event: Event) -> Applied:
        with child_span(_TRACER, "webhook.apply", {"sidecar.webhook.event": _kind(event)}):
            return await self._apply_one(event)

    async def _apply_one(self, event: Event) -> Applied:
        if isinstance(event, InboundMessage):
            return await self._inbound(event)
        if isinstance(event, StatusUpdate):
            return await self._status(event)
        if isinstance(event, PreferenceUpdate):
            return await self._preference(event)
        if isinstance(event, ACCOUNT_EVENT_TYPES) and self._d.account is not None:
            await self._d.account.apply(event, self._event_key(event))
        return Applied(event)

    async def _inbound(self, msg: InboundMessage) -> Applied:
        # Meta's wa_id is authoritative: only text that is no number at all is skipped.
        e164 = from_wa_id(msg.from_number)
        if e164 is None:
            log.warning("inbound message from a malformed wa_id", extra={"event": "bad_sender"})
            return Applied(msg)
        subject = await self._d.directory.find_or_create(e164)
        opened = await self._d.state.record_inbound(
            msg.phone_number_id, subject.id, float(msg.timestamp), self._s.window_seconds
        )
        if opened:
            self._d.metrics.sessions_opened.inc()
        request = self._d.rules.request(msg.type, msg.text, msg.button_payload, msg.button_text)
        if request.intent is KeywordIntent.NONE:
            return Applied(msg)
        proof = Proof(source=request.source, evidence=f"wamid:{msg.id}")
        if request.intent is KeywordIntent.OPT_OUT:
            await self._d.consent.opt_out(
                e164, request.categories, proof, actor=WEBHOOK_ACTOR, event_key=self._event_key(msg)
            )
            return Applied(msg, opt_out=True)
        if self._s.honour_opt_in:
            await self._d.consent.opt_in(
                e164, request.categories, proof, actor=WEBHOOK_ACTOR, event_key=self._event_key(msg)
            )
            return Applied(msg, opt_in=True)
        return Applied(msg)

    async def _status(self, status: StatusUpdate) -> Applied:
        """A status one at a time (131050 failures: they also opt the user out)."""
        await self._record_statuses([status])
        if _opts_out(status):
            e164 = from_wa_id(status.recipient_id)
            if e164 is not None:
                code = status.errors[0].code if status.errors else 0
                proof = Proof(source=f"graph:{code}", evidence=f"wamid:{status.id}")
                await self._d.consent.opt_out(
                    e164, _MARKETING, proof, actor=WEBHOOK_ACTOR, event_key=self._event_key(status)
                )
                return Applied(status, opt_out=True)
        return Applied(status)

    async def _preference(self, pref: PreferenceUpdate) -> Applied:
        e164 = from_wa_id(pref.wa_id)
        if e164 is None:
            return Applied(pref)
        proof = Proof(source=f"user_preferences:{pref.value}", evidence=pref.detail[:200])
        if pref.value == "stop":
            await self._d.consent.opt_out(
                e164, _MARKETING, proof, actor=WEBHOOK_ACTOR, event_key=self._event_key(pref)
            )
            return Applied(pref, opt_out=True)
        if pref.value == "resume" and self._s.honour_opt_in:
            await self._d.consent.opt_in(
                e164, _MARKETING, proof, actor=WEBHOOK_ACTOR, event_key=self._event_key(pref)
            )
            return Applied(pref, opt_in=True)
        return Applied(pref)

    async def opt_out_from_graph(self, e164: str, category: str, source: str) -> None:
        """Hook for the sender: a synchronous 131050 is an opt-out too."""
        await self._d.consent.opt_out(
            e164, (Category(category),), Proof(source=source), actor="graph"
        )


def _opts_out(status: StatusUpdate) -> bool:
    """A ``failed`` status with 131050: the user stopped marketing messages."""
    return status.status == "failed" and any(e.code in OPT_OUT_CODES for e in status.errors)


def _status_record(status: StatusUpdate) -> StatusRecord:
    return StatusRecord(
        message_id=status.id,
        status=status.status,
        timestamp=status.timestamp,
        phone_number_id=status.phone_number_id,
        error_code=status.errors[0].code if status.errors else 0,
        category=status.pricing_category,
    )


def _party(event: Event) -> str:
    """The user an event is about (its effects must stay in order), by canonical
    number: a Brazilian user's 12- and 13-digit forms are one party."""
    if isinstance(event, InboundMessage):
        raw = event.from_number
    elif isinstance(event, StatusUpdate):
        # Only 131050 failures get here (plain statuses are recorded in bulk):
        # an opt-out of this recipient, ordered with that user's other events.
        raw = event.recipient_id
    elif isinstance(event, PreferenceUpdate):
        raw = event.wa_id
    else:
        return ""
    return from_wa_id(raw) or raw


def _kind(event: Event) -> str:
    if isinstance(event, InboundMessage):
        return "message"
    if isinstance(event, StatusUpdate):
        return "status"
    if isinstance(event, PreferenceUpdate):
        return "preference"
    return _KINDS.get(type(event), "error")


_KINDS: dict[type, str] = {
    TemplateStatusUpdate: "template_status",
    TemplateCategoryUpdate: "template_category",
    PhoneQualityUpdate: "phone_quality",
    CapabilityUpdate: "capability",
    AccountAlert: "account_alert",
}
