"""The Graph message body, written at the WhatsApp edge (``whatsapp/messages.py``).

The expected bytes are what releases before the move wrote: a send's
fingerprint covers them, so idempotency records stored by those releases
must keep matching.
"""

from __future__ import annotations

import pytest

from sidecar.policy.content import RawMessage, Template, TemplateComponent, TemplateParameter, Text
from sidecar.policy.types import Category
from sidecar.service.models import send_command
from sidecar.whatsapp.messages import envelope, graph_body, stored_message

pytestmark = pytest.mark.unit

TO = "+16505551234"
EUROS = {"code": "EUR", "amount_1000": 5}
SHIPPED = Template(
    "shipped",
    "en_US",
    components=(
        TemplateComponent(
            "body",
            parameters=(
                TemplateParameter(text="A1"),
                TemplateParameter(
                    "currency", extra={"currency": {"code": "EUR", "amount_1000": 5}}
                ),
            ),
        ),
        TemplateComponent("button", "url", 1, (TemplateParameter("text", "x"),)),
    ),
)
SHIPPED_JSON = (
    b'{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234",'
    b'"type":"template","template":{"name":"shipped","language":{"code":"en_US",'
    b'"policy":"deterministic"},"components":[{"type":"body","parameters":[{"type":"text",'
    b'"text":"A1"},{"type":"currency","currency":{"code":"EUR","amount_1000":5}}]},'
    b'{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"x"}]}]}}'
)


def test_a_template_command_fingerprints_and_sends_the_bytes_of_earlier_releases() -> None:
    cmd = send_command(
        key="order-42",
        to=TO,
        category=Category.UTILITY,
        phone_number_id="106540352242922",
        message=SHIPPED,
    )
    assert cmd.content == b"utility|106540352242922|" + SHIPPED_JSON
    assert graph_body(cmd.envelope, cmd.key) == (
        SHIPPED_JSON[:-1] + b',"biz_opaque_callback_data":"order-42"}'
    )


def test_text_is_escaped_like_before_and_the_key_is_appended() -> None:
    cmd = send_command(
        key="k", to=TO, category=Category.SERVICE, phone_number_id="1", message=Text("Grüße", True)
    )
    text = (
        b'{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234",'
        b'"type":"text","text":{"preview_url":true,"body":"Gr\\u00fc\\u00dfe"}}'
    )
    assert cmd.content == b"service|1|" + text
    assert graph_body(cmd.envelope, "k") == text[:-1] + b',"biz_opaque_callback_data":"k"}'
    assert cmd.free_form


def test_a_command_without_a_key_gets_a_random_one_in_its_body() -> None:
    cmd = send_command(
        key="", to=TO, category=Category.SERVICE, phone_number_id="1", message=Text("hi")
    )
    assert not cmd.key_given and len(cmd.key) == 32
    assert graph_body(cmd.envelope, cmd.key).endswith(
        f'"biz_opaque_callback_data":"{cmd.key}"}}'.encode()
    )


def test_a_stored_body_gives_back_a_message_that_writes_the_same_body() -> None:
    raw = RawMessage({"type": "interactive", "recipient_type": "group", "interactive": {"a": [1]}})
    for message in (SHIPPED, Text("hi"), raw):
        body = graph_body(envelope(TO, message).encode(), "key-1")
        again = stored_message(body)
        assert graph_body(envelope(TO, again).encode(), "key-1") == body
        assert again.free_form == message.free_form


def test_a_raw_template_is_not_free_form() -> None:
    assert not RawMessage({"type": "template", "template": {"name": "x"}}).free_form
    assert RawMessage({"type": "image"}).free_form
