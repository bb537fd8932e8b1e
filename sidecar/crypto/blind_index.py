"""Keyed, truncated blind indexes over E.164 numbers, and the exact suppression hash.

``index`` is HMAC-SHA256 under a key derived per (table, column) from the index
root, keeping the first ``bits`` bits (most significant first). It is written as
``ceil(bits / 4)`` lower-case hex digits; when ``bits`` is not a multiple of 4
the unused low bits of the last digit are zero. Truncation is the point: about
``C = R / 2**bits`` subjects share each value, so a lookup returns candidates
that the caller decrypts and checks with :func:`matches`.

Choosing ``bits`` (CipherSweet's planning rule): with R rows and an input domain
of K bits, coincidences are ``C = R / 2**min(L, K)``; keep ``2 <= C < sqrt(R)``.
:func:`recommended_bits` returns that range. The default, 16 bits, is inside it
for 131 072 <= R < 2**32 (about 15 candidates per lookup at a million subjects).
Below ~131 000 subjects 16 bits makes most values unique, which leaks equality
as plainly as an untruncated hash: configure fewer bits there. ``bits`` is fixed
once data is written; changing it, like changing the index key, means re-indexing.

``full_index`` is the untruncated HMAC under a separate suppression key: the
"do not contact" list must be exact and outlives erasure, so it can never
depend on a subject's DEK or on a truncated, collision-prone value.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re

from sidecar.crypto.keys import SUPPRESSION_LABEL, Keyring, blind_index_label

DEFAULT_BITS = 16
MAX_BITS = 256
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _e164_bytes(e164: str) -> bytes:
    if _E164.fullmatch(e164) is None:
        # Never echo the value: it is a phone number.
        raise ValueError("expected a normalised E.164 number: '+' and 2-15 digits")
    return e164.encode("ascii")


def matches(candidate_plaintext: bytes, e164: str) -> bool:
    """Constant-time check that a decrypted candidate is exactly ``e164``."""
    return hmac.compare_digest(candidate_plaintext, _e164_bytes(e164))


def recommended_bits(expected_rows: int, input_bits: float = 33.0) -> tuple[int, int]:
    """``(min_bits, max_bits)`` keeping ``2 <= R / 2**min(L, K) < sqrt(R)``.

    ``input_bits`` (K) is the entropy of the indexed value; 33 bits is a floor
    for real E.164 numbers. Raises ValueError when no length satisfies both bounds.

        >>> recommended_bits(1_000_000)
        (10, 18)
    """
    if expected_rows < 1 or input_bits <= 0:
        raise ValueError("expected_rows and input_bits must be positive")
    log_rows = math.log2(expected_rows)
    # C >= 2  <=>  min(L, K) <= log2(R) - 1 ; bits beyond K add no separation.
    max_bits = min(math.floor(log_rows - 1), math.ceil(input_bits))
    # C < sqrt(R)  <=>  min(L, K) > log2(R) / 2 (strict, hence floor + 1).
    min_bits = math.floor(log_rows / 2) + 1
    if input_bits <= log_rows / 2:
        raise ValueError("input domain too small: every index value would match too many rows")
    if max_bits < min_bits:
        raise ValueError("too few rows for a blind index to hide anything")
    return min_bits, max_bits


class BlindIndexer:
    """Blind index for one (table, column) plus the global suppression hash.

        >>> indexer = BlindIndexer(keyring, bits=16)
        >>> indexer.index("+447700900123")  # 4 hex digits, stored beside the blob
        >>> len(indexer.full_index("+447700900123"))
        64

    Keys come from the keyring's index root, so they do not change when a new
    encryption key becomes primary. HMAC key schedules are computed once here.
    """

    __slots__ = ("_bits", "_digits", "_drop", "_fmt", "_index_mac", "_nbytes", "_pad", "_sup_mac")

    def __init__(
        self,
        keyring: Keyring,
        *,
        bits: int = DEFAULT_BITS,
        table: str = "subjects",
        column: str = "e164",
    ) -> None:
        if not 1 <= bits <= MAX_BITS:
            raise ValueError(f"bits must be in 1..{MAX_BITS}")
        self._bits = bits
        self._nbytes = (bits + 7) // 8
        self._drop = 8 * self._nbytes - bits
        self._digits = (bits + 3) // 4
        self._pad = 4 * self._digits - bits
        self._fmt = f"0{self._digits}x"
        index_key = keyring.index_subkey(blind_index_label(table, column))
        self._index_mac = hmac.new(index_key, digestmod=hashlib.sha256)
        self._sup_mac = hmac.new(keyring.index_subkey(SUPPRESSION_LABEL), digestmod=hashlib.sha256)

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def hex_digits(self) -> int:
        """Length of every :meth:`index` value (for sizing the column)."""
        return self._digits

    def index(self, e164: str) -> str:
        """Truncated blind index of a normalised E.164 number; ValueError if malformed."""
        mac = self._index_mac.copy()
        mac.update(_e164_bytes(e164))
        head = int.from_bytes(mac.digest()[: self._nbytes], "big")
        return format((head >> self._drop) << self._pad, self._fmt)

    def full_index(self, e164: str) -> str:
        """Untruncated suppression-list hash (64 hex digits); survives erasure."""
        mac = self._sup_mac.copy()
        mac.update(_e164_bytes(e164))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return f"BlindIndexer(bits={self._bits})"
