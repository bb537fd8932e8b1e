"""The audit log's hash chain, pure: how an entry's hash is computed and checked.

Every entry commits to its predecessor: ``hash = sha256(tag ‖ prev_hash ‖ seq ‖
time ‖ actor ‖ action ‖ subject_index ‖ detail_json)`` where each field is
UTF-8 prefixed by its length (8 bytes, big-endian), so no two different
entries encode alike. The first entry's ``prev_hash`` is ``GENESIS_HASH``.
Backends call ``entry_hash`` when appending; ``verify_chain`` checks a run of
entries end to end and names the first tampering it sees.

    verdict = verify_chain(await state.audit_entries(0, 10_000))
    if not verdict.ok:
        print(verdict.problem, "at seq", verdict.first_bad_seq)

The chain is unkeyed: it proves that history was not rewritten *unless* the
writer recomputed every later hash, and it cannot notice the loss of the
newest entries without a head (seq, hash) recorded somewhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

from sidecar.stores.base import AuditRecord

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first entry."""

_TAG = b"wa-sidecar/audit/v1"

MODIFIED = "modified"
DELETED = "deleted"
INSERTED = "inserted"
REORDERED = "reordered"


class ChainVerdict(NamedTuple):
    """Result of ``verify_chain``; ``first_bad_seq`` is 0 when ``ok``."""

    ok: bool
    first_bad_seq: int
    problem: str  # "", MODIFIED, DELETED, INSERTED or REORDERED


OK = ChainVerdict(True, 0, "")


def entry_hash(  # one parameter per hashed field, in chain order
    prev_hash: str,
    seq: int,
    time: float,
    actor: str,
    action: str,
    subject_index: str,
    detail_json: str,
) -> str:
    """Hex SHA-256 of one entry in the length-prefixed canonical encoding."""
    digest = hashlib.sha256(_TAG)
    # repr() of a float is the shortest string that round-trips, so every
    # backend storing an IEEE double hashes the same text.
    for text in (prev_hash, str(seq), repr(float(time)), actor, action, subject_index, detail_json):
        data = text.encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def record_hash(entry: AuditRecord) -> str:
    """What ``entry.hash`` should be, given its other fields."""
    return entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.time,
        entry.actor,
        entry.action,
        entry.subject_index,
        entry.detail_json,
    )


def verify_chain(
    entries: Sequence[AuditRecord], start_hash: str = GENESIS_HASH, start_seq: int = 1
) -> ChainVerdict:
    """Check ``entries`` (in storage order, e.g. by seq) as one unbroken chain.

    ``start_hash``/``start_seq`` anchor a chain that does not begin at the
    first entry (the last good hash and the next seq). Diagnoses, first match:

    * seq not increasing                          → REORDERED at that entry
    * links to an entry before its predecessor    → INSERTED at the intruder
    * links to an entry further on                → REORDERED at that entry
    * seq skips ahead                             → DELETED at the first gap
    * hash does not match its own fields          → MODIFIED at that entry
    * links to no entry we hold                   → MODIFIED at the predecessor
      (its hash was recomputed after an edit)
    """
    accepted: dict[str, int] = {start_hash: start_seq - 1}  # hash → its seq
    later = {e.hash for e in entries}
    prev_hash, prev_seq, want = start_hash, start_seq - 1, start_seq
    for entry in entries:
        seq = entry.seq
        if seq <= prev_seq:
            return ChainVerdict(False, seq, REORDERED)
        if entry.prev_hash != prev_hash:
            linked = accepted.get(entry.prev_hash)
            if linked is not None:
                return ChainVerdict(False, linked + 1, INSERTED)
            if entry.prev_hash in later:
                return ChainVerdict(False, seq, REORDERED)
            if seq > want:
                return ChainVerdict(False, want, DELETED)
            if record_hash(entry) != entry.hash or prev_seq < start_seq:
                return ChainVerdict(False, seq, MODIFIED)
            return ChainVerdict(False, prev_seq, MODIFIED)
        if seq > want:
            return ChainVerdict(False, want, DELETED)
        if record_hash(entry) != entry.hash:
            return ChainVerdict(False, seq, MODIFIED)
        accepted[entry.hash] = seq
        prev_hash, prev_seq, want = entry.hash, seq, seq + 1
    return OK
