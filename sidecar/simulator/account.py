"""The simulated account: each number's throughput level, quality rating and
Business-app use, the portfolio's messaging limit, and the webhooks that
announce their changes (the ``value`` of each account change, shaped as Meta's
webhook references show them; ``whatsapp/account_events.py`` names the pages).

``GET /{version}/{phone_number_id}?fields=…`` serves ``phone_fields``;
``SimulatedAccount.update`` changes the account as Meta would and queues the
webhook Meta sends for it: THROUGHPUT_UPGRADE for a number raised to HIGH
(Meta documents none for a downgrade), ``business_capability_update`` for a new
messaging limit. ``POST /_sim/account`` is the same over HTTP; ``POST
/_sim/account_events`` queues any account webhook as given.

    state.account.update("106540352242922", throughput="HIGH")
    value = template_status_value("1689556908129832", "order_update", "REJECTED",
                                  category="UTILITY", reason="INVALID_FORMAT")
    state.emit_account_change("message_template_status_update", value)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sidecar.simulator.limits import ThroughputLimiter

ACCOUNT_FIELDS = (
    "message_template_status_update",
    "template_category_update",
    "phone_number_quality_update",
    "business_capability_update",
    "account_alerts",
)

TIER_LIMITS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": -1,
}
"""Messaging limit tiers and their unique users per 24 h (-1: unlimited)."""


def template_status_value(
    template_id: str,
    name: str,
    event: str,
    *,
    language: str = "en_US",
    category: str = "MARKETING",
    reason: str = "NONE",
    title: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """``message_template_status_update``: APPROVED, REJECTED (with ``reason``),
    PAUSED (``title`` FIRST_PAUSE …, ``description``), DISABLED …"""
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template_id),
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason,
        "message_template_category": category,
    }
    if title is not None:
        value["other_info"] = {"title": title, "description": description or ""}
    if event == "DISABLED":
        value["disable_info"] = {"disable_date": 1751234563}
    return value


def template_category_value(
    template_id: str, name: str, previous: str, new: str, *, language: str = "en_US"
) -> dict[str, Any]:
    """``template_category_update``: a completed change ``previous`` → ``new``."""
    return {
        "message_template_id": int(template_id),
        "message_template_name": name,
        "message_template_language": language,
        "previous_category": previous,
        "new_category": new,
    }


def phone_quality_value(
    display_phone_number: str, event: str, *, current_limit: str = "", max_daily: str = ""
) -> dict[str, Any]:
    """``phone_number_quality_update``: THROUGHPUT_UPGRADE, ONBOARDING …"""
    value: dict[str, Any] = {"display_phone_number": display_phone_number, "event": event}
    if current_limit:
        value["current_limit"] = current_limit
    if max_daily:
        value["max_daily_conversations_per_business"] = max_daily
    return value


def capability_value(max_daily_per_business: int) -> dict[str, Any]:
    """``business_capability_update``: the portfolio's messaging limit (-1 unlimited)."""
    return {
        "max_daily_conversation_per_phone": max_daily_per_business,
        "max_daily_conversations_per_business": max_daily_per_business,
        "max_phone_numbers_per_business": 2,
        "max_phone_numbers_per_waba": 2,
    }


def account_alert_value(
    alert_type: str,
    *,
    severity: str = "WARNING",
    entity_type: str = "BUSINESS",
    entity_id: str = "506914307656634",
    description: str = "",
) -> dict[str, Any]:
    """``account_alerts``: e.g. INCREASED_CAPABILITIES_ELIGIBILITY_FAILED."""
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "alert_info": {
            "alert_severity": severity,
            "alert_status": "ACTIVE",
            "alert_type": alert_type,
            "alert_description": description or alert_type.replace("_", " ").lower(),
        },
    }


THROUGHPUT_LEVELS = ("STANDARD", "HIGH")
QUALITY_RATINGS = ("GREEN", "YELLOW", "RED", "UNKNOWN")
_LEVEL_RATES = {"HIGH": 1_000.0}
_BUSINESS_APP_RATE = 20.0


@dataclass(slots=True)
class NumberAccount:
    """One business number as Graph describes it."""

    throughput: str = "STANDARD"
    quality: str = "GREEN"
    on_business_app: bool = False


@dataclass(frozen=True, slots=True)
class CapacityRead:
    """One ``GET /{phone_number_id}`` the simulator answered: when and with what."""

    monotonic: float
    phone_number_id: str
    throughput: str
    messaging_limit: str


