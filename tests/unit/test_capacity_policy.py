"""What the account allows a number, from what Graph says (policy/capacity.py)."""

from __future__ import annotations

import pytest

from sidecar.policy.capacity import (
    Capacity,
    account_capacity,
    direction,
    red_marketing_rate,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("throughput", "on_app", "rate"),
    [
        ("STANDARD", False, 80.0),
        ("HIGH", False, 1000.0),
        ("high", False, 1000.0),
        ("HIGH", True, 20.0),  # the Business app fixes 20 whatever the level
        ("STANDARD", True, 20.0),
        ("NOT_APPLICABLE", False, None),
        ("", False, None),
    ],
)
def test_the_rate_follows_the_level_and_coexistence(
    throughput: str, on_app: bool, rate: float | None
) -> None:
    assert account_capacity(throughput, "", "", on_business_app=on_app).rate == rate


@pytest.mark.parametrize(
    ("tier", "limit"),
    [("TIER_250", 250), ("TIER_2K", 2000), ("TIER_100K", 100_000), ("TIER_UNLIMITED", 0),
     ("TIER_NOT_SET", None), ("", None)],
)  # fmt: skip
def test_the_tier_cap_follows_the_portfolio_limit(tier: str, limit: int | None) -> None:
    assert account_capacity("", tier, "", on_business_app=False).messaging_limit == limit


def test_quality_is_kept_when_known_and_red_is_red() -> None:
    assert account_capacity("", "", "red", on_business_app=False) == Capacity(None, None, "RED")
    assert account_capacity("", "", "RED", on_business_app=False).red
    assert account_capacity("", "", "FLAGGED", on_business_app=False).quality == "UNKNOWN"
    assert not account_capacity("", "", "GREEN", on_business_app=False).red


def test_directions_rank_no_cap_above_every_limit() -> None:
    assert direction(80, 1000) == "up" and direction(1000, 20) == "down"
    assert direction(0, 250, unlimited_is_zero=True) == "down"  # no cap → 250
    assert direction(250, 0, unlimited_is_zero=True) == "up"
    assert red_marketing_rate(80.0, 0.25) == 20.0
