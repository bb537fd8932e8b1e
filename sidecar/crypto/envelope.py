"""Ciphertext framing shared by field values, wrapped DEKs and subject data.

Keyring blobs (``FieldCipher``, ``SubjectKeys``)::

    0x01 | len(key id) (1 byte, 1-32) | key id (ASCII) | nonce (12) | ciphertext | tag (16)

Subject blobs (``SubjectCipher``; the DEK is found through the subject's row)::

    0x02 | nonce (12) | ciphertext | tag (16)

The AEAD is AES-256-GCM-SIV and its associated data is ``header || caller AAD``,
so the version byte and key id are authenticated too. Every failure to open a
blob, whatever its cause, surfaces as :class:`~sidecar.errors.DecryptionError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from sidecar.crypto.keys import is_key_id
from sidecar.errors import DecryptionError

KEYRING_FORMAT = 0x01
SUBJECT_FORMAT = 0x02
NONCE_BYTES = 12
TAG_BYTES = 16


def seal(aead: AESGCMSIV, header: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``header || nonce || AEAD(plaintext, header || aad)`` with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + aead.encrypt(nonce, plaintext, header + aad)


def open_sealed(aead: AESGCMSIV, header: bytes, blob: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`seal`; ``header`` is the already-parsed prefix of ``blob``."""
    start = len(header)
    nonce = blob[start : start + NONCE_BYTES]
    body = blob[start + NONCE_BYTES :]
    if len(nonce) != NONCE_BYTES or len(body) < TAG_BYTES:
        raise DecryptionError("ciphertext is truncated")
    try:
        return aead.decrypt(nonce, body, header + aad)
    except (InvalidTag, ValueError, OverflowError):
        raise DecryptionError(
            "ciphertext failed authentication (wrong row/column AAD, wrong key, or tampered)"
        ) from None


def keyring_header(key_id: str) -> bytes:
    """The ``0x01 | len | key id`` prefix for ``key_id``."""
    encoded = key_id.encode("ascii")
    return bytes((KEYRING_FORMAT, len(encoded))) + encoded


def read_key_id(blob: bytes) -> tuple[str, bytes]:
    """Parse a keyring blob's header; returns ``(key id, header bytes)``."""
    if len(blob) < 2 or blob[0] != KEYRING_FORMAT:
        raise DecryptionError("not a keyring ciphertext (unknown format byte)")
    end = 2 + blob[1]
    raw_id = blob[2:end]
    try:
        key_id = raw_id.decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError("ciphertext header has a malformed key id") from None
    if len(raw_id) != blob[1] or not is_key_id(key_id):
        raise DecryptionError("ciphertext header has a malformed key id")
    return key_id, blob[:end]


class KeyedAead:
    """One AEAD per key id; seals under the primary, opens under the id in the header."""

    __slots__ = ("_aeads", "_header", "_primary", "_primary_id")

    def __init__(self, keys: Mapping[str, bytes], primary_id: str) -> None:
        self._aeads = {key_id: AESGCMSIV(key) for key_id, key in keys.items()}
        self._primary_id = primary_id
        self._primary = self._aeads[primary_id]
        self._header = keyring_header(primary_id)

    @property
    def primary_id(self) -> str:
        return self._primary_id

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        return seal(self._primary, self._header, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        key_id, header = read_key_id(blob)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise DecryptionError(f"ciphertext uses key id {key_id!r}, which is not configured")
        return open_sealed(aead, header, blob, aad)

    def key_id(self, blob: bytes) -> str:
        key_id, _ = read_key_id(blob)
        return key_id

    def reseal(self, blob: bytes, aad: bytes) -> bytes:
        # Open first even when already primary: a rotation pass doubles as an integrity scan.
        plaintext = self.open(blob, aad)
        if self.key_id(blob) == self._primary_id:
            return blob
        return self.seal(plaintext, aad)
