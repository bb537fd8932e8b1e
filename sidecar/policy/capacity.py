"""What the account allows a business number, from what Graph says of it (pure).

FACTS §5: a number sends 80 messages per second by default (``throughput``
level STANDARD), 1,000 after Meta's automatic upgrade (HIGH), and a number
also in use with the WhatsApp Business app (coexistence) a fixed 20. The
business portfolio's messaging limit caps the unique users reached outside a
service window in a rolling 24 h: TIER_250 → 250 … TIER_UNLIMITED → no cap.
Quality RED is the rating at which Meta lowers limits; the sidecar then slows
marketing (the category users block and report) on that number.

    capacity = account_capacity("HIGH", "TIER_10K", "GREEN", on_business_app=False)
    capacity.rate, capacity.messaging_limit     # 1000.0, 10000
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_RATE = 80.0
HIGH_RATE = 1_000.0
COEXISTENCE_RATE = 20.0
THROUGHPUT_RATES = {"STANDARD": STANDARD_RATE, "HIGH": HIGH_RATE}

TIER_LIMITS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": 0,
}
"""Unique users per rolling 24 h; 0 is no cap (the sidecar's "off")."""

QUALITY_RANKS = {"GREEN": 3, "YELLOW": 2, "RED": 1}
"""Higher is better; anything else (UNKNOWN, absent) ranks 0."""


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the account allows one number; None where Graph said nothing usable."""

    rate: float | None
    messaging_limit: int | None
    quality: str

    @property
    def red(self) -> bool:
        return self.quality == "RED"


def account_capacity(
    throughput: str, messaging_limit: str, quality: str, *, on_business_app: bool
) -> Capacity:
    """The send rate, tier cap and quality Graph's answer amounts to."""
    rate = COEXISTENCE_RATE if on_business_app else THROUGHPUT_RATES.get(throughput.upper())
    return Capacity(
        rate=rate,
        messaging_limit=TIER_LIMITS.get(messaging_limit.upper()),
        quality=quality.upper() if quality.upper() in QUALITY_RANKS else "UNKNOWN",
    )


def direction(old: float, new: float, *, unlimited_is_zero: bool = False) -> str:
    """``up`` or ``down`` for a change of rate, limit or quality rank; with
    ``unlimited_is_zero`` a 0 (no cap) is above every number."""
    if unlimited_is_zero:
        old, new = (old or float("inf")), (new or float("inf"))
    return "up" if new > old else "down"


def red_marketing_rate(rate: float, share: float) -> float:
    """Marketing's rate on a number whose quality is RED (0: paused)."""
    return rate * share
