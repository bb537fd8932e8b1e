"""Per-subject data keys (DEKs) for crypto-shredding.

Each subject's personal data is sealed under its own random DEK; the store keeps
only the DEK wrapped under a keyring key. Erasure deletes the wrapped-DEK row,
which makes every copy of that subject's ciphertext (replicas, backups, logs)
permanently unreadable. The suppression entry (``BlindIndexer.full_index``) is
keyed separately and survives, so an erased number is still never messaged.
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from sidecar.crypto.envelope import (
    SUBJECT_FORMAT,
    KeyedAead,
    open_sealed,
    seal,
)
from sidecar.crypto.keys import DEK_WRAP_LABEL, KEY_BYTES, Keyring
from sidecar.errors import DecryptionError

# Wrapped DEKs are not bound to their subject: a DEK moved to another row cannot open
# that row's data (its AEAD tag fails), so the binding would add nothing.
_WRAP_AAD = b"wa-sidecar/v1/subject-dek"
_HEADER = bytes((SUBJECT_FORMAT,))


class SubjectKeys:
    """Creates, unwraps and re-wraps subject DEKs under the keyring.

        >>> keys = SubjectKeys(keyring)
        >>> wrapped = keys.new_wrapped_dek()      # store beside the subject
        >>> cipher = keys.cipher(wrapped)
        >>> blob = cipher.encrypt(b"Ada", aad("profiles", "name", subject_id))

    Wrapping uses the same framing as :class:`~sidecar.crypto.FieldCipher` (key id
    in the header, AES-256-GCM-SIV) under a KEK derived with the ``dek-kek`` label.
    """

    __slots__ = ("_aead",)

    def __init__(self, keyring: Keyring) -> None:
        keys = {key_id: keyring.subkey(key_id, DEK_WRAP_LABEL) for key_id in keyring.ids}
        self._aead = KeyedAead(keys, keyring.primary_id)

    def rekey(self, keyring: Keyring) -> None:
        """Use ``keyring`` from now on (a new primary, a key added or dropped);
        one attribute swap, so a call in progress finishes under the old keys."""
        keys = {key_id: keyring.subkey(key_id, DEK_WRAP_LABEL) for key_id in keyring.ids}
        self._aead = KeyedAead(keys, keyring.primary_id)

    def new_wrapped_dek(self) -> bytes:
        """A fresh random 32-byte DEK, wrapped under the primary key."""
        return self._aead.seal(secrets.token_bytes(KEY_BYTES), _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        """The raw DEK; :class:`~sidecar.crypto.DecryptionError` if it cannot be opened."""
        return self._aead.open(wrapped, _WRAP_AAD)

    def cipher(self, wrapped: bytes) -> SubjectCipher:
        """Shorthand for ``SubjectCipher(self.unwrap(wrapped))``."""
        return SubjectCipher(self.unwrap(wrapped))

    def needs_rotation(self, wrapped: bytes) -> bool:
        """True when the DEK is wrapped under a key other than the primary."""
        return self._aead.key_id(wrapped) != self._aead.primary_id

    def rewrap(self, wrapped: bytes) -> bytes:
        """Wrap the same DEK under the primary key; subject data needs no rewrite."""
        return self._aead.reseal(wrapped, _WRAP_AAD)


class SubjectCipher:
    """AEAD under one subject's DEK; ``aad`` as for :func:`~sidecar.crypto.aad`.

    >>> cipher = SubjectCipher(dek)
    >>> cipher.decrypt(cipher.encrypt(b"Ada", where), where)
    b'Ada'
    """

    __slots__ = ("_aead",)

    def __init__(self, dek: bytes) -> None:
        if len(dek) != KEY_BYTES:
            raise ValueError(f"a subject DEK is {KEY_BYTES} bytes")
        self._aead = AESGCMSIV(dek)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """``0x02 || nonce || ciphertext || tag`` under this DEK."""
        return seal(self._aead, _HEADER, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Open a blob sealed under this DEK with the same ``aad``."""
        if blob[:1] != _HEADER:
            raise DecryptionError("not a subject ciphertext (unknown format byte)")
        return open_sealed(self._aead, _HEADER, blob, aad)

    def __repr__(self) -> str:
        return "SubjectCipher(<dek hidden>)"
