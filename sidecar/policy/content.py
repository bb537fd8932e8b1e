"""What a send says, typed: free text, a template, or a message object the caller wrote.

Pure data without a wire format: ``api/`` builds it from the request,
``SendCommand.message`` carries it, and ``whatsapp/messages.py`` alone turns
it into Graph JSON.

    Text("Your order shipped", preview_url=False)
    Template("otp", "en_US", components=(TemplateComponent("body", parameters=(
        TemplateParameter(text="123456"),)),))
    RawMessage({"type": "interactive", "interactive": {...}})
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

RESERVED_KEYS = ("to", "messaging_product", "biz_opaque_callback_data")
"""Members of a Graph message the sidecar writes itself: a raw message must not set them."""
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})

# Named tuples, not frozen dataclasses: a few are built for every send and
# they cost half as much to make.


class Text(NamedTuple):
    """A free-form text message."""

    body: str
    preview_url: bool = False

    @property
    def free_form(self) -> bool:
        return True


class TemplateParameter(NamedTuple):
    """``type`` empty means text; ``extra`` members are merged into the parameter
    (e.g. ``{"image": {"link": ...}}``)."""

    type: str = ""
    text: str = ""
    payload: str = ""
    parameter_name: str = ""
    extra: Mapping[str, Any] = NO_EXTRA


class TemplateComponent(NamedTuple):
    """``button_index`` is the 0-based position of a button (Graph's ``index``)."""

    type: str
    sub_type: str = ""
    button_index: int = 0
    parameters: tuple[TemplateParameter, ...] = ()


class Template(NamedTuple):
    """An approved template; an empty ``language_policy`` means Meta's default."""

    name: str
    language: str
    language_policy: str = ""
    components: tuple[TemplateComponent, ...] = ()

    @property
    def free_form(self) -> bool:
        return False


class RawMessage(NamedTuple):
    """A message object as the caller wrote it (``{"type": ..., ...}``), sent as is."""

    message: Mapping[str, Any]

    @property
    def free_form(self) -> bool:
        return self.message.get("type") != "template"


Content = Text | Template | RawMessage


def raw_problem(message: Mapping[str, Any]) -> str | None:
    """What keeps ``message`` from being sent as a raw message object; None if nothing."""
    kind = message.get("type")
    if not isinstance(kind, str) or not kind:
        return 'must have a "type" string'
    for reserved in RESERVED_KEYS:
        if reserved in message:
            return f'must not set "{reserved}"'
    return None
