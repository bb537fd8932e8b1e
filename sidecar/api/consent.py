"""ConsentService servicer: validation and translation only."""

from __future__ import annotations

from typing import Any

from sidecar.api import convert
from sidecar.api._gen.wasidecar.v1 import consent_pb2, consent_pb2_grpc
from sidecar.api.access import actor_of
from sidecar.api.status import unary
from sidecar.errors import InvalidRequest, PreconditionFailed
from sidecar.service.consent import ConsentManager, ConsentView, Proof
from sidecar.service.erasure import ErasureReceipt
from sidecar.service.export import AuditEntry
from sidecar.service.operations import Operations, OperationStatus, OverrideReceipt

_STATUS = {
    "granted": consent_pb2.CONSENT_STATUS_GRANTED,
    "revoked": consent_pb2.CONSENT_STATUS_REVOKED,
    "unknown": consent_pb2.CONSENT_STATUS_UNKNOWN,
}
_ACTION = {
    "grant": consent_pb2.CONSENT_ACTION_GRANT,
    "revoke": consent_pb2.CONSENT_ACTION_REVOKE,
}
_OPERATION_STATUS = {
    OperationStatus.PENDING_APPROVAL: consent_pb2.OPERATION_STATUS_PENDING_APPROVAL,
    OperationStatus.COMPLETED: consent_pb2.OPERATION_STATUS_COMPLETED,
    OperationStatus.EXPIRED: consent_pb2.OPERATION_STATUS_EXPIRED,
}


def _proof_pb(p: Proof, actor: str, at: float) -> consent_pb2.ConsentProof:
    return consent_pb2.ConsentProof(
        source=p.source,
        notice_version=p.notice_version,
        jurisdiction=convert.JURISDICTION_TO_PB.get(p.jurisdiction, 0),  # type: ignore[arg-type]
        evidence=p.evidence,
        actor=actor,
        recorded_at=convert.timestamp(at),
        reason=p.reason,
    )


def state_pb(view: ConsentView) -> consent_pb2.ConsentState:
    out = consent_pb2.ConsentState(
        subject_index=view.subject_index,
        suppressed=bool(view.suppressed),
        suppression_stands=bool(view.suppression_stands),
        suppression_detail=view.suppression_detail,
    )
    for c in view.categories:
        item = out.categories.add(
            category=convert.CATEGORY_TO_PB[c.category], status=_STATUS[c.status]
        )
        if c.entry is not None:
            item.proof.CopyFrom(_proof_pb(c.entry.proof, c.entry.actor, c.entry.recorded_at))
            item.updated_at.CopyFrom(convert.timestamp(c.entry.recorded_at))
    for e in view.history:
        out.history.add(
            id=e.id,
            category=convert.CATEGORY_TO_PB[e.category],
            action=_ACTION[e.action.value],
            proof=_proof_pb(e.proof, e.actor, e.recorded_at),
        )
    return out


