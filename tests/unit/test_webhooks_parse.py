"""Webhook deliveries parse into every event they carry (SPEC §3.2, §4.3)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import WebhookParseError
from sidecar.whatsapp.webhooks import (
    MAX_EVENTS,
    InboundMessage,
    PreferenceUpdate,
    StatusError,
    StatusUpdate,
    SystemError,
    TemplateStatusUpdate,
    parse_delivery,
)

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
PHONE_ID = "106540352242922"
DISPLAY = "15550783881"
WABA = "102290129340398"
USER = "16505551234"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sample(name))
    return doc


def encode(doc: object) -> bytes:
    return json.dumps(doc).encode()


def delivery(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def messages_change(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY, "phone_number_id": PHONE_ID},
    }
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"field": "messages", "value": value}


def text_message(wamid: str, body: str = "hi", ts: str = "1749416383") -> dict[str, Any]:
    return {"from": USER, "id": wamid, "timestamp": ts, "type": "text", "text": {"body": body}}


def status(wamid: str, state: str = "delivered") -> dict[str, Any]:
    return {"id": wamid, "status": state, "timestamp": "1750030073", "recipient_id": USER}


# --- every recorded sample -------------------------------------------------


def test_text_message_sample_gives_body_sender_and_contact_name() -> None:
    assert parse_delivery(sample("inbound_text_message.json")) == [
        InboundMessage(
            from_number=USER,
            id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            timestamp=1749416383,
            type="text",
            text="Does it come in another color?",
            button_payload="",
            button_text="",
            phone_number_id=PHONE_ID,
            display_phone_number=DISPLAY,
            context_id="",
            contact_name="Sheena Nelson",
            waba_id=WABA,
        )
    ]


@pytest.mark.parametrize(
    ("name", "payload", "label", "kind"),
    [
        ("inbound_interactive_button_reply.json", "cancel-button", "Cancel", "interactive"),
        (
            "inbound_interactive_list_reply.json",
            "priority_express",
            "Priority Mail Express",
            "interactive",
        ),
        ("inbound_template_quick_reply_button.json", "Unsubscribe", "Unsubscribe", "button"),
    ],
)
def test_reply_samples_give_payload_title_and_context(
    name: str, payload: str, label: str, kind: str
) -> None:
    [event] = parse_delivery(sample(name))
    assert isinstance(event, InboundMessage)
    assert (event.type, event.button_payload, event.button_text) == (kind, payload, label)
    assert event.text == ""
    assert event.context_id.startswith("wamid.")
    assert (event.from_number, event.contact_name) == (USER, "Sheena Nelson")
    assert (event.phone_number_id, event.display_phone_number, event.waba_id) == (
        PHONE_ID,
        DISPLAY,
        WABA,
    )


def test_sent_status_sample_keeps_pricing_category() -> None:
    [event] = parse_delivery(sample("status_sent.json"))
    assert event == StatusUpdate(
        id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
        status="sent",
        recipient_id=USER,
        timestamp=1750030073,
        errors=(),
        callback_data="",
        phone_number_id=PHONE_ID,
        pricing_category="marketing",
        waba_id=WABA,
    )


def test_v24_status_without_conversation_or_pricing_parses() -> None:
    [event] = parse_delivery(sample("status_v24_minimal.json"))
    assert isinstance(event, StatusUpdate)
    assert (event.status, event.pricing_category, event.errors) == ("sent", "", ())


@pytest.mark.parametrize(
    ("name", "code"),
    [("status_failed_131049.json", 131049), ("status_failed_131050_CONSTRUCTED.json", 131050)],
)
def test_failed_status_samples_carry_their_error(name: str, code: int) -> None:
    [event] = parse_delivery(sample(name))
    assert isinstance(event, StatusUpdate)
    assert event.status == "failed"
    [error] = event.errors
    assert isinstance(error, StatusError)
    assert error.code == code
    assert error.title and error.message and error.details
    assert event.dedup_key == f"s:{event.id}:failed"


@pytest.mark.parametrize(
    ("name", "value", "timestamp"),
    [
        ("user_preferences_stop_CONSTRUCTED.json", "stop", 1739321024),
        ("user_preferences_resume.json", "resume", 1731705721),
    ],
)
def test_user_preferences_stop_and_resume(name: str, value: str, timestamp: int) -> None:
    [event] = parse_delivery(sample(name))
    assert event == PreferenceUpdate(
        wa_id=USER,
        category="marketing_messages",
        value=value,
        timestamp=timestamp,
        detail=f"User requested to {value} marketing messages",
        phone_number_id=PHONE_ID,
        waba_id=WABA,
    )
    assert event.dedup_key == f"p:{USER}:marketing_messages:{value}:{timestamp}"


def test_errors_webhook_130429_is_a_system_error() -> None:
    [event] = parse_delivery(sample("errors_webhook_130429.json"))
    assert isinstance(event, SystemError)
    assert (event.code, event.title, event.phone_number_id, event.waba_id) == (
        130429,
        "Rate limit hit",
        PHONE_ID,
        WABA,
    )
    assert event.details.startswith("Message failed to send")
    assert event.dedup_key.startswith("e:")


def test_every_sample_webhook_parses_to_at_least_one_event() -> None:
    webhooks = [p for p in SAMPLES.glob("*.json") if p.name != "signature_test_vectors.json"]
    assert len(webhooks) == 19
    for path in webhooks:
        assert parse_delivery(path.read_bytes()), path.name


# --- batching: every entry x change x item, in order ------------------------


def test_batched_delivery_yields_every_event_in_order() -> None:
    entries = []
    expected = []
    for e in range(3):
        changes = []
        for c in range(2):
            messages = [text_message(f"wamid.m{e}{c}{i}", body=f"b{e}{c}{i}") for i in range(3)]
            statuses = [status(f"wamid.s{e}{c}{i}") for i in range(2)]
            changes.append(messages_change(messages, statuses))
            expected += [f"m:wamid.m{e}{c}{i}" for i in range(3)]
            expected += [f"s:wamid.s{e}{c}{i}:delivered" for i in range(2)]
        entries.append({"id": f"waba{e}", "changes": changes})
    events = parse_delivery(encode(delivery(*entries)))
    assert [event.dedup_key for event in events] == expected
    assert [event.waba_id for event in events] == [f"waba{e}" for e in range(3) for _ in range(10)]


def test_mixed_fields_in_one_delivery_all_parse_and_unknown_fields_are_skipped() -> None:
    prefs = sample_doc("user_preferences_stop_CONSTRUCTED.json")["entry"][0]["changes"][0]
    errors = sample_doc("errors_webhook_130429.json")["entry"][0]["changes"][0]
    template = {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    odd = {"field": "phone_number_name_update", "value": ["not", "an", "object"]}
    doc = delivery(
        {"id": WABA, "changes": [template, messages_change([text_message("wamid.a")]), odd]},
        {"id": WABA, "changes": [prefs, errors]},
    )
    kinds = [type(event) for event in parse_delivery(encode(doc))]
    assert kinds == [
        TemplateStatusUpdate,
        InboundMessage,
        PreferenceUpdate,
        SystemError,
    ]


def test_thousand_event_batch_parses() -> None:
    messages = [text_message(f"wamid.{i:04d}") for i in range(500)]
    statuses = [status(f"wamid.{i:04d}", "read") for i in range(500)]
    events = parse_delivery(
        encode(delivery({"id": WABA, "changes": [messages_change(messages, statuses)]}))
    )
    assert len(events) == 1000
    assert len({event.dedup_key for event in events}) == 1000


def test_more_events_than_the_cap_is_rejected() -> None:
    doc = delivery({"id": WABA, "changes": [messages_change([text_message("w")] * 11)]})
    with pytest.raises(WebhookParseError, match="more than 10 events"):
        parse_delivery(encode(doc), max_events=10)
    too_many = [status(f"w{i}") for i in range(MAX_EVENTS + 1)]
    with pytest.raises(WebhookParseError):
        parse_delivery(encode(delivery({"id": WABA, "changes": [messages_change([], too_many)]})))


# --- dedup keys ------------------------------------------------------------


def test_dedup_keys_are_distinct_per_event_and_stable_across_parses() -> None:
    body = encode(
        delivery(
            {
                "id": WABA,
                "changes": [
                    messages_change(
                        [text_message("wamid.A"), text_message("wamid.B")],
                        [status("wamid.A", "sent"), status("wamid.A", "delivered")],
                    )
                ],
            }
        )
    )
    first = [event.dedup_key for event in parse_delivery(body)]
    assert first == ["m:wamid.A", "m:wamid.B", "s:wamid.A:sent", "s:wamid.A:delivered"]
    assert [event.dedup_key for event in parse_delivery(body)] == first


def test_system_error_key_depends_on_entry_time_and_content() -> None:
    doc = sample_doc("errors_webhook_130429.json")
    [plain] = parse_delivery(encode(doc))
    assert parse_delivery(encode(doc))[0].dedup_key == plain.dedup_key
    later = copy.deepcopy(doc)
    later["entry"][0]["time"] = 1750000000
    [timed] = parse_delivery(encode(later))
    assert isinstance(timed, SystemError) and timed.entry_time == 1750000000
    other = copy.deepcopy(doc)
    other["entry"][0]["changes"][0]["value"]["errors"][0]["code"] = 131000
    keys = {plain.dedup_key, timed.dedup_key, parse_delivery(encode(other))[0].dedup_key}
    assert len(keys) == 3


# --- message kinds and lenient fields --------------------------------------


def test_unknown_message_type_keeps_type_and_id_without_text() -> None:
    image = {"from": USER, "id": "wamid.img", "timestamp": "1", "type": "image",
             "image": {"id": "media-id", "caption": "STOP"}}  # fmt: skip
    [event] = parse_delivery(encode(delivery({"changes": [messages_change([image])]})))
    assert isinstance(event, InboundMessage)
    assert (event.type, event.id, event.text, event.button_payload) == (
        "image",
        "wamid.img",
        "",
        "",
    )
    assert event.waba_id == ""


def test_contact_name_follows_wa_id_and_a_lone_contact_names_a_mismatched_sender() -> None:
    change = messages_change([text_message("wamid.1"), {**text_message("wamid.2"), "from": "521"}])
    change["value"]["contacts"] = [
        {"profile": {"name": "Ana"}, "wa_id": USER},
        {"profile": {"name": "Bo"}, "wa_id": "5215"},
    ]
    first, second = parse_delivery(encode(delivery({"changes": [change]})))
    assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
    assert (first.contact_name, second.contact_name) == ("Ana", "")
    change["value"]["contacts"] = [{"profile": {"name": "Bo"}, "wa_id": "5215"}]
    [_, lone] = parse_delivery(encode(delivery({"changes": [change]})))
    assert isinstance(lone, InboundMessage) and lone.contact_name == "Bo"


def test_callback_data_is_echoed_from_biz_opaque_callback_data() -> None:
    sent = {**status("wamid.x", "sent"), "biz_opaque_callback_data": "idem-42"}
    [event] = parse_delivery(encode(delivery({"changes": [messages_change([], [sent])]})))
    assert isinstance(event, StatusUpdate) and event.callback_data == "idem-42"


def test_integer_and_string_timestamps_are_both_unix_seconds() -> None:
    doc = delivery({"changes": [messages_change([text_message("w", ts="0017")])]})
    [message] = parse_delivery(encode(doc))
    assert isinstance(message, InboundMessage) and message.timestamp == 17
    prefs = sample_doc("user_preferences_resume.json")
    prefs["entry"][0]["changes"][0]["value"]["user_preferences"][0]["timestamp"] = "1731705721"
    [preference] = parse_delivery(encode(prefs))
    assert isinstance(preference, PreferenceUpdate) and preference.timestamp == 1731705721


def test_escaped_non_ascii_text_is_decoded() -> None:
    body = encode(
        delivery({"changes": [messages_change([text_message("w", body="caf\u00e9 \u9000\u8ba2")])]})
    )
    assert b"\\u00e9" in body
    [event] = parse_delivery(body)
    assert isinstance(event, InboundMessage) and event.text == "café 退订"


# --- malformed deliveries --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[]", "expected a JSON object"),
        (b'"whatsapp_business_account"', "expected a JSON object"),
        (b'{"object": "page", "entry": []}', "object"),
        (b'{"entry": []}', "object"),
        (b'{"object": "whatsapp_business_account"}', "entry"),
        (b'{"object": "whatsapp_business_account", "entry": {}}', "entry"),
        (b'{"object": "whatsapp_business_account", "entry": [1]}', "entry[]"),
        (b'{"object": "whatsapp_business_account", "entry": [], "x": NaN}', "not valid JSON"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(body: bytes, problem: str) -> None:
    with pytest.raises(WebhookParseError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_delivery(body)


def _with(path: tuple[Any, ...], value: object, name: str = "inbound_text_message.json") -> bytes:
    doc = sample_doc(name)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return encode(doc)


MESSAGE = ("entry", 0, "changes", 0, "value", "messages", 0)
STATUS = ("entry", 0, "changes", 0, "value", "statuses", 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_with((*MESSAGE, "timestamp"), "17x"), "messages[].timestamp"),
        (_with((*MESSAGE, "timestamp"), "-1"), "messages[].timestamp"),
        (_with((*MESSAGE, "timestamp"), "\u0661\u0662"), "messages[].timestamp"),
        (_with((*MESSAGE, "timestamp"), 1.5), "messages[].timestamp"),
        (_with((*MESSAGE, "timestamp"), True), "messages[].timestamp"),
        (_with((*MESSAGE, "timestamp"), 10**30), "messages[].timestamp"),
        (_with((*MESSAGE, "timestamp"), "9" * 40), "messages[].timestamp"),
        (_with((*MESSAGE, "id"), ""), "messages[].id"),
        (_with((*MESSAGE, "id"), 7), "messages[].id"),
        (_with((*MESSAGE, "text"), "hi"), "messages[].text"),
        (_with((*MESSAGE, "text", "body"), ["hi"]), "messages[].text.body"),
        (_with(("entry", 0, "changes", 0, "value", "messages"), {}), "value.messages"),
        (_with(("entry", 0, "changes", 0, "value", "metadata"), "x"), "value.metadata"),
        (_with(("entry", 0, "changes", 0, "field"), None), "changes[].field"),
        (_with(("entry", 0, "changes", 0, "value"), []), "changes[].value"),
        (_with(("entry", 0, "id"), 102290129340398), "entry[].id"),
        (_with((*STATUS, "errors", 0, "code"), "131049", "status_failed_131049.json"), "code"),
        (_with((*STATUS, "errors", 0, "code"), 2**31, "status_failed_131049.json"), "code"),
        (_with((*STATUS, "status"), None, "status_sent.json"), "statuses[].status"),
    ],
)
def test_wrong_types_name_the_field_but_not_its_content(body: bytes, field: str) -> None:
    with pytest.raises(WebhookParseError) as caught:
        parse_delivery(body)
    message = str(caught.value)
    assert message.startswith(field) or f".{field}" in message
    assert USER not in message and "Sheena" not in message


def test_lone_surrogate_in_text_is_rejected() -> None:
    body = _with((*MESSAGE, "text", "body"), "x").replace(b'"x"', b'"\\ud800"')
    with pytest.raises(WebhookParseError, match="Unicode"):
        parse_delivery(body)


def test_empty_entry_list_is_an_empty_delivery() -> None:
    assert parse_delivery(b'{"object": "whatsapp_business_account", "entry": []}') == []
