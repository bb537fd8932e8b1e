"""Key rotation: bring every keyring-encrypted blob under the primary key, online.

Rotation steps (see ``sidecar.crypto``): list the new key decrypt-only, roll
out; promote it to primary (``k2:…,k1:…,idx:…``), roll out; run
``wa-sidecar keys rotate``; drop ``k1``. This module is the third step.

What is rewritten, per ``ENCRYPTED_KINDS``:

* ``subject_dek``: each subject's wrapped data key is re-wrapped
  (``SubjectKeys.rewrap``). The phone number and consent proofs are sealed
  under that data key, not the keyring, so they need no rewrite: envelope
  encryption makes a rotation cost one small blob per subject.
* ``dead_letter`` / ``send_request``: stored requests are re-encrypted
  (``FieldCipher.rotate``) with the AAD they were sealed with.
* ``operation_payload``: the number and reason of a four-eyes operation
  awaiting approval, likewise (a completed one holds none).

Online and safe beside a serving sidecar: each blob is swapped with a
compare-and-set, so a row changed or deleted meanwhile is left alone and
looked at again on the next pass. Idempotent: a blob already under the
primary is opened (an integrity check) and left as it is.

    rotator = KeyRotator(state, keyring)
    report = await rotator.rotate(actor="cli")
    report.complete  # every blob readable and under the primary
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from sidecar.crypto import DecryptionError, FieldCipher, Keyring, SubjectKeys, aad
from sidecar.stores.base import ENCRYPTED_KINDS, AuditStore, KeyRotationStore

log = logging.getLogger(__name__)

PAGE_SIZE = 500
MAX_PASSES = 5


@dataclass(slots=True)
class KindReport:
    """Counts for one kind of blob; ``pending`` rows lost every compare-and-set."""

    scanned: int = 0
    rotated: int = 0
    current: int = 0
    unreadable: int = 0
    retried: int = 0
    pending: int = 0
    passes: int = 0


@dataclass(slots=True)
class RotationReport:
    primary: str
    kinds: dict[str, KindReport] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every blob was readable and is now under the primary."""
        return all(k.unreadable == 0 and k.pending == 0 for k in self.kinds.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "primary": self.primary,
            "complete": self.complete,
            "kinds": {name: asdict(counts) for name, counts in self.kinds.items()},
        }


class RotationState(KeyRotationStore, AuditStore, Protocol):
    """The state roles a rotation uses: the encrypted blobs and the audit log."""


class KeyRotator:
    """Re-wraps DEKs and re-encrypts stored requests under the keyring's primary."""

    def __init__(
        self,
        state: RotationState,
        keyring: Keyring,
        *,
        page_size: int = PAGE_SIZE,
        max_passes: int = MAX_PASSES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._subject_keys = SubjectKeys(keyring)
        self._fields = FieldCipher(keyring)
        self._primary = keyring.primary_id
        self._page = page_size
        self._max_passes = max_passes
        self._clock = clock

    def _reseal(self, kind: str, row_id: str, blob: bytes) -> bytes:
        """``blob`` under the primary (the same object if it already was)."""
        if kind == "subject_dek":
            return self._subject_keys.rewrap(blob)
        if kind == "dead_letter":
            return self._fields.rotate(blob, aad("dead_letters", "request", row_id))
        if kind == "send_request":
            return self._fields.rotate(blob, aad("sends", "request", row_id))
        if kind == "operation_payload":
            return self._fields.rotate(blob, aad("operations", "payload", row_id))
        raise ValueError(f"unknown encrypted kind {kind!r}")

    async def rotate(self, *, actor: str) -> RotationReport:
        """One full rotation; appends a ``keys.rotate`` audit entry with the counts."""
        report = RotationReport(self._primary)
        for kind in ENCRYPTED_KINDS:
            report.kinds[kind] = await self._rotate_kind(self._state, kind)
        detail = report.to_dict()
        await self._state.append_audit(
            self._clock(), actor, "keys.rotate", "", json.dumps(detail, sort_keys=True)
        )
        log.info("key rotation finished", extra={"event": "keys_rotated", **detail})
        return report

    async def _rotate_row(
        self, store: KeyRotationStore, kind: str, row_id: str, blob: bytes
    ) -> str:
        """``"rotated"``, ``"current"``, ``"unreadable"`` or ``"conflict"``."""
        try:
            fresh = self._reseal(kind, row_id, blob)
        except DecryptionError:
            # Tampered, or sealed under a key no longer listed: never overwritten.
            log.warning(
                "unreadable blob left as it is",
                extra={"event": "key_rotation_unreadable", "kind": kind, "row_id": row_id},
            )
            return "unreadable"
        if fresh == blob:
            return "current"
        if await store.replace_encrypted(kind, row_id, blob, fresh):
            return "rotated"
        return "conflict"

    async def _rotate_kind(self, store: KeyRotationStore, kind: str) -> KindReport:
        counts = KindReport()
        # Rows that lost a compare-and-set are read again on the next pass;
        # one pass with no conflict means nothing is left under an old key.
        while counts.passes < self._max_passes:
            counts.passes += 1
            first_pass = counts.passes == 1
            conflicts, after = 0, ""
            while rows := await store.encrypted_rows(kind, after, self._page):
                after = rows[-1][0]
                for row_id, blob in rows:
                    outcome = await self._rotate_row(store, kind, row_id, blob)
                    if outcome == "conflict":
                        conflicts += 1
                    elif outcome == "rotated":
                        counts.rotated += 1
                    elif first_pass:  # later passes meet these rows again
                        counts.current += outcome == "current"
                        counts.unreadable += outcome == "unreadable"
                    counts.scanned += first_pass
            counts.retried += conflicts
            counts.pending = conflicts
            if not conflicts:
                break
        return counts
