"""The DSAR export (GDPR art. 15): what the sidecar holds about one subject, as
typed parts and as the one JSON document a person is handed.

    export = await consent.export("+16505551234", actor="dpo")
    export.document()   # {"subject_index": ..., "consent": [...], "messages": [...], ...}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sidecar.stores.base import AuditRecord, SendRecord

if TYPE_CHECKING:
    from sidecar.service.consent import ConsentView


@dataclass(frozen=True, slots=True)
class ExportedSend:
    """One send to the subject; ``outcome`` is empty while it is not finished."""

    key: str
    message_id: str
    category: str
    outcome: str
    state: str
    delivery_status: str
    created_at: float

    @property
    def outcome_or_state(self) -> str:
        return self.outcome or self.state


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry of the audit log, as ``ListAudit`` and the export report it."""

    seq: int
    time: float
    actor: str
    action: str
    subject_index: str
    detail_json: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class SubjectExport:
    view: ConsentView
    windows: Mapping[str, float]
    """Last inbound message time per business number (the service windows)."""
    sends: tuple[ExportedSend, ...]
    audit: tuple[AuditEntry, ...]

    def document(self) -> str:
        """The export as one JSON document (keys sorted)."""
        view = self.view
        return json.dumps(
            {
                "subject_index": view.subject_index,
                "suppressed": sorted(view.suppressed),
                "consent": [
                    {"category": c.category.value, "status": c.status} for c in view.categories
                ],
                "history": [
                    {
                        "category": e.category.value,
                        "action": e.action.value,
                        "at": e.recorded_at,
                        "actor": e.actor,
                        "source": e.proof.source,
                        "notice_version": e.proof.notice_version,
                        "jurisdiction": e.proof.jurisdiction,
                        "evidence": e.proof.evidence,
                        "reason": e.proof.reason,
                    }
                    for e in view.history
                ],
                "last_inbound": dict(self.windows),
                "messages": [
                    {
                        "idempotency_key": s.key,
                        "message_id": s.message_id,
                        "category": s.category,
                        "outcome": s.outcome,
                        "delivery_status": s.delivery_status,
                        "created_at": s.created_at,
                    }
                    for s in self.sends
                ],
                "audit": [{"seq": a.seq, "action": a.action, "time": a.time} for a in self.audit],
            },
            sort_keys=True,
        )


def subject_export(
    view: ConsentView,
    windows: Mapping[str, float],
    sends: Iterable[SendRecord],
    audit: Iterable[AuditRecord],
) -> SubjectExport:
    """The export of what the stores returned for one subject."""
    return SubjectExport(
        view,
        dict(windows),
        tuple(
            ExportedSend(
                s.key,
                s.message_id,
                s.category,
                s.outcome,
                s.state.value,
                s.delivery_status,
                s.created_at,
            )
            for s in sends
        ),
        tuple(audit_entry(a) for a in audit),
    )


def audit_entry(r: AuditRecord) -> AuditEntry:
    return AuditEntry(
        r.seq, r.time, r.actor, r.action, r.subject_index, r.detail_json, r.prev_hash, r.hash
    )
