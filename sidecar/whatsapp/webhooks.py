"""Webhook deliveries (raw bytes) → typed domain events.

A delivery is ``{"object": "whatsapp_business_account", "entry": [...]}``; every
``entry[]`` and ``changes[]`` may carry several ``messages[]``, ``statuses[]``,
``errors[]`` or ``user_preferences[]``, and Meta batches up to 1,000 updates in
one POST, so every list is walked to the end. Changes for other fields
(``message_template_status_update`` and the like) are skipped.

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

OBJECT = "whatsapp_business_account"
MAX_EVENTS = 5_000
"""Meta batches at most 1,000 updates; anything far beyond that is not Meta."""

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MAX = 2**63 - 1
_MAX_TIMESTAMP_DIGITS = 18  # any 18-digit number fits an int64


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


Event: TypeAlias = InboundMessage | StatusUpdate | PreferenceUpdate | SystemError


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
        _fail("body", "expected a JSON object")
    if doc.get("object") != OBJECT:
        _fail("object", f"expected {OBJECT!r}")
    events: list[Event] = []
    for entry in _list(doc, "entry", "entry", required=True):
        if type(entry) is not dict:
            _fail("entry[]", "expected an object")
        waba_id = _str(entry, "id", "entry[].id")
        for change in _list(entry, "changes", "entry[].changes"):
            if type(change) is not dict:
                _fail("changes[]", "expected an object")
            field = change.get("field")
            if type(field) is not str:
                _fail("changes[].field", "expected a string")
            if field == "messages":
                value = _value(change)
                phone_id, display = _metadata(value)
                messages = _list(value, "messages", "value.messages")
                statuses = _list(value, "statuses", "value.statuses")
                errors = _list(value, "errors", "value.errors")
                if len(events) + len(messages) + len(statuses) + len(errors) > max_events:
                    _fail("delivery", f"more than {max_events} events")
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
                    entry_time = _timestamp(entry, "time", "entry[].time", required=False)
                    for item in errors:
                        events.append(_system_error(item, phone_id, waba_id, entry_time))
            elif field == "user_preferences":
                value = _value(change)
                phone_id, _ = _metadata(value)
                prefs = _list(value, "user_preferences", "value.user_preferences")
                if len(events) + len(prefs) > max_events:
                    _fail("delivery", f"more than {max_events} events")
                for item in prefs:
                    events.append(_preference(item, phone_id, waba_id))
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
        _fail("messages[]", "expected an object")
    kind = _str(item, "type", "messages[].type")
    text = payload = label = ""
    if kind == "text":
        body = _obj(item, "text", "messages[].text")
        if body is not None:
            text = _str(body, "body", "messages[].text.body")
    elif kind == "interactive":
        interactive = _obj(item, "interactive", "messages[].interactive")
        if interactive is not None:
            reply_kind = _str(interactive, "type", "messages[].interactive.type")
            if reply_kind in ("button_reply", "list_reply"):
                where = f"messages[].interactive.{reply_kind}"
                reply = _obj(interactive, reply_kind, where)
                if reply is not None:
                    payload = _str(reply, "id", where + ".id")
                    label = _str(reply, "title", where + ".title")
    elif kind == "button":
        button = _obj(item, "button", "messages[].button")
        if button is not None:
            payload = _str(button, "payload", "messages[].button.payload")
            label = _str(button, "text", "messages[].button.text")
    context = _obj(item, "context", "messages[].context")
    sender = _str(item, "from", "messages[].from")
    return InboundMessage(
        from_number=sender,
        id=_str(item, "id", "messages[].id", required=True),
        timestamp=_timestamp(item, "timestamp", "messages[].timestamp"),
        type=kind,
        text=text,
        button_payload=payload,
        button_text=label,
        phone_number_id=phone_id,
        display_phone_number=display,
        context_id="" if context is None else _str(context, "id", "messages[].context.id"),
        # wa_id and `from` "may not always match"; a lone contact is the sender.
        contact_name=names.get(sender, only_name),
        waba_id=waba_id,
    )


def _status(item: object, phone_id: str, waba_id: str) -> StatusUpdate:
    if type(item) is not dict:
        _fail("statuses[]", "expected an object")
    errors: tuple[StatusError, ...] = ()
    raw_errors = _list(item, "errors", "statuses[].errors")
    if raw_errors:
        errors = tuple(_status_error(raw, "statuses[].errors[]") for raw in raw_errors)
    pricing = _obj(item, "pricing", "statuses[].pricing")
    return StatusUpdate(
        id=_str(item, "id", "statuses[].id", required=True),
        status=_str(item, "status", "statuses[].status", required=True),
        recipient_id=_str(item, "recipient_id", "statuses[].recipient_id"),
        timestamp=_timestamp(item, "timestamp", "statuses[].timestamp"),
        errors=errors,
        callback_data=_str(item, "biz_opaque_callback_data", "statuses[].biz_opaque_callback_data"),
        phone_number_id=phone_id,
        pricing_category=(
            "" if pricing is None else _str(pricing, "category", "statuses[].pricing.category")
        ),
        waba_id=waba_id,
    )


def _status_error(item: object, where: str) -> StatusError:
    if type(item) is not dict:
        _fail(where, "expected an object")
    data = _obj(item, "error_data", where + ".error_data")
    return StatusError(
        code=_code(item, where + ".code"),
        title=_str(item, "title", where + ".title"),
        message=_str(item, "message", where + ".message"),
        details="" if data is None else _str(data, "details", where + ".error_data.details"),
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
        _fail("user_preferences[]", "expected an object")
    return PreferenceUpdate(
        wa_id=_str(item, "wa_id", "user_preferences[].wa_id", required=True),
        category=_str(item, "category", "user_preferences[].category", required=True),
        value=_str(item, "value", "user_preferences[].value", required=True),
        timestamp=_timestamp(item, "timestamp", "user_preferences[].timestamp"),
        detail=_str(item, "detail", "user_preferences[].detail"),
        phone_number_id=phone_id,
        waba_id=waba_id,
    )


# --- field readers: one type check each, the error names the field only ---


def _fail(where: str, problem: str) -> NoReturn:
    raise WebhookParseError(f"{where}: {problem}")


def _value(change: dict[str, Any]) -> dict[str, Any]:
    value = change.get("value")
    if type(value) is not dict:
        _fail("changes[].value", "expected an object")
    return value


def _metadata(value: dict[str, Any]) -> tuple[str, str]:
    meta = _obj(value, "metadata", "value.metadata")
    if meta is None:
        return "", ""
    return (
        _str(meta, "phone_number_id", "value.metadata.phone_number_id"),
        _str(meta, "display_phone_number", "value.metadata.display_phone_number"),
    )


def _contact_names(value: dict[str, Any]) -> tuple[dict[str, str], str]:
    """``wa_id → profile.name``, plus the name when there is exactly one contact."""
    names: dict[str, str] = {}
    name = ""
    contacts = _list(value, "contacts", "value.contacts")
    for contact in contacts:
        if type(contact) is not dict:
            _fail("value.contacts[]", "expected an object")
        profile = _obj(contact, "profile", "value.contacts[].profile")
        name = "" if profile is None else _str(profile, "name", "value.contacts[].profile.name")
        wa_id = _str(contact, "wa_id", "value.contacts[].wa_id")
        if wa_id:
            names[wa_id] = name
    return names, name if len(contacts) == 1 else ""


def _obj(parent: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None or type(value) is dict:
        return value
    _fail(where, "expected an object")


def _list(parent: dict[str, Any], key: str, where: str, *, required: bool = False) -> list[Any]:
    value = parent.get(key)
    if type(value) is list:
        return value
    if value is None and not required:
        return []
    _fail(where, "expected a list")


def _str(parent: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = parent.get(key)
    if type(value) is str:
        if not value:
            if required:
                _fail(where, "must not be empty")
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                # A lone surrogate (JSON "\ud800") would break the proto edge later.
                _fail(where, "not valid Unicode text")
        return value
    if value is None and not required:
        return ""
    _fail(where, "expected a string")


def _timestamp(parent: dict[str, Any], key: str, where: str, *, required: bool = True) -> int:
    """Unix seconds, sent as a digit string (messages, statuses) or an int (preferences)."""
    value = parent.get(key)
    if type(value) is str:
        if 0 < len(value) <= _MAX_TIMESTAMP_DIGITS and value.isascii() and value.isdigit():
            return int(value)
    elif type(value) is int:
        if 0 <= value <= _INT64_MAX:
            return value
    elif value is None and not required:
        return 0
    _fail(where, "expected Unix seconds")


def _code(parent: dict[str, Any], where: str) -> int:
    value = parent.get("code")
    if type(value) is int and _INT32_MIN <= value <= _INT32_MAX:
        return value
    _fail(where, "expected a 32-bit integer")
