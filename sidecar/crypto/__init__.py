"""Field encryption, blind indexes and per-subject keys (SPEC §5). No I/O: stores call this.

Key string (``WA_SIDECAR_ENCRYPTION_KEY``)::

    k2:<base64 32 bytes>,k1:<base64 32 bytes>,idx:<base64 32 bytes>

The first non-``idx`` entry is the primary and encrypts new data; later entries
only decrypt. ``idx`` is the blind-index root. A bare base64 value means
``k1:<value>`` and then also roots the index. ``Keyring.generate()`` writes
``k1:…,idx:…`` so that the index root is separate from day one.

Derivation (HKDF-SHA256, one label per purpose, key id not mixed in)::

    k<n> ─┬─ "wa-sidecar/v1/field-kek"            → FieldCipher key for k<n>
          └─ "wa-sidecar/v1/dek-kek"              → wraps subject DEKs
    idx  ─┬─ "wa-sidecar/v1/blind-index/<t>/<c>"  → BlindIndexer.index
          └─ "wa-sidecar/v1/suppression"          → BlindIndexer.full_index

Design choices:

* **AES-256-GCM-SIV, random 96-bit nonce.** Same API as AES-GCM, but a repeated
  nonce (a cloned VM, a bad RNG) only reveals that two (plaintext, AAD) pairs are
  equal instead of leaking the authentication key, and its random-nonce message
  budget per key is far above GCM's 2**32. Cost: about 1 µs per phone number.
* **Tink-style header.** Every blob carries a format byte and its key id, so
  decryption picks the key directly and rotation is online: add the new key
  decrypt-only (``k1:…,k2:…,idx:…``), roll out, promote it (``k2:…,k1:…,idx:…``),
  run ``wa-sidecar keys rotate`` (``FieldCipher.rotate``, ``SubjectKeys.rewrap``),
  then drop ``k1``. The header is part of the AEAD associated data.
* **AAD = table ‖ column ‖ row id**, length-prefixed (:func:`aad`), so a value
  copied to another row or column fails to decrypt.
* **Index root independent of encryption rotation.** Blind-index and suppression
  keys come from ``idx`` and never change when the primary changes. A keyring
  with several encryption keys must name ``idx`` explicitly: deriving it from
  "the oldest listed key" would silently re-key every index the moment a new key
  is appended decrypt-only. A single-key deployment upgrades by setting
  ``idx:`` to its original value, which yields identical indexes. Rotating
  ``idx`` itself is an offline re-index of every row and the suppression list.
* **Crypto-shredding.** Subject data is sealed under a per-subject random DEK
  wrapped by the keyring (:class:`SubjectKeys`); erasure deletes the wrapped DEK.
  The suppression hash is keyed by ``idx``, not the DEK, so it survives erasure.
* **Truncated blind index** with CipherSweet's leakage budget
  (:func:`recommended_bits`); lookups yield candidates that the caller decrypts
  and confirms with :func:`matches` (constant time).

Every failure to open a blob raises :class:`~sidecar.errors.DecryptionError`; bad key material
raises :class:`~sidecar.errors.ConfigError` without echoing it.
"""

from __future__ import annotations

from sidecar.crypto.blind_index import DEFAULT_BITS, BlindIndexer, matches, recommended_bits
from sidecar.crypto.fields import FieldCipher, aad
from sidecar.crypto.keys import Keyring
from sidecar.crypto.subjects import SubjectCipher, SubjectKeys
from sidecar.errors import DecryptionError

__all__ = [
    "DEFAULT_BITS",
    "BlindIndexer",
    "DecryptionError",
    "FieldCipher",
    "Keyring",
    "SubjectCipher",
    "SubjectKeys",
    "aad",
    "matches",
    "recommended_bits",
]
