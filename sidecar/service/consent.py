"""Consent use-cases: grant, revoke, opt-out/opt-in from webhooks, DSAR, audit.

Consent history is append-only and every record carries its proof (source,
notice version, jurisdiction, evidence, actor, time), encrypted under the
subject's own data key. The suppression list is keyed by the untruncated
keyed hash of the number, so it survives erasure. Every change is appended
to the hash-chained audit log, naming the subject only by blind index.

A suppression the user created (``opt_out``: keyword, button, Meta's stop,
131050) is lifted only by the user (``opt_in``) or a four-eyes override;
an app's ``grant`` is recorded but says the suppression stands. An app's own
``revoke`` is lifted by its later ``grant``.

    consent = ConsentManager(state, directory, metrics)
    view = await consent.grant("+16505551234", [Category.MARKETING], proof, actor="crm")
    await consent.opt_out("+16505551234", ALL, source="keyword:STOP", event_key="m:wamid…")
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sidecar.crypto.fields import aad
from sidecar.policy.types import Category
from sidecar.service.erasure import ErasureReceipt, erasure_receipt
from sidecar.service.export import AuditEntry, SubjectExport, audit_entry, subject_export
from sidecar.service.subjects import SubjectDirectory
from sidecar.stores.audit_chain import verify_chain
from sidecar.stores.base import (
    AuditRecord,
    AuditStore,
    ConsentAction,
    ConsentRecord,
    ConsentStore,
    SendRecord,
    Subject,
    SubjectStore,
)
from sidecar.telemetry.metrics import Metrics

ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)


@dataclass(frozen=True, slots=True)
class Proof:
    source: str
    notice_version: str = ""
    jurisdiction: str = ""
    evidence: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One decrypted history record."""

    id: str
    category: Category
    action: ConsentAction
    proof: Proof
    actor: str
    recorded_at: float


@dataclass(frozen=True, slots=True)
class CategoryState:
    category: Category
    status: str  # "granted" | "revoked" | "unknown"
    entry: ConsentEntry | None


@dataclass(frozen=True, slots=True)
class ConsentView:
    subject_index: str
    categories: tuple[CategoryState, ...]
    history: tuple[ConsentEntry, ...]
    suppressed: frozenset[str]
    # Set by ``grant``: granted categories the user's own opt-out still holds.
    suppression_stands: tuple[Category, ...] = ()

    @property
    def suppression_detail(self) -> str:
        if not self.suppression_stands:
            return ""
        names = ", ".join(c.name for c in self.suppression_stands)
        return (
            f"{names}: the user opted out; the grant is recorded as proof but the"
            " suppression stands until the user opts in again (an opt-in keyword where"
            " allowed, Meta's resume) or an OverrideSuppression is approved"
        )


@dataclass(frozen=True, slots=True)
class AuditCheck:
    ok: bool
    entries_checked: int
    first_bad_seq: int
    problem: str
    head_hash: str


class ConsentState(ConsentStore, SubjectStore, AuditStore, Protocol):
    """The state roles consent use-cases read and write: consent and
    suppression, subjects (export, erasure) and the audit log."""


