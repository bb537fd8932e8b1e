"""Master key material from ``WA_SIDECAR_ENCRYPTION_KEY`` and the subkeys derived from it.

Format: comma-separated ``<id>:<standard base64 of 32 bytes>`` entries. The first
encryption entry is the primary (encrypts new data); the others only decrypt
while a rotation is under way. The reserved id ``idx`` is the blind-index root
and never encrypts. A bare base64 value is shorthand for ``k1:<value>``.

    >>> ring = Keyring.parse(Keyring.generate())
    >>> ring.primary_id, ring.ids, ring.index_id
    ('k1', ('k1',), 'idx')

Every subkey is HKDF-SHA256 of one master under a distinct ``info`` label, and
the key id is deliberately not part of the derivation: moving a value from
``k1:`` to ``idx:`` keeps every index it produced.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sidecar.errors import ConfigError

SETTING = "WA_SIDECAR_ENCRYPTION_KEY"
KEY_BYTES = 32
INDEX_KEY_ID = "idx"
DEFAULT_KEY_ID = "k1"
MAX_KEY_ID_LEN = 32

FIELD_LABEL = b"wa-sidecar/v1/field-kek"
DEK_WRAP_LABEL = b"wa-sidecar/v1/dek-kek"
SUPPRESSION_LABEL = b"wa-sidecar/v1/suppression"

_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def is_key_id(text: str) -> bool:
    """True if ``text`` is a well-formed key id (ASCII, 1-32 chars, starts alphanumeric)."""
    return _KEY_ID.fullmatch(text) is not None


def blind_index_label(table: str, column: str) -> bytes:
    """HKDF label of the blind-index key for one (table, column)."""
    for name in (table, column):
        # Restricting to SQL identifiers keeps the "/"-separated label unambiguous.
        if _IDENT.fullmatch(name) is None:
            raise ValueError("table and column must be lower-case SQL identifiers")
    return f"wa-sidecar/v1/blind-index/{table}/{column}".encode("ascii")


def _derive(master: bytes, label: bytes) -> bytes:
    # Masters are uniformly random, so HKDF needs no salt (RFC 5869 §3.1).
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=label).derive(master)


def _problem(problem: str) -> ConfigError:
    return ConfigError(SETTING, problem)


def _decode_key(position: int, encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # ``from None``: the decoder's context must not carry the value into tracebacks.
        raise _problem(f"entry {position} is not valid standard base64") from None
    if len(raw) != KEY_BYTES:
        raise _problem(f"entry {position} decodes to {len(raw)} bytes; need {KEY_BYTES}")
    return raw


class Keyring:
    """Ordered encryption keys (primary first) plus the blind-index root.

    Build one with :meth:`parse`; the constructor takes already-decoded material.
    ``repr`` shows ids only. Errors are :class:`~sidecar.errors.ConfigError` naming
    ``WA_SIDECAR_ENCRYPTION_KEY`` and never contain key material.
    """

    __slots__ = ("_index_id", "_index_master", "_masters")

    def __init__(
        self, keys: Iterable[tuple[str, bytes]], *, index_key: bytes | None = None
    ) -> None:
        masters: dict[str, bytes] = {}
        for position, (key_id, master) in enumerate(keys, start=1):
            if not is_key_id(key_id) or key_id == INDEX_KEY_ID:
                raise _problem(f"entry {position} has an invalid key id")
            if key_id in masters:
                raise _problem(f"key id {key_id!r} appears twice")
            if len(master) != KEY_BYTES:
                raise _problem(f"entry {position} is {len(master)} bytes; need {KEY_BYTES}")
            if master in masters.values():
                raise _problem(f"entry {position} repeats the material of another key")
            masters[key_id] = bytes(master)
        if not masters:
            raise _problem("no encryption key; expected '<id>:<base64 of 32 bytes>'")
        if index_key is None:
            if len(masters) > 1:
                # With several keys, "which one roots the index" must not depend on list
                # order: appending a not-yet-primary key would silently re-key every index.
                raise _problem(
                    "several keys but no 'idx:' entry; set 'idx:' to the value of the key "
                    "you started with so existing blind indexes stay valid"
                )
            self._index_id = next(iter(masters))
            self._index_master = masters[self._index_id]
        else:
            if len(index_key) != KEY_BYTES:
                raise _problem(f"the idx entry is {len(index_key)} bytes; need {KEY_BYTES}")
            self._index_id = INDEX_KEY_ID
            self._index_master = bytes(index_key)
        self._masters = masters

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Parse the setting's value (see the module docstring for the format)."""
        text = text.strip()
        if not text:
            raise _problem("empty; expected '<id>:<base64 of 32 bytes>[,...]'")
        if ":" not in text and "," not in text:
            return cls([(DEFAULT_KEY_ID, _decode_key(1, text))])
        keys: list[tuple[str, bytes]] = []
        index_key: bytes | None = None
        for position, entry in enumerate(text.split(","), start=1):
            key_id, sep, encoded = entry.strip().partition(":")
            if not sep or not encoded:
                raise _problem(f"entry {position} is not '<id>:<base64>'")
            if not is_key_id(key_id):
                raise _problem(f"entry {position} has an invalid key id (1-32 of A-Za-z0-9_.-)")
            master = _decode_key(position, encoded)
            if key_id == INDEX_KEY_ID:
                if index_key is not None:
                    raise _problem(f"key id {INDEX_KEY_ID!r} appears twice")
                index_key = master
            else:
                keys.append((key_id, master))
        return cls(keys, index_key=index_key)

    @staticmethod
    def generate() -> str:
        """A fresh setting value ``k1:<b64>,idx:<b64>`` (dev key file beside SQLite state)."""
        primary, index = (
            base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") for _ in range(2)
        )
        return f"{DEFAULT_KEY_ID}:{primary},{INDEX_KEY_ID}:{index}"

    @property
    def primary_id(self) -> str:
        """Id of the key that encrypts new data."""
        return next(iter(self._masters))

    @property
    def ids(self) -> tuple[str, ...]:
        """Encryption key ids, primary first; ``idx`` is not among them."""
        return tuple(self._masters)

    @property
    def index_id(self) -> str:
        """``"idx"``, or the only encryption key's id when no ``idx`` entry is given."""
        return self._index_id

    def subkey(self, key_id: str, label: bytes) -> bytes:
        """HKDF-SHA256 subkey of encryption key ``key_id`` for purpose ``label``."""
        return _derive(self._masters[key_id], label)

    def index_subkey(self, label: bytes) -> bytes:
        """HKDF-SHA256 subkey of the blind-index root for purpose ``label``."""
        return _derive(self._index_master, label)

    def __repr__(self) -> str:
        return f"Keyring(ids={self.ids!r}, index_id={self._index_id!r})"
