"""Graph's message body: typed content in, the JSON of ``POST /{phone_number_id}/messages`` out.

A send serialises its message once. ``envelope`` writes the message for one
recipient without the idempotency key; the fingerprint of a send covers
those bytes, and ``graph_body`` adds the key (``biz_opaque_callback_data``,
which status webhooks carry back) by appending to them, not by serialising
again.

    envelope("+16505551234", Text("hi"))
    # '{"messaging_product":"whatsapp","recipient_type":"individual",
    #   "to":"+16505551234","type":"text","text":{"preview_url":false,"body":"hi"}}'
    graph_body(envelope_bytes, "order-42")   # … ,"biz_opaque_callback_data":"order-42"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sidecar.policy.content import RESERVED_KEYS, Content, RawMessage, Template, Text

DEFAULT_LANGUAGE_POLICY = "deterministic"
"""Meta's only template language policy."""

_SEPARATORS = (",", ":")


def message_object(content: Content) -> Mapping[str, Any]:
    """The Graph message object (``{"type": ..., ...}``) of ``content``."""
    if isinstance(content, Text):
        return {"type": "text", "text": {"preview_url": content.preview_url, "body": content.body}}
    if isinstance(content, Template):
        return {"type": "template", "template": _template(content)}
    return content.message


def envelope(to: str, content: Content) -> str:
    """The whole message for ``to``, without the idempotency key: one JSON serialisation."""
    return json.dumps(
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            **message_object(content),
        },
        separators=_SEPARATORS,
    )


def graph_body(envelope: bytes, key: str) -> bytes:
    """The request body: ``envelope`` with ``biz_opaque_callback_data`` = ``key``."""
    return b'%s,"biz_opaque_callback_data":%s}' % (envelope[:-1], json.dumps(key).encode())


def stored_message(body: str | bytes) -> RawMessage:
    """The message object of a stored Graph body (outbox records and dead
    letters keep the body as sent), without what ``envelope`` and ``graph_body`` add
    (``recipient_type`` stays: ``envelope`` writes it back in its place)."""
    document = json.loads(body)
    return RawMessage({k: v for k, v in document.items() if k not in RESERVED_KEYS})


def _template(t: Template) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": t.name,
        "language": {"code": t.language, "policy": t.language_policy or DEFAULT_LANGUAGE_POLICY},
    }
    components = []
    for c in t.components:
        component: dict[str, Any] = {"type": c.type}
        if c.sub_type:
            component["sub_type"] = c.sub_type
        if c.type == "button":
            component["index"] = str(c.button_index)
        parameters = []
        for p in c.parameters:
            parameter: dict[str, Any] = {"type": p.type or "text"}
            if p.text:
                parameter["text"] = p.text
            if p.payload:
                parameter["payload"] = p.payload
            if p.parameter_name:
                parameter["parameter_name"] = p.parameter_name
            if p.extra:
                parameter.update(p.extra)
            parameters.append(parameter)
        if parameters:
            component["parameters"] = parameters
        components.append(component)
    if components:
        out["components"] = components
    return out