class ConsentManager:
    """Consent, DSAR and audit operations over the state store."""

    def __init__(
        self,
        state: ConsentState,
        directory: SubjectDirectory,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._dir = directory
        self._metrics = metrics
        self._clock = clock

    # ------------------------------------------------------------------ changes

    async def grant(
        self, e164: str, categories: Sequence[Category], proof: Proof, *, actor: str
    ) -> ConsentView:
        """Record an opt-in; a category the user's own opt-out suppresses stays
        suppressed (the answer's ``suppression_stands``)."""
        subject = await self._dir.find_or_create(e164)
        idx = self._dir.indexes(e164)
        for category in categories:
            await self._append(subject, idx.full, category, ConsentAction.GRANT, proof, actor, "")
        view = await self._view(subject, idx.blind, idx.full)
        stands = tuple(c for c in categories if c.value in view.suppressed)
        extra = {"suppression_stands": [c.value for c in stands]} if stands else {}
        await self._audit(actor, "consent.grant", idx.blind, categories, proof.source, **extra)
        return dataclasses.replace(view, suppression_stands=stands)

    async def revoke(
        self,
        e164: str,
        categories: Sequence[Category],
        proof: Proof,
        *,
        actor: str,
    ) -> ConsentView:
        """Record an app's opt-out; empty ``categories`` means all of them. Its
        suppression is the app's: a later ``grant`` lifts it."""
        await self.opt_out(e164, categories, proof, actor=actor, by_user=False)
        idx = self._dir.indexes(e164)
        return await self._view(await self._dir.find(e164, idx), idx.blind, idx.full)

    async def opt_out(
        self,
        e164: str,
        categories: Sequence[Category],
        proof: Proof,
        *,
        actor: str,
        event_key: str = "",
        by_user: bool = True,
    ) -> bool:
        """Record an opt-out (durable when this returns); empty ``categories``
        means all. With ``event_key`` a re-delivered event changes nothing.
        ``by_user``: the user's own opt-out, which an app's grant cannot lift.
        Returns whether anything new was recorded."""
        cats = tuple(categories) or ALL_CATEGORIES
        subject = await self._dir.find_or_create(e164)
        idx = self._dir.indexes(e164)
        results = await asyncio.gather(
            *(
                self._append(
                    subject,
                    idx.full,
                    category,
                    ConsentAction.REVOKE,
                    proof,
                    actor,
                    f"{event_key}:{category.value}" if event_key else "",
                    by_user=by_user,
                )
                for category in cats
            )
        )
        applied = any(results)
        if applied or not event_key:
            await self._audit(actor, "consent.revoke", idx.blind, cats, proof.source)
            self._metrics.opt_outs.labels(_via(proof.source)).inc()
        return applied

    async def opt_in(
        self, e164: str, categories: Sequence[Category], proof: Proof, *, actor: str, event_key: str
    ) -> bool:
        """Re-subscribe after a keyword/``resume`` opt-out: restore the grants
        that the opt-out closed. Categories never granted stay without consent."""
        subject = await self._dir.find(e164)
        if subject is None:
            return False
        idx = self._dir.indexes(e164)
        history = await self._history(subject)
        restored = []
        for category in categories:
            previous = [e for e in history if e.category is category]
            if (
                len(previous) >= 2
                and previous[-1].action is ConsentAction.REVOKE
                and any(e.action is ConsentAction.GRANT for e in previous)
            ):
                key = f"{event_key}:{category.value}"
                if await self._append(
                    subject, idx.full, category, ConsentAction.GRANT, proof, actor, key
                ):
                    restored.append(category)
        await self._state.unsuppress(idx.full, [c.value for c in categories])
        await self._audit(actor, "consent.opt_in", idx.blind, restored, proof.source)
        return True

    async def _append(
        self,
        subject: Subject,
        suppression_index: str,
        category: Category,
        action: ConsentAction,
        proof: Proof,
        actor: str,
        event_key: str,
        *,
        by_user: bool = False,
    ) -> bool:
        record_id = uuid.uuid4().hex
        plain = json.dumps(
            {
                "source": proof.source,
                "notice_version": proof.notice_version,
                "jurisdiction": proof.jurisdiction,
                "evidence": proof.evidence,
                "reason": proof.reason,
            },
            separators=(",", ":"),
        ).encode()
        record = ConsentRecord(
            id=record_id,
            subject_id=subject.id,
            category=category.value,
            action=action,
            recorded_at=self._clock(),
            actor=actor,
            proof_ct=self._dir.cipher(subject).encrypt(
                plain, aad("consent_events", "proof", record_id)
            ),
            event_key=event_key,
        )
        applied = await self._state.append_consent(
            record,
            suppression_index,
            lift_suppression=action is ConsentAction.GRANT,
            by_user=by_user,
        )
        if applied:
            self._metrics.consent_changes.labels(action.value, _via(proof.source)).inc()
        return applied

    async def audit_operation(
        self,
        actor: str,
        action: str,
        e164: str,
        categories: Iterable[Category] = (),
        **extra: object,
    ) -> None:
        """An audit entry about a four-eyes operation on the number's subject."""
        blind = self._dir.indexes(e164).blind
        await self._audit(actor, action, blind, categories, "api", **extra)

    async def audit_denial(self, actor: str, method: str, role: str) -> None:
        """A call refused for want of a role (SPEC §5: role denials are audited)."""
        await self._audit(actor, "access.denied", "", (), "api", method=method, role=role)

    async def _audit(
        self,
        actor: str,
        action: str,
        subject_index: str,
        categories: Iterable[Category],
        source: str,
        **extra: object,
    ) -> AuditRecord:
        detail = {"categories": [c.value for c in categories], "source": source, **extra}
        return await self._state.append_audit(
            self._clock(), actor, action, subject_index, json.dumps(detail, sort_keys=True)
        )

    # ------------------------------------------------------------------ reads

    async def get(self, e164: str) -> ConsentView:
        idx = self._dir.indexes(e164)
        subject = await self._dir.find(e164, idx)
        return await self._view(subject, idx.blind, idx.full)

    async def _history(self, subject: Subject) -> list[ConsentEntry]:
        cipher = self._dir.cipher(subject)
        entries = []
        for r in await self._state.consent_history(subject.id):
            proof = json.loads(cipher.decrypt(r.proof_ct, aad("consent_events", "proof", r.id)))
            entries.append(
                ConsentEntry(
                    r.id, Category(r.category), r.action, Proof(**proof), r.actor, r.recorded_at
                )
            )
        entries.sort(key=lambda e: e.recorded_at)
        return entries

    async def _view(self, subject: Subject | None, blind: str, full: str) -> ConsentView:
        snap = await self._state.snapshot(subject.id if subject else None, full)
        history = await self._history(subject) if subject else []
        latest: dict[Category, ConsentEntry] = {}
        for entry in history:
            current = latest.get(entry.category)
            # Same rule as the store: later wins, a revoke wins a tie.
            if (
                current is None
                or entry.recorded_at > current.recorded_at
                or (
                    entry.recorded_at == current.recorded_at
                    and entry.action is ConsentAction.REVOKE
                )
            ):
                latest[entry.category] = entry
        states = []
        for category in ALL_CATEGORIES:
            last = latest.get(category)
            if category.value in snap.suppressed:
                status = "revoked"
            elif last is None:
                status = "unknown"
            else:
                status = "granted" if last.action is ConsentAction.GRANT else "revoked"
            states.append(CategoryState(category, status, last))
        return ConsentView(blind, tuple(states), tuple(history), snap.suppressed)

    async def export(self, e164: str, *, actor: str) -> SubjectExport:
        idx = self._dir.indexes(e164)
        subject = await self._dir.find(e164, idx)
        view = await self._view(subject, idx.blind, idx.full)
        windows: dict[str, float] = {}
        sends: tuple[SendRecord, ...] = ()
        if subject is not None:
            data = await self._state.subject_data(subject.id)
            windows = dict(data.windows)
            sends = tuple(data.sends)
        audit = await self._state.audit_entries(0, 10_000, idx.blind)
        await self._audit(actor, "subject.export", idx.blind, (), "api")
        return subject_export(view, windows, sends, audit)

    # ------------------------------------------------------------------ erasure

    async def erase(
        self, e164: str, reason: str, *, actor: str, approver: str = ""
    ) -> ErasureReceipt:
        """Delete everything held about the number and destroy its data key.

        A suppression entry is kept when the subject had opted out, so erasure
        never re-enables messaging.
        """
        idx = self._dir.indexes(e164)
        subject = await self._dir.find(e164, idx)
        snap = await self._state.snapshot(subject.id if subject else None, idx.full)
        erased: tuple[str, ...] = ()
        if subject is not None:
            counts = await self._state.delete_subject(subject.id)
            self._dir.forget(idx.full, subject.id)
            erased = tuple(f"{kind}:{n}" for kind, n in sorted(counts.items()))
        receipt = erasure_receipt(
            idx.blind,
            self._clock(),
            actor,
            erased,
            suppression_kept=bool(snap.suppressed),
            nothing_found=subject is None,
            approved_by=approver,
            reason=reason,
        )
        await self._audit(
            actor,
            "subject.erase",
            idx.blind,
            (),
            "api",
            erased=list(erased),
            digest=receipt.digest,
            suppression_kept=receipt.suppression_kept,
        )
        return receipt

    # ------------------------------------------------------------------ override

    async def lift_suppression(self, e164: str, categories: Sequence[Category]) -> str:
        """Remove the suppression of ``categories`` whoever created it: an
        approved override (``service/operations.py`` audits it). Returns the
        subject's blind index."""
        idx = self._dir.indexes(e164)
        await self._state.unsuppress(idx.full, [c.value for c in categories])
        return idx.blind

    # ------------------------------------------------------------------ audit

    async def list_audit(
        self, after_seq: int, limit: int, e164: str | None = None
    ) -> list[AuditEntry]:
        subject_index = self._dir.indexes(e164).blind if e164 else ""
        return [
            audit_entry(r) for r in await self._state.audit_entries(after_seq, limit, subject_index)
        ]

    async def verify_audit(self) -> AuditCheck:
        return await verify_audit_log(self._state)


_CHANNELS = frozenset({"keyword", "user_preferences", "graph", "button"})


def _via(source: str) -> str:
    """A closed metric label for a proof source: the app's free text is "api"."""
    head = source.split(":", 1)[0]
    return head if head in _CHANNELS else "api"


async def verify_audit_log(state: AuditStore, page: int = 5000) -> AuditCheck:
    """Walk the whole chain page by page; the CLI and the RPC share this."""
    entries: list[AuditRecord] = []
    after = 0
    while True:
        chunk = await state.audit_entries(after, page)
        if not chunk:
            break
        entries.extend(chunk)
        after = chunk[-1].seq
    ok, first_bad, problem = verify_chain(entries)
    head = entries[-1].hash if entries else ""
    return AuditCheck(ok, len(entries), first_bad, problem, head)
