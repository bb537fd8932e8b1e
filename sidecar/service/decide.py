"""The send decisions: consent → 24-hour window → number validator → quota,
the first refusal wins. ``Sender.check`` asks them without taking quota;
a send asks them once, before its record is stored. Each step's verdict is
a pure function in ``policy/``; this module fetches what the steps need,
in as few store operations as it can.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from sidecar.errors import StoreUnavailable
from sidecar.policy.consent import ConsentRules, decide_category, decide_consent, decide_window
from sidecar.policy.types import Decision, Reason
from sidecar.service.attempts import STORE_DOWN
from sidecar.service.models import SendCommand
from sidecar.service.pacing import QuotaGate
from sidecar.service.subjects import Indexes, SubjectDirectory
from sidecar.service.validator import NumberValidator
from sidecar.stores.base import (
    ConsentSnapshot,
    ConsentStore,
    SendRecord,
    SendStore,
    Subject,
    WindowStore,
)
from sidecar.telemetry.tracing import child_span, tracer

_TRACER = tracer(__name__)
_NOT_ON_WHATSAPP = Decision(
    False, Reason.NUMBER_NOT_ON_WHATSAPP, "the number validator says this number has no WhatsApp"
)
Lookup = tuple[Subject | None, ConsentSnapshot]
"""A send's subject (None: never seen) and its consent snapshot."""


class DecisionState(SendStore, ConsentStore, WindowStore, Protocol):
    """The state roles the decisions read."""


class DecisionDeps(Protocol):
    """What the decisions read from ``SendDeps``."""

    @property
    def state(self) -> DecisionState: ...
    @property
    def quota(self) -> QuotaGate: ...
    @property
    def directory(self) -> SubjectDirectory: ...
    @property
    def validator(self) -> NumberValidator | None: ...


class SendDecider:
    """Decides whether a send may go now."""

    def __init__(
        self,
        deps: DecisionDeps,
        rules: ConsentRules,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._d = deps
        self._rules = rules
        self._window = window_seconds
        self._clock = clock

    async def lookup(
        self, cmd: SendCommand, idx: Indexes, key: str | None = None
    ) -> tuple[SendRecord | None, Lookup]:
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

    async def decide(
        self,
        cmd: SendCommand,
        idx: Indexes,
        *,
        consume: bool,
        max_wait: float | None = None,
        looked_up: Lookup | None = None,
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
        looked_up: Lookup | None,
    ) -> tuple[Decision, Subject | None]:
        """Consent → window → validator → quota; the first refusal wins."""
        d = self._d
        unfit = decide_category(cmd.category, cmd.free_form)
        if not unfit.allowed:  # stored before the edge refused it
            return unfit, None
        try:
            subject, snap = looked_up or (await self.lookup(cmd, idx))[1]
            current = {category: action.value for category, action in snap.current.items()}
            decision = decide_consent(self._rules, cmd.category, snap.suppressed, current)
            if not decision.allowed:
                return decision, subject
            if cmd.free_form:
                last = (
                    await d.state.last_inbound(cmd.phone_number_id, subject.id) if subject else None
                )
                decision = decide_window(True, last, self._clock(), self._window)
                if not decision.allowed:
                    return decision, subject
        except StoreUnavailable:
            return STORE_DOWN, None
        if d.validator is not None and await d.validator.reachable(cmd.to, key=idx.full) is False:
            return _NOT_ON_WHATSAPP, subject
        decision = await d.quota.decide(cmd, idx, consume=consume, max_wait=max_wait)
        return decision, subject