@dataclass(slots=True)
class SimulatedAccount:
    """The account behind every number the simulator serves."""

    emit: Callable[[str, dict[str, Any]], None]
    display_phone_number: str = "15550783881"
    messaging_limit: str = "TIER_UNLIMITED"
    numbers: dict[str, NumberAccount] = field(default_factory=dict)
    reads: list[CapacityRead] = field(default_factory=list)
    _limiters: dict[float, ThroughputLimiter] = field(default_factory=dict)
    _start_limit: str = ""
    _read_made: asyncio.Event | None = None  # set (and dropped) at the next read

    def __post_init__(self) -> None:
        self._start_limit = self.messaging_limit

    def number(self, phone_number_id: str) -> NumberAccount:
        found = self.numbers.get(phone_number_id)
        if found is None:
            found = self.numbers[phone_number_id] = NumberAccount()
        return found

    def phone_fields(self, phone_number_id: str, fields: str) -> dict[str, Any]:
        """The answer to ``GET /{phone_number_id}?fields=…`` (and a recorded read)."""
        number = self.number(phone_number_id)
        self.reads.append(
            CapacityRead(time.monotonic(), phone_number_id, number.throughput, self.messaging_limit)
        )
        if self._read_made is not None:
            self._read_made.set()
            self._read_made = None
        known: dict[str, Any] = {
            "throughput": {"level": number.throughput},
            "whatsapp_business_manager_messaging_limit": self.messaging_limit,
            "quality_rating": number.quality,
            "is_on_biz_app": number.on_business_app,
            "display_phone_number": self.display_phone_number,
            "platform_type": "CLOUD_API",
        }
        asked = [f.strip() for f in fields.split(",") if f.strip()] or list(known)
        answer = {name: known[name] for name in asked if name in known}
        answer["id"] = phone_number_id
        return answer

    def allow(self, phone_number_id: str, now: float, standard: ThroughputLimiter) -> bool:
        """130429 bookkeeping at the number's level: ``standard`` (the configured
        rate) for STANDARD, 1,000/s for HIGH, 20/s on the Business app."""
        number = self.number(phone_number_id)
        rate = _BUSINESS_APP_RATE if number.on_business_app else _LEVEL_RATES.get(number.throughput)
        if rate is None:
            return standard.allow(phone_number_id, now)
        limiter = self._limiters.get(rate)
        if limiter is None:
            limiter = self._limiters[rate] = ThroughputLimiter(rate)
        return limiter.allow(phone_number_id, now)

    def update(
        self,
        phone_number_id: str,
        *,
        throughput: str | None = None,
        quality: str | None = None,
        on_business_app: bool | None = None,
        messaging_limit: str | None = None,
    ) -> None:
        """Change the account as Meta would, with the webhooks Meta sends for it;
        ``ValueError`` (nothing changed) for an unknown level, rating or tier."""
        if throughput is not None and throughput not in THROUGHPUT_LEVELS:
            raise ValueError(f"throughput must be one of {', '.join(THROUGHPUT_LEVELS)}")
        if quality is not None and quality not in QUALITY_RATINGS:
            raise ValueError(f"quality must be one of {', '.join(QUALITY_RATINGS)}")
        if messaging_limit is not None and messaging_limit not in TIER_LIMITS:
            raise ValueError(f"messaging_limit must be one of {', '.join(TIER_LIMITS)}")
        number = self.number(phone_number_id)
        if on_business_app is not None:
            number.on_business_app = on_business_app
        if quality is not None:
            number.quality = quality
        if throughput is not None and throughput != number.throughput:
            number.throughput = throughput
            if throughput == "HIGH":
                self.emit(
                    "phone_number_quality_update",
                    phone_quality_value(
                        self.display_phone_number,
                        "THROUGHPUT_UPGRADE",
                        current_limit="TIER_UNLIMITED",
                        max_daily=self.messaging_limit,
                    ),
                )
        if messaging_limit is not None and messaging_limit != self.messaging_limit:
            self.messaging_limit = messaging_limit
            self.emit("business_capability_update", capability_value(TIER_LIMITS[messaging_limit]))

    async def wait_read(
        self, matches: Callable[[CapacityRead], bool], after: int = 0
    ) -> CapacityRead:
        """The first read past the ``after``-th that ``matches``; waits (on the
        reads, not on time) until one is made."""
        while True:
            for read in self.reads[after:]:
                if matches(read):
                    return read
            after = len(self.reads)
            if self._read_made is None:
                self._read_made = asyncio.Event()
            await self._read_made.wait()

    def reset(self) -> None:
        self.numbers.clear()
        self.reads.clear()
        self._limiters.clear()
        self.messaging_limit = self._start_limit
