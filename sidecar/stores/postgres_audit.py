"""The records an operator answers for, of ``PostgresStateStore``: four-eyes
operations, the audit chain and key rotation (its ``OperationStore``,
``AuditStore`` and ``KeyRotationStore`` roles)."""

from __future__ import annotations

from sidecar.stores import postgres_sql as sql
from sidecar.stores.audit_chain import GENESIS_HASH, entry_hash
from sidecar.stores.base import AuditRecord, OperationRecord
from sidecar.stores.postgres_link import Link
from sidecar.stores.shared import operation_from_row, operation_params


class PostgresAudit:
    """The operator's records; ``PostgresStateStore`` composes them."""

    _link: Link

    # ----------------------------------------------------------------------- operations

    async def put_operation(self, record: OperationRecord) -> None:
        await self._link.execute(sql.PUT_OPERATION, *operation_params(record))

    async def get_operation(self, operation_id: str) -> OperationRecord | None:
        row = await self._link.fetchrow(sql.GET_OPERATION, operation_id)
        return operation_from_row(row) if row else None

    async def approve_operation(
        self, operation_id: str, approver: str, now: float
    ) -> OperationRecord | None:
        row = await self._link.fetchrow(sql.APPROVE_OPERATION, operation_id, approver, now)
        return operation_from_row(row) if row else None

    async def complete_operation(self, operation_id: str, result: bytes) -> None:
        await self._link.execute(sql.COMPLETE_OPERATION, operation_id, result)

    async def purge_operations(self, older_than: float) -> int:
        return await self._link.execute(sql.PURGE_OPERATIONS, older_than)

    # ----------------------------------------------------------------------- audit

    async def append_audit(
        self, time: float, actor: str, action: str, subject_index: str, detail_json: str
    ) -> AuditRecord:
        """Under the audit advisory lock, so two writers never fork the chain."""
        async with self._link.transaction() as conn:
            await conn.execute(sql.AUDIT_LOCK)
            head = await conn.fetchrow(sql.AUDIT_HEAD)
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
            digest = entry_hash(prev, seq, time, actor, action, subject_index, detail_json)
            record = AuditRecord(seq, time, actor, action, subject_index, detail_json, prev, digest)
            await conn.execute(
                sql.INSERT_AUDIT, seq, time, actor, action, subject_index, detail_json, prev, digest
            )
        return record

    async def audit_entries(
        self, after_seq: int, limit: int, subject_index: str = ""
    ) -> list[AuditRecord]:
        if subject_index:
            rows = await self._link.fetch(sql.AUDIT_ENTRIES_OF, after_seq, limit, subject_index)
        else:
            rows = await self._link.fetch(sql.AUDIT_ENTRIES, after_seq, limit)
        return [sql.audit_from_row(r) for r in rows]

    # ----------------------------------------------------------------------- key rotation

    async def encrypted_rows(self, kind: str, after_id: str, limit: int) -> list[tuple[str, bytes]]:
        rows = await self._link.fetch(sql.ENCRYPTED_ROWS[_kind(kind)], after_id, limit)
        return [(r[0], bytes(r[1])) for r in rows]

    async def replace_encrypted(self, kind: str, row_id: str, old: bytes, new: bytes) -> bool:
        return await self._link.execute(sql.REPLACE_ENCRYPTED[_kind(kind)], row_id, old, new) == 1


def _kind(kind: str) -> str:
    if kind not in sql.ENCRYPTED_COLUMNS:
        raise ValueError(f"unknown encrypted kind {kind!r}")
    return kind
