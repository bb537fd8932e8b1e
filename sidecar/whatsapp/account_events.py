"""Account webhooks (WABA-level changes) → typed events.

Five ``changes[].field`` values that say something about the account rather
than about one message, each shaped as Meta's webhook references describe
(checked against developers.facebook.com/documentation/business-messaging/
whatsapp/webhooks/reference/<field>, 2025-11 to 2026-05):

=================================  ==========================================
field                              event
=================================  ==========================================
``message_template_status_update``  :class:`TemplateStatusUpdate` (APPROVED,
                                    REJECTED with ``reason``, PAUSED with
                                    ``other_info.title``, DISABLED, …)
``template_category_update``        :class:`TemplateCategoryUpdate`
``phone_number_quality_update``     :class:`PhoneQualityUpdate` (``event`` such
                                    as THROUGHPUT_UPGRADE, the limits)
``business_capability_update``      :class:`CapabilityUpdate` (the portfolio's
                                    messaging limit; -1 is unlimited)
``account_alerts``                  :class:`AccountAlert`
=================================  ==========================================

None of them carries an id, so each event's dedup key is a digest of what it
says plus ``entry[].time`` (when Meta triggered it): a re-delivery repeats
both, a new change of the same template differs in time.

    event = parse_account_change("account_alerts", value, waba_id="1", entry_time=1739321024)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, TypeAlias

from sidecar.whatsapp.payload import read_id, read_limit, read_obj, read_str, read_timestamp

ACCOUNT_FIELDS = frozenset(
    {
        "message_template_status_update",
        "template_category_update",
        "phone_number_quality_update",
        "business_capability_update",
        "account_alerts",
    }
)


def _digest_key(prefix: str, event: object) -> str:
    values = [getattr(event, f.name) for f in dataclasses.fields(event)]  # type: ignore[arg-type]
    digest = hashlib.sha256(json.dumps(values).encode()).hexdigest()
    return f"{prefix}:{digest[:32]}"


@dataclass(frozen=True, slots=True)
class TemplateStatusUpdate:
    """A template's review or lifecycle change (``message_template_status_update``).

    ``reason`` is Meta's rejection reason (``NONE`` when there is none);
    ``title``/``description`` come from ``other_info`` (a pause or unpause) or
    ``rejection_info`` (reason and recommendation of an INVALID_FORMAT rejection).
    """

    template_id: str
    name: str
    language: str
    event: str
    reason: str
    category: str
    title: str
    description: str
    disable_date: int
    waba_id: str
    entry_time: int

    @property
    def dedup_key(self) -> str:
        return _digest_key("t", self)


@dataclass(frozen=True, slots=True)
class TemplateCategoryUpdate:
    """A template's category changed (``previous_category`` → ``new_category``) or
    is about to (``correct_category``, effective at ``effective_at``)."""

    template_id: str
    name: str
    language: str
    previous_category: str
    new_category: str
    correct_category: str
    effective_at: int
    waba_id: str
    entry_time: int

    @property
    def dedup_key(self) -> str:
        return _digest_key("c", self)


@dataclass(frozen=True, slots=True)
class PhoneQualityUpdate:
    """A business number's throughput or messaging limit changed
    (``phone_number_quality_update``). It names the number only by its display
    number; ``max_daily`` is the portfolio's limit (``TIER_2K`` …)."""

    display_phone_number: str
    event: str
    current_limit: str
    old_limit: str
    max_daily: str
    waba_id: str
    entry_time: int

    @property
    def dedup_key(self) -> str:
        return _digest_key("q", self)


@dataclass(frozen=True, slots=True)
class CapabilityUpdate:
    """The portfolio's capabilities (``business_capability_update``): the
    messaging limit in unique users per 24 h (-1 unlimited, 0 absent) and how
    many numbers it may have."""

    max_daily_per_business: int
    max_daily_per_phone: int
    max_phone_numbers_per_business: int
    max_phone_numbers_per_waba: int
    waba_id: str
    entry_time: int

    @property
    def dedup_key(self) -> str:
        return _digest_key("b", self)


@dataclass(frozen=True, slots=True)
class AccountAlert:
    """An alert about the business, a number or its limits (``account_alerts``)."""

    entity_type: str
    entity_id: str
    severity: str
    status: str
    type: str
    description: str
    waba_id: str
    entry_time: int

    @property
    def dedup_key(self) -> str:
        return _digest_key("a", self)


