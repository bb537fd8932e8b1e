"""Webhook deliveries (raw bytes) → typed domain events.

A delivery is ``{"object": "whatsapp_business_account", "entry": [...]}``; every
``entry[]`` and ``changes[]`` may carry several ``messages[]``, ``statuses[]``,
``errors[]`` or ``user_preferences[]``, and Meta batches up to 1,000 updates in
one POST, so every list is walked to the end. The account fields
(``message_template_status_update``, ``phone_number_quality_update`` …) give one
event per change (``whatsapp/account_events.py``); other fields are skipped.

Anything malformed raises :class:`~sidecar.errors.WebhookParseError` with a
message that names the field but never its content; no other exception
escapes. Absent optional strings become ``""`` (as in the proto).

    >>> events = parse_delivery(raw_body)
    >>> [event.dedup_key for event in events]
    ['m:wamid.HBgL...', 's:wamid.HBgL...:delivered']
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

from sidecar.errors import WebhookParseError
from sidecar.whatsapp.account_events import (
    ACCOUNT_FIELDS,
    AccountAlert,
    AccountEvent,
    CapabilityUpdate,
    PhoneQualityUpdate,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
    parse_account_change,
)
from sidecar.whatsapp.payload import (
    fail,
    read_code,
    read_list,
    read_obj,
    read_str,
    read_timestamp,
    read_value,
)

__all__ = [
    "MAX_EVENTS",
    "AccountAlert",
    "AccountEvent",
    "CapabilityUpdate",
    "Event",
    "InboundMessage",
    "PhoneQualityUpdate",
    "PreferenceUpdate",
    "StatusError",
    "StatusUpdate",
    "SystemError",
    "TemplateCategoryUpdate",
    "TemplateStatusUpdate",
    "parse_delivery",
]

OBJECT = "whatsapp_business_account"
MAX_EVENTS = 5_000
"""Meta batches at most 1,000 updates; anything far beyond that is not Meta."""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a user sent to the business (``messages[]``)."""

    from_number: str
    id: str
    timestamp: int
    type: str
    text: str
    button_payload: str
    button_text: str
    phone_number_id: str
    display_phone_number: str
    context_id: str
    contact_name: str
    waba_id: str

    @property
    def dedup_key(self) -> str:
        return f"m:{self.id}"


