"""The simulated account's webhooks: the ``value`` of each account change.

Shaped as Meta's webhook references show them (``whatsapp/account_events.py``
names the pages). ``SimulatorState.emit_account_change`` queues one; the
control API's ``POST /_sim/account_events`` takes a field and a value as-is.

    value = template_status_value("1689556908129832", "order_update", "REJECTED",
                                  category="UTILITY", reason="INVALID_FORMAT")
    state.emit_account_change("message_template_status_update", value)
"""

from __future__ import annotations

from typing import Any

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