AccountEvent: TypeAlias = (
    TemplateStatusUpdate
    | TemplateCategoryUpdate
    | PhoneQualityUpdate
    | CapabilityUpdate
    | AccountAlert
)


def parse_account_change(
    field: str, value: dict[str, Any], *, waba_id: str, entry_time: int
) -> AccountEvent:
    """The event of one account change; ``field`` is one of ``ACCOUNT_FIELDS``."""
    if field == "message_template_status_update":
        return _template_status(value, waba_id, entry_time)
    if field == "template_category_update":
        return TemplateCategoryUpdate(
            template_id=_id(value, "message_template_id"),
            name=_str(value, "message_template_name"),
            language=_str(value, "message_template_language"),
            previous_category=_str(value, "previous_category"),
            new_category=_str(value, "new_category"),
            correct_category=_str(value, "correct_category"),
            effective_at=_time(value, "category_update_timestamp"),
            waba_id=waba_id,
            entry_time=entry_time,
        )
    if field == "phone_number_quality_update":
        return PhoneQualityUpdate(
            display_phone_number=read_str(
                value, "display_phone_number", "value.display_phone_number"
            ),
            event=_str(value, "event"),
            current_limit=_str(value, "current_limit"),
            old_limit=_str(value, "old_limit"),
            max_daily=_tier(value, "max_daily_conversations_per_business"),
            waba_id=waba_id,
            entry_time=entry_time,
        )
    if field == "business_capability_update":
        return CapabilityUpdate(
            max_daily_per_business=_limit(value, "max_daily_conversations_per_business"),
            max_daily_per_phone=_limit(value, "max_daily_conversation_per_phone"),
            max_phone_numbers_per_business=_limit(value, "max_phone_numbers_per_business"),
            max_phone_numbers_per_waba=_limit(value, "max_phone_numbers_per_waba"),
            waba_id=waba_id,
            entry_time=entry_time,
        )
    info = read_obj(value, "alert_info", "value.alert_info") or {}
    return AccountAlert(
        entity_type=_str(value, "entity_type"),
        entity_id=_id(value, "entity_id"),
        severity=read_str(info, "alert_severity", "value.alert_info.alert_severity"),
        status=read_str(info, "alert_status", "value.alert_info.alert_status"),
        type=read_str(info, "alert_type", "value.alert_info.alert_type"),
        description=read_str(info, "alert_description", "value.alert_info.alert_description"),
        waba_id=waba_id,
        entry_time=entry_time,
    )


def _template_status(value: dict[str, Any], waba_id: str, entry_time: int) -> TemplateStatusUpdate:
    other = read_obj(value, "other_info", "value.other_info")
    rejection = read_obj(value, "rejection_info", "value.rejection_info")
    disabled = read_obj(value, "disable_info", "value.disable_info")
    title = description = ""
    if other is not None:
        title = read_str(other, "title", "value.other_info.title")
        description = read_str(other, "description", "value.other_info.description")
    elif rejection is not None:
        title = read_str(rejection, "reason", "value.rejection_info.reason")
        description = read_str(rejection, "recommendation", "value.rejection_info.recommendation")
    return TemplateStatusUpdate(
        template_id=_id(value, "message_template_id"),
        name=_str(value, "message_template_name"),
        language=_str(value, "message_template_language"),
        event=read_str(value, "event", "value.event", required=True),
        # null when the template is scheduled for deletion (Meta's reference)
        reason=_str(value, "reason"),
        category=_str(value, "message_template_category"),
        title=title,
        description=description,
        disable_date=(
            0
            if disabled is None
            else read_timestamp(
                disabled, "disable_date", "value.disable_info.disable_date", required=False
            )
        ),
        waba_id=waba_id,
        entry_time=entry_time,
    )


def _tier(value: dict[str, Any], key: str) -> str:
    """A tier Meta sends as ``"TIER_2K"`` (phone quality) or a number (capability)."""
    raw = value.get(key)
    if type(raw) is int:
        return str(_limit(value, key))
    return _str(value, key)


def _str(value: dict[str, Any], key: str) -> str:
    return read_str(value, key, f"value.{key}")


def _id(value: dict[str, Any], key: str) -> str:
    return read_id(value, key, f"value.{key}")


def _limit(value: dict[str, Any], key: str) -> int:
    return read_limit(value, key, f"value.{key}")


def _time(value: dict[str, Any], key: str) -> int:
    return read_timestamp(value, key, f"value.{key}", required=False)
