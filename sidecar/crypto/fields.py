"""Field-level encryption bound to its row and column, with online key rotation."""

from __future__ import annotations

from sidecar.crypto.envelope import KeyedAead
from sidecar.crypto.keys import FIELD_LABEL, Keyring

_AAD_TAG = b"wa-sidecar/v1/aad"


def aad(table: str, column: str, row_id: str | int | bytes) -> bytes:
    """Associated data naming where a value lives: tag, then 4-byte-length-prefixed parts.

    ``row_id`` must be stable and known before the write (a UUID, the subject id),
    because a value moved to another row, column or table no longer decrypts.
    """
    if isinstance(row_id, int):
        row_id = str(row_id)
    parts = [
        table.encode(),
        column.encode(),
        row_id.encode() if isinstance(row_id, str) else row_id,
    ]
    return _AAD_TAG + b"".join(len(part).to_bytes(4, "big") + part for part in parts)


class FieldCipher:
    """Encrypts column values under the keyring's primary key, decrypts under any listed key.

        >>> cipher = FieldCipher(Keyring.parse(setting_value))
        >>> where = aad("subjects", "e164", subject_id)
        >>> blob = cipher.encrypt(b"+447700900123", where)
        >>> cipher.decrypt(blob, where)
        b'+447700900123'

    Each key id gets its own AES-256-GCM-SIV key, HKDF-derived with the
    ``field-kek`` label. Failures raise :class:`~sidecar.crypto.DecryptionError`.
    """

    __slots__ = ("_aead",)

    def __init__(self, keyring: Keyring) -> None:
        keys = {key_id: keyring.subkey(key_id, FIELD_LABEL) for key_id in keyring.ids}
        self._aead = KeyedAead(keys, keyring.primary_id)

    def rekey(self, keyring: Keyring) -> None:
        """Use ``keyring`` from now on (a new primary, a key added or dropped);
        one attribute swap, so a call in progress finishes under the old keys."""
        keys = {key_id: keyring.subkey(key_id, FIELD_LABEL) for key_id in keyring.ids}
        self._aead = KeyedAead(keys, keyring.primary_id)

    @property
    def primary_id(self) -> str:
        return self._aead.primary_id

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """Seal ``plaintext`` under the primary key; ``aad`` comes from :func:`aad`."""
        return self._aead.seal(plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Open a blob sealed under any configured key with the same ``aad``."""
        return self._aead.open(blob, aad)

    def key_id(self, blob: bytes) -> str:
        """The key id recorded in ``blob``'s header (no authentication performed)."""
        return self._aead.key_id(blob)

    def needs_rotation(self, blob: bytes) -> bool:
        """True when ``blob`` was sealed under a key other than the primary."""
        return self._aead.key_id(blob) != self._aead.primary_id

    def rotate(self, blob: bytes, aad: bytes) -> bytes:
        """Re-seal under the primary; a blob already under the primary is returned as is."""
        return self._aead.reseal(blob, aad)