@dataclass(frozen=True, slots=True)
class StatusError:
    """One ``errors[]`` item of a failed status."""

    code: int
    title: str
    message: str
    details: str


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of an outgoing message (``statuses[]``)."""

    id: str
    status: str
    recipient_id: str
    timestamp: int
    errors: tuple[StatusError, ...]
    callback_data: str
    phone_number_id: str
    pricing_category: str
    waba_id: str

    @property
    def dedup_key(self) -> str:
        # One wamid goes through sent → delivered → read; each is its own event.
        return f"s:{self.id}:{self.status}"


@dataclass(frozen=True, slots=True)
class PreferenceUpdate:
    """A marketing stop/resume from ``user_preferences[]``."""

    wa_id: str
    category: str
    value: str
    timestamp: int
    detail: str
    phone_number_id: str
    waba_id: str

    @property
    def dedup_key(self) -> str:
        return f"p:{self.wa_id}:{self.category}:{self.value}:{self.timestamp}"


@dataclass(frozen=True, slots=True)
class SystemError:
    """A system- or app-level ``value.errors[]`` item (e.g. 130429).

    Named after the proto message ``wasidecar.v1.SystemError``; it shadows the
    builtin of that name only where it is imported.

    ``entry_time`` is ``entry[].time`` when Meta sends it, else 0.
    """

    code: int
    title: str
    message: str
    details: str
    phone_number_id: str
    waba_id: str
    entry_time: int = 0

    @property
    def dedup_key(self) -> str:
        # Meta gives these no id; identical errors in the same entry second
        # are the same event, and without an entry time they collapse.
        fields = [
            self.code,
            self.title,
            self.message,
            self.details,
            self.phone_number_id,
            self.waba_id,
            self.entry_time,
        ]
        digest = hashlib.sha256(json.dumps(fields).encode()).hexdigest()
        return f"e:{digest[:32]}"


Event: TypeAlias = InboundMessage | StatusUpdate | PreferenceUpdate | SystemError | AccountEvent


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads(..., parse_constant=...) would build a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_delivery(body: bytes, *, max_events: int = MAX_EVENTS) -> list[Event]:
    """Every event of one webhook POST body, in delivery order."""
    try:
        doc = _DECODER.decode(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise WebhookParseError("body is not valid UTF-8") from None
    except (ValueError, RecursionError):
        # RecursionError: the C scanner's answer to very deep nesting.
        raise WebhookParseError("body is not valid JSON") from None
    if type(doc) is not dict:
        fail("body", "expected a JSON object")
    if doc.get("object") != OBJECT:
        fail("object", f"expected {OBJECT!r}")
    events: list[Event] = []
    for entry in read_list(doc, "entry", "entry", required=True):
        if type(entry) is not dict:
            fail("entry[]", "expected an object")
        waba_id = read_str(entry, "id", "entry[].id")
        for change in read_list(entry, "changes", "entry[].changes"):
            if type(change) is not dict:
                fail("changes[]", "expected an object")
            field = change.get("field")
            if type(field) is not str:
                fail("changes[].field", "expected a string")
            if field == "messages":
                value = read_value(change)
                phone_id, display = _metadata(value)
                messages = read_list(value, "messages", "value.messages")
                statuses = read_list(value, "statuses", "value.statuses")
                errors = read_list(value, "errors", "value.errors")
                if len(events) + len(messages) + len(statuses) + len(errors) > max_events:
                    fail("delivery", f"more than {max_events} events")
                if messages:
                    names, only_name = _contact_names(value)
                    for item in messages:
                        events.append(
                            _inbound(
                                item, phone_id, display, waba_id, names=names, only_name=only_name
                            )
                        )
                for item in statuses:
                    events.append(_status(item, phone_id, waba_id))
                if errors:
                    entry_time = read_timestamp(entry, "time", "entry[].time", required=False)
                    for item in errors:
                        events.append(_system_error(item, phone_id, waba_id, entry_time))
            elif field == "user_preferences":
                value = read_value(change)
                phone_id, _ = _metadata(value)
                prefs = read_list(value, "user_preferences", "value.user_preferences")
                if len(events) + len(prefs) > max_events:
                    fail("delivery", f"more than {max_events} events")
                for item in prefs:
                    events.append(_preference(item, phone_id, waba_id))
            elif field in ACCOUNT_FIELDS:
                if len(events) >= max_events:
                    fail("delivery", f"more than {max_events} events")
                entry_time = read_timestamp(entry, "time", "entry[].time", required=False)
                events.append(
                    parse_account_change(
                        field, read_value(change), waba_id=waba_id, entry_time=entry_time
                    )
                )
    return events


def _inbound(
    item: object,
    phone_id: str,
    display: str,
    waba_id: str,
    *,
    names: dict[str, str],
    only_name: str,
) -> InboundMessage:
    if type(item) is not dict:
        fail("messages[]", "expected an object")
    kind = read_str(item, "type", "messages[].type")
    text = payload = label = ""
    if kind == "text":
        body = read_obj(item, "text", "messages[].text")
        if body is not None:
            text = read_str(body, "body", "messages[].text.body")
    elif kind == "interactive":
        interactive = read_obj(item, "interactive", "messages[].interactive")
        if interactive is not None:
            reply_kind = read_str(interactive, "type", "messages[].interactive.type")
            if reply_kind in ("button_reply", "list_reply"):
                where = f"messages[].interactive.{reply_kind}"
                reply = read_obj(interactive, reply_kind, where)
                if reply is not None:
                    payload = read_str(reply, "id", where + ".id")
                    label = read_str(reply, "title", where + ".title")
    elif kind == "button":
        button = read_obj(item, "button", "messages[].button")
        if button is not None:
            payload = read_str(button, "payload", "messages[].button.payload")
            label = read_str(button, "text", "messages[].button.text")
    context = read_obj(item, "context", "messages[].context")
    sender = read_str(item, "from", "messages[].from")
    return InboundMessage(
        from_number=sender,
        id=read_str(item, "id", "messages[].id", required=True),
        timestamp=read_timestamp(item, "timestamp", "messages[].timestamp"),
        type=kind,
        text=text,
        button_payload=payload,
        button_text=label,
        phone_number_id=phone_id,
        display_phone_number=display,
        context_id="" if context is None else read_str(context, "id", "messages[].context.id"),
        # wa_id and `from` "may not always match"; a lone contact is the sender.
        contact_name=names.get(sender, only_name),
        waba_id=waba_id,
    )


def _status(item: object, phone_id: str, waba_id: str) -> StatusUpdate:
    if type(item) is not dict:
        fail("statuses[]", "expected an object")
    errors: tuple[StatusError, ...] = ()
    raw_errors = read_list(item, "errors", "statuses[].errors")
    if raw_errors:
        errors = tuple(_status_error(raw, "statuses[].errors[]") for raw in raw_errors)
    pricing = read_obj(item, "pricing", "statuses[].pricing")
    return StatusUpdate(
        id=read_str(item, "id", "statuses[].id", required=True),
        status=read_str(item, "status", "statuses[].status", required=True),
        recipient_id=read_str(item, "recipient_id", "statuses[].recipient_id"),
        timestamp=read_timestamp(item, "timestamp", "statuses[].timestamp"),
        errors=errors,
        callback_data=read_str(
            item, "biz_opaque_callback_data", "statuses[].biz_opaque_callback_data"
        ),
        phone_number_id=phone_id,
        pricing_category=(
            "" if pricing is None else read_str(pricing, "category", "statuses[].pricing.category")
        ),
        waba_id=waba_id,
    )


def _status_error(item: object, where: str) -> StatusError:
    if type(item) is not dict:
        fail(where, "expected an object")
    data = read_obj(item, "error_data", where + ".error_data")
    return StatusError(
        code=read_code(item, where + ".code"),
        title=read_str(item, "title", where + ".title"),
        message=read_str(item, "message", where + ".message"),
        details="" if data is None else read_str(data, "details", where + ".error_data.details"),
    )


def _system_error(item: object, phone_id: str, waba_id: str, entry_time: int) -> SystemError:
    error = _status_error(item, "value.errors[]")
    return SystemError(
        code=error.code,
        title=error.title,
        message=error.message,
        details=error.details,
        phone_number_id=phone_id,
        waba_id=waba_id,
        entry_time=entry_time,
    )


def _preference(item: object, phone_id: str, waba_id: str) -> PreferenceUpdate:
    if type(item) is not dict:
        fail("user_preferences[]", "expected an object")
    return PreferenceUpdate(
        wa_id=read_str(item, "wa_id", "user_preferences[].wa_id", required=True),
        category=read_str(item, "category", "user_preferences[].category", required=True),
        value=read_str(item, "value", "user_preferences[].value", required=True),
        timestamp=read_timestamp(item, "timestamp", "user_preferences[].timestamp"),
        detail=read_str(item, "detail", "user_preferences[].detail"),
        phone_number_id=phone_id,
        waba_id=waba_id,
    )


def _metadata(value: dict[str, Any]) -> tuple[str, str]:
    meta = read_obj(value, "metadata", "value.metadata")
    if meta is None:
        return "", ""
    return (
        read_str(meta, "phone_number_id", "value.metadata.phone_number_id"),
        read_str(meta, "display_phone_number", "value.metadata.display_phone_number"),
    )


def _contact_names(value: dict[str, Any]) -> tuple[dict[str, str], str]:
    """``wa_id → profile.name``, plus the name when there is exactly one contact."""
    names: dict[str, str] = {}
    name = ""
    contacts = read_list(value, "contacts", "value.contacts")
    for contact in contacts:
        if type(contact) is not dict:
            fail("value.contacts[]", "expected an object")
        profile = read_obj(contact, "profile", "value.contacts[].profile")
        name = "" if profile is None else read_str(profile, "name", "value.contacts[].profile.name")
        wa_id = read_str(contact, "wa_id", "value.contacts[].wa_id")
        if wa_id:
            names[wa_id] = name
    return names, name if len(contacts) == 1 else ""
