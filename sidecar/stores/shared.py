"""Backend-neutral pieces of the state stores: bundled migrations, the
column order of a send record and of a four-eyes operation (the same in
SQLite and PostgreSQL) and which of a delivery's statuses an insert recorded
first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from sidecar.stores.base import (
    OperationRecord,
    OperationState,
    SendRecord,
    SendState,
    StatusRecord,
)

_FILE_NAME = re.compile(r"^(\d{4})_\w+\.sql$")


def bundled_migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, script) of every migration under ``migrations/<dialect>/``, in order."""
    folder = resources.files("sidecar.stores").joinpath("migrations", dialect)
    found = []
    for item in folder.iterdir():
        match = _FILE_NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.read_text(encoding="utf-8")))
    found.sort()
    return found


def send_values(r: SendRecord, state: SendState | None = None) -> tuple[object, ...]:
    """A send record as the ``sends`` columns, in table order."""
    return (
        r.key,
        r.fingerprint,
        (state or r.state).value,
        r.owner,
        r.phone_number_id,
        r.category,
        r.subject_id,
        r.to_masked,
        r.outcome,
        r.message_id,
        r.response,
        r.delivery_status,
        r.created_at,
        r.updated_at,
        r.request_ct,
    )


def first_recorded(statuses: Sequence[StatusRecord], inserted: set[tuple[str, str]]) -> list[bool]:
    """Per status, whether its ``(message_id, status)`` pair is among those an
    insert just recorded; a pair repeated within ``statuses`` counts at its
    first position only."""
    left = set(inserted)
    first: list[bool] = []
    for s in statuses:
        pair = (s.message_id, s.status)
        first.append(pair in left)
        left.discard(pair)
    return first


OPERATION_COLUMNS = (
    "id, kind, payload, requested_by, created_at, expires_at, state, approved_by, result"
)
_OPERATION_STATES = {s.value: s for s in OperationState}


def operation_params(record: OperationRecord) -> tuple[object, ...]:
    """An operation's values in ``OPERATION_COLUMNS`` order."""
    return (
        record.id,
        record.kind,
        record.payload,
        record.requested_by,
        record.created_at,
        record.expires_at,
        record.state.value,
        record.approved_by,
        record.result,
    )


def operation_from_row(row: Sequence[Any]) -> OperationRecord:
    """The inverse of ``operation_params``. A driver row is untyped (``Any``):
    BLOB/BYTEA columns come back as bytes-likes, REAL/DOUBLE as numbers."""
    op_id, kind, payload, requested_by, created_at, expires_at, state, approved_by, result = row
    return OperationRecord(
        str(op_id),
        str(kind),
        bytes(payload),
        str(requested_by),
        float(created_at),
        float(expires_at),
        _OPERATION_STATES[str(state)],
        str(approved_by),
        bytes(result),
    )
