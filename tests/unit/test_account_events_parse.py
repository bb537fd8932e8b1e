"""Account webhooks parse into typed events with stable dedup keys (issue 16)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import WebhookParseError
from sidecar.whatsapp.webhooks import (
    AccountAlert,
    CapabilityUpdate,
    PhoneQualityUpdate,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
    parse_delivery,
)

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
WABA = "102290129340398"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def change(field: str, value: object, time: object = 1739321024) -> bytes:
    entry: dict[str, Any] = {"id": WABA, "changes": [{"field": field, "value": value}]}
    if time is not None:
        entry["time"] = time
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def test_approved_template_gives_id_name_category_and_entry_time() -> None:
    assert parse_delivery(sample("template_status_approved_CONSTRUCTED.json")) == [
        TemplateStatusUpdate(
            template_id="1689556908129832",
            name="order_confirmation",
            language="en-US",
            event="APPROVED",
            reason="NONE",
            category="UTILITY",
            title="",
            description="",
            disable_date=0,
            waba_id=WABA,
            entry_time=1739321024,
        )
    ]


def test_rejected_template_keeps_the_reason_and_the_rejection_info() -> None:
    [event] = parse_delivery(sample("template_status_rejected_CONSTRUCTED.json"))
    assert isinstance(event, TemplateStatusUpdate)
    assert (event.event, event.reason, event.category) == (
        "REJECTED",
        "INVALID_FORMAT",
        "MARKETING",
    )
    assert event.title.startswith("Variable parameters")
    assert event.description.startswith("Check that variables")


def test_paused_template_keeps_the_pause_title_and_disabled_its_date() -> None:
    [paused] = parse_delivery(sample("template_status_paused_CONSTRUCTED.json"))
    [disabled] = parse_delivery(sample("template_status_disabled_CONSTRUCTED.json"))
    assert isinstance(paused, TemplateStatusUpdate) and isinstance(disabled, TemplateStatusUpdate)
    assert (paused.event, paused.title) == ("PAUSED", "FIRST_PAUSE")
    assert "paused for 3 hours" in paused.description
    assert (disabled.event, disabled.disable_date) == ("DISABLED", 1751234563)


def test_category_change_gives_previous_and_new() -> None:
    [event] = parse_delivery(sample("template_category_update_CONSTRUCTED.json"))
    assert event == TemplateCategoryUpdate(
        template_id="1689556908129832",
        name="order_confirmation",
        language="en-US",
        previous_category="UTILITY",
        new_category="MARKETING",
        correct_category="",
        effective_at=0,
        waba_id=WABA,
        entry_time=1739321024,
    )


def test_impending_category_change_gives_the_correct_category_and_when() -> None:
    value = {
        "message_template_id": "12",
        "message_template_name": "promo",
        "message_template_language": "en",
        "correct_category": "MARKETING",
        "new_category": "UTILITY",
        "category_update_timestamp": 1740000000,
    }
    [event] = parse_delivery(change("template_category_update", value))
    assert isinstance(event, TemplateCategoryUpdate)
    assert (event.correct_category, event.effective_at) == ("MARKETING", 1740000000)


def test_throughput_upgrade_sample_parses() -> None:
    assert parse_delivery(sample("phone_number_quality_update_throughput_upgrade.json")) == [
        PhoneQualityUpdate(
            display_phone_number="15550783881",
            event="THROUGHPUT_UPGRADE",
            current_limit="TIER_UNLIMITED",
            old_limit="",
            max_daily="",
            waba_id=WABA,
            entry_time=1748454394,
        )
    ]


@pytest.mark.parametrize("limit", ["TIER_2K", 2000, -1])
def test_quality_update_takes_the_portfolio_limit_as_a_tier_or_a_number(limit: object) -> None:
    value = {"display_phone_number": "15550783881", "event": "UPGRADE"}
    value["max_daily_conversations_per_business"] = limit  # type: ignore[assignment]
    [event] = parse_delivery(change("phone_number_quality_update", value))
    assert isinstance(event, PhoneQualityUpdate)
    assert event.max_daily == str(limit)


def test_capability_update_gives_the_portfolio_limit() -> None:
    [event] = parse_delivery(sample("business_capability_update_CONSTRUCTED.json"))
    assert event == CapabilityUpdate(
        max_daily_per_business=2000,
        max_daily_per_phone=2000,
        max_phone_numbers_per_business=2,
        max_phone_numbers_per_waba=2,
        waba_id=WABA,
        entry_time=1739321024,
    )
    [unlimited] = parse_delivery(
        change("business_capability_update", {"max_daily_conversations_per_business": "-1"})
    )
    assert isinstance(unlimited, CapabilityUpdate)
    assert (unlimited.max_daily_per_business, unlimited.max_daily_per_phone) == (-1, 0)


def test_account_alert_gives_severity_type_and_entity() -> None:
    [event] = parse_delivery(sample("account_alerts_CONSTRUCTED.json"))
    assert isinstance(event, AccountAlert)
    assert (event.entity_type, event.severity, event.status, event.type) == (
        "BUSINESS",
        "WARNING",
        "ACTIVE",
        "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED",
    )


def test_a_redelivery_has_the_same_key_and_a_later_change_another() -> None:
    body = sample("template_status_approved_CONSTRUCTED.json")
    later = json.loads(body)
    later["entry"][0]["time"] += 60
    [first], [again], [second] = (
        parse_delivery(body),
        parse_delivery(body),
        parse_delivery(json.dumps(later).encode()),
    )
    assert first.dedup_key == again.dedup_key
    assert first.dedup_key != second.dedup_key
    assert first.dedup_key.startswith("t:")


def test_every_account_field_in_one_delivery_gives_one_event_each_in_order() -> None:
    names = [
        "template_status_approved_CONSTRUCTED.json",
        "template_category_update_CONSTRUCTED.json",
        "phone_number_quality_update_throughput_upgrade.json",
        "business_capability_update_CONSTRUCTED.json",
        "account_alerts_CONSTRUCTED.json",
    ]
    changes = [json.loads(sample(n))["entry"][0]["changes"][0] for n in names]
    doc = {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": changes}]}
    kinds = [type(e) for e in parse_delivery(json.dumps(doc).encode())]
    assert kinds == [
        TemplateStatusUpdate,
        TemplateCategoryUpdate,
        PhoneQualityUpdate,
        CapabilityUpdate,
        AccountAlert,
    ]


@pytest.mark.parametrize(
    ("field", "path", "bad", "named"),
    [
        ("message_template_status_update", ["event"], 5, "value.event"),
        ("message_template_status_update", ["event"], "", "value.event"),
        ("message_template_status_update", ["message_template_id"], 1.5, "message_template_id"),
        ("message_template_status_update", ["other_info"], "x", "value.other_info"),
        ("business_capability_update", ["max_daily_conversations_per_business"], "lots", "max_"),
        ("business_capability_update", ["max_daily_conversations_per_business"], -2, "max_"),
        ("account_alerts", ["alert_info"], [], "value.alert_info"),
        ("account_alerts", ["alert_info", "alert_type"], 7, "alert_type"),
    ],
)
def test_wrong_types_are_rejected_naming_the_field(
    field: str, path: list[str], bad: object, named: str
) -> None:
    base = {
        "message_template_status_update": "template_status_paused_CONSTRUCTED.json",
        "business_capability_update": "business_capability_update_CONSTRUCTED.json",
        "account_alerts": "account_alerts_CONSTRUCTED.json",
    }[field]
    doc = json.loads(sample(base))
    value = copy.deepcopy(doc["entry"][0]["changes"][0]["value"])
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    with pytest.raises(WebhookParseError, match=named):
        parse_delivery(change(field, value))


def test_an_account_change_whose_value_is_no_object_is_rejected() -> None:
    with pytest.raises(WebhookParseError, match=re.escape("changes[].value")):
        parse_delivery(change("account_alerts", ["not", "an", "object"]))


def test_an_account_change_without_entry_time_keys_on_its_content() -> None:
    value = json.loads(sample("account_alerts_CONSTRUCTED.json"))["entry"][0]["changes"][0]
    [event] = parse_delivery(change("account_alerts", value["value"], time=None))
    assert event.entry_time == 0
