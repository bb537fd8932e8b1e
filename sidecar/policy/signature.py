"""Webhook signature verification (SPEC §4.1), pure.

Meta signs the raw POST body with HMAC-SHA256 under the App Secret and sends
``X-Hub-Signature-256: sha256=<64 lower-case hex>``. Verification must run
over the bytes exactly as received, compare in constant time, and accept any
of several active secrets so that a secret can be rotated without downtime.

    >>> verifier = SignatureVerifier([b"old-secret", b"new-secret"])
    >>> result = verifier.verify(body, header_value)
    >>> result.ok, result.problem, result.secret_index
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "sha256="
_HEX_LEN = 64
_HEX_CHARS = frozenset("0123456789abcdefABCDEF")


class SignatureProblem(enum.Enum):
    """Why a signature did not verify; ``NONE`` when it did."""

    NONE = "none"
    MISSING = "missing"
    MALFORMED = "malformed"
    UNSUPPORTED = "unsupported"
    MISMATCH = "mismatch"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """Outcome of one check; ``secret_index`` says which secret matched (-1: none)."""

    problem: SignatureProblem
    secret_index: int = -1

    @property
    def ok(self) -> bool:
        return self.problem is SignatureProblem.NONE


def sign(body: bytes, secret: bytes) -> str:
    """The header value Meta would send for ``body``: ``sha256=<hex>``."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def parse_header(value: str) -> tuple[SignatureProblem, bytes]:
    """Strictly parse ``sha256=<64 hex>``; returns the digest bytes on success."""
    value = value.strip()
    if not value:
        return SignatureProblem.MISSING, b""
    scheme, sep, hexdigest = value.partition("=")
    if not sep:
        return SignatureProblem.MALFORMED, b""
    scheme = scheme.lower()
    if scheme == "sha1":
        return SignatureProblem.UNSUPPORTED, b""
    if scheme != "sha256" or len(hexdigest) != _HEX_LEN or not _HEX_CHARS.issuperset(hexdigest):
        return SignatureProblem.MALFORMED, b""
    return SignatureProblem.NONE, bytes.fromhex(hexdigest)


class SignatureVerifier:
    """Verifies ``X-Hub-Signature-256`` values against the active App Secrets."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Sequence[bytes]) -> None:
        self._secrets: tuple[bytes, ...] = tuple(s for s in secrets if s)

    @property
    def configured(self) -> bool:
        return bool(self._secrets)

    def verify(self, body: bytes, header_value: str) -> SignatureResult:
        problem, expected = parse_header(header_value)
        if problem is not SignatureProblem.NONE:
            return SignatureResult(problem)
        if not self._secrets:
            return SignatureResult(SignatureProblem.NOT_CONFIGURED)
        matched = -1
        # Every secret is tried even after a match, so the time taken does not
        # reveal which secret (or whether an early one) matched.
        for index, secret in enumerate(self._secrets):
            digest = hmac.new(secret, body, hashlib.sha256).digest()
            if hmac.compare_digest(digest, expected) and matched < 0:
                matched = index
        if matched < 0:
            return SignatureResult(SignatureProblem.MISMATCH)
        return SignatureResult(SignatureProblem.NONE, matched)
