"""App Secret rotation with an overlap, pure: time is a parameter.

When the App Secret changes at runtime, webhooks Meta signed a moment
earlier still carry the old secret's signature. ``SecretRotation`` keeps
each replaced secret acceptable for ``overlap`` seconds beside the new ones.

    >>> r = SecretRotation.start([b"old"])
    >>> r = r.rotate([b"new"], now=100.0, overlap=60.0)
    >>> r.active(130.0), r.active(161.0)
    ((b'new', b'old'), (b'new',))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SecretRotation:
    """The configured secrets, plus replaced ones with the time they lapse."""

    current: tuple[bytes, ...]
    retiring: tuple[tuple[bytes, float], ...] = ()

    @classmethod
    def start(cls, secrets: Sequence[bytes]) -> SecretRotation:
        return cls(tuple(s for s in secrets if s))

    def rotate(self, secrets: Sequence[bytes], *, now: float, overlap: float) -> SecretRotation:
        """``secrets`` become current; the ones they replace lapse at ``now + overlap``."""
        new = tuple(s for s in secrets if s)
        until = now + overlap
        kept = {s: t for s, t in self.retiring if t > now and s not in new}
        for secret in self.current:
            if secret not in new:
                kept[secret] = until
        return SecretRotation(new, tuple(kept.items()))

    def active(self, now: float) -> tuple[bytes, ...]:
        """Current secrets first, then replaced ones still inside their overlap."""
        return self.current + tuple(s for s, until in self.retiring if until > now)

    def next_lapse(self, now: float) -> float | None:
        """When the next replaced secret stops being accepted; None if none will."""
        pending = [until for _, until in self.retiring if until > now]
        return min(pending) if pending else None