def audit_pb(r: AuditEntry) -> consent_pb2.AuditEntry:
    return consent_pb2.AuditEntry(
        seq=r.seq,
        time=convert.timestamp(r.time),
        actor=r.actor,
        action=r.action,
        subject_index=r.subject_index,
        detail_json=r.detail_json,
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


def receipt_pb(r: ErasureReceipt) -> consent_pb2.ErasureReceipt:
    return consent_pb2.ErasureReceipt(
        subject_index=r.subject_index,
        erased_at=convert.timestamp(r.erased_at),
        erased_by=r.erased_by,
        approved_by=r.approved_by,
        erased=list(r.erased),
        suppression_kept=r.suppression_kept,
        digest=r.digest,
        nothing_found=r.nothing_found,
    )


def override_pb(r: OverrideReceipt) -> consent_pb2.OverrideReceipt:
    return consent_pb2.OverrideReceipt(
        subject_index=r.subject_index,
        categories=[convert.CATEGORY_TO_PB[c] for c in r.categories],
        requested_by=r.requested_by,
        approved_by=r.approved_by,
        overridden_at=convert.timestamp(r.overridden_at),
        digest=r.digest,
    )


def _page_token(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 18:
        raise InvalidRequest("page_token", "not a token this service issued")
    return int(token)


class ConsentServicer(consent_pb2_grpc.ConsentServiceServicer):
    """``operations`` is given when caller auth is on: erasure then needs four
    eyes; a suppression override always does (without it: FAILED_PRECONDITION)."""

    def __init__(self, consent: ConsentManager, operations: Operations | None = None) -> None:
        self._consent = consent
        self._operations = operations

    @unary
    async def Grant(
        self, request: consent_pb2.GrantRequest, context: Any
    ) -> consent_pb2.ConsentState:
        number = convert.e164(request.phone_number, "phone_number")
        cats = convert.categories(request.categories, "categories", allow_empty=False)
        proof = Proof(
            source=convert.text_field(request.source, "source", convert.MAX_SOURCE, required=True),
            notice_version=convert.text_field(request.notice_version, "notice_version", 256),
            jurisdiction=convert.JURISDICTION_FROM_PB.get(request.jurisdiction, "other"),
            evidence=convert.text_field(request.evidence, "evidence", convert.MAX_PROOF_FIELD),
        )
        view = await self._consent.grant(number, cats, proof, actor=actor_of(context))
        return state_pb(view)

    @unary
    async def Revoke(
        self, request: consent_pb2.RevokeRequest, context: Any
    ) -> consent_pb2.ConsentState:
        number = convert.e164(request.phone_number, "phone_number")
        cats = convert.categories(request.categories, "categories", allow_empty=True)
        proof = Proof(
            source=convert.text_field(request.source, "source", convert.MAX_SOURCE, required=True),
            reason=convert.text_field(request.reason, "reason", convert.MAX_PROOF_FIELD),
        )
        view = await self._consent.revoke(number, cats, proof, actor=actor_of(context))
        return state_pb(view)

    @unary
    async def Get(self, request: consent_pb2.GetRequest, context: Any) -> consent_pb2.ConsentState:
        number = convert.e164(request.phone_number, "phone_number")
        return state_pb(await self._consent.get(number))

    @unary
    async def ExportSubject(
        self, request: consent_pb2.ExportSubjectRequest, context: Any
    ) -> consent_pb2.ExportSubjectResponse:
        number = convert.e164(request.phone_number, "phone_number")
        export = await self._consent.export(number, actor=actor_of(context))
        out = consent_pb2.ExportSubjectResponse(
            subject_index=export.view.subject_index,
            suppressed=bool(export.view.suppressed),
        )
        out.consent.CopyFrom(state_pb(export.view))
        for pnid, at in export.windows.items():
            out.last_inbound[pnid].CopyFrom(convert.timestamp(at))
        for s in export.sends:
            out.messages.add(
                idempotency_key=s.key,
                message_id=s.message_id,
                category=convert.CATEGORY_TO_PB.get(convert.category_value(s.category), 0),
                outcome=s.outcome_or_state,
                delivery_status=s.delivery_status,
                created_at=convert.timestamp(s.created_at),
            )
        out.audit.extend(audit_pb(a) for a in export.audit)
        out.export_json = export.document()
        return out

    @unary
    async def EraseSubject(
        self, request: consent_pb2.EraseSubjectRequest, context: Any
    ) -> consent_pb2.EraseSubjectResponse:
        number = convert.e164(request.phone_number, "phone_number")
        reason = convert.text_field(request.reason, "reason", 4096)
        if self._operations is not None:
            pending = await self._operations.request_erasure(
                number, reason, requested_by=actor_of(context)
            )
            return consent_pb2.EraseSubjectResponse(
                status=_OPERATION_STATUS[pending.status], operation_id=pending.id
            )
        receipt = await self._consent.erase(number, reason, actor=actor_of(context))
        out = consent_pb2.EraseSubjectResponse(status=consent_pb2.OPERATION_STATUS_COMPLETED)
        out.receipt.CopyFrom(receipt_pb(receipt))
        return out

    @unary
    async def ApproveOperation(
        self, request: consent_pb2.ApproveOperationRequest, context: Any
    ) -> consent_pb2.ApproveOperationResponse:
        if self._operations is None:
            raise PreconditionFailed(
                "four-eyes approval needs caller authentication (WA_SIDECAR_AUTH_FILE);"
                " without it EraseSubject runs at once and OverrideSuppression is refused"
            )
        if not request.operation_id:
            raise InvalidRequest("operation_id", "required")
        if len(request.operation_id) > 64:
            raise InvalidRequest("operation_id", "at most 64 characters")
        outcome = await self._operations.approve(request.operation_id, approver=actor_of(context))
        out = consent_pb2.ApproveOperationResponse(
            status=_OPERATION_STATUS[outcome.status], operation_id=outcome.id
        )
        if outcome.receipt is not None:
            out.receipt.CopyFrom(receipt_pb(outcome.receipt))
        if outcome.override is not None:
            out.override_receipt.CopyFrom(override_pb(outcome.override))
        return out

    @unary
    async def OverrideSuppression(
        self, request: consent_pb2.OverrideSuppressionRequest, context: Any
    ) -> consent_pb2.OverrideSuppressionResponse:
        number = convert.e164(request.phone_number, "phone_number")
        cats = convert.categories(request.categories, "categories", allow_empty=True)
        reason = convert.text_field(
            request.reason, "reason", convert.MAX_PROOF_FIELD, required=True
        )
        if self._operations is None:
            raise PreconditionFailed(
                "overriding a user's opt-out needs four eyes, so caller authentication"
                " (WA_SIDECAR_AUTH_FILE)"
            )
        pending = await self._operations.request_override(
            number, cats, reason, requested_by=actor_of(context)
        )
        return consent_pb2.OverrideSuppressionResponse(
            status=_OPERATION_STATUS[pending.status], operation_id=pending.id
        )

    @unary
    async def ListAudit(
        self, request: consent_pb2.ListAuditRequest, context: Any
    ) -> consent_pb2.ListAuditResponse:
        size = convert.page_size(request.page_size)
        after = _page_token(request.page_token)
        number = (
            convert.e164(request.phone_number, "phone_number") if request.phone_number else None
        )
        entries = await self._consent.list_audit(after, size, number)
        out = consent_pb2.ListAuditResponse(entries=[audit_pb(e) for e in entries])
        if len(entries) == size:
            out.next_page_token = str(entries[-1].seq)
        return out

    @unary
    async def VerifyAudit(
        self, request: consent_pb2.VerifyAuditRequest, context: Any
    ) -> consent_pb2.VerifyAuditResponse:
        check = await self._consent.verify_audit()
        return consent_pb2.VerifyAuditResponse(
            ok=check.ok,
            entries_checked=check.entries_checked,
            first_bad_seq=check.first_bad_seq,
            problem=check.problem,
            head_hash=check.head_hash,
        )
