"""Hostile input never escapes as anything but ``WebhookParseError`` (SPEC §9)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.errors import WebhookParseError
from sidecar.policy.signature import SignatureResult, SignatureVerifier, sign
from sidecar.whatsapp.account_events import ACCOUNT_FIELDS
from sidecar.whatsapp.webhooks import (
    AccountAlert,
    CapabilityUpdate,
    InboundMessage,
    PhoneQualityUpdate,
    PreferenceUpdate,
    StatusUpdate,
    SystemError,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
    parse_delivery,
)

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
WEBHOOK_DOCS: list[dict[str, Any]] = [
    json.loads(p.read_bytes()) for p in sorted(SAMPLES.glob("*.json")) if "signature" not in p.name
]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INT64 = range(2**63)
INT32 = range(-(2**31), 2**31)


def check_events(events: list[Any]) -> None:
    """Whatever parses must be safe to hand to the proto layer."""
    assert isinstance(events, list)
    for event in events:
        assert isinstance(
            event,
            InboundMessage
            | StatusUpdate
            | PreferenceUpdate
            | SystemError
            | TemplateStatusUpdate
            | TemplateCategoryUpdate
            | PhoneQualityUpdate
            | CapabilityUpdate
            | AccountAlert,
        )
        assert isinstance(event.dedup_key, str)
        for field in dataclasses.fields(event):
            value = getattr(event, field.name)
            if isinstance(value, str):
                value.encode("utf-8")
            elif field.name in ("timestamp", "entry_time", "effective_at", "disable_date"):
                assert value in INT64
            elif field.name.startswith("max_"):
                assert value == -1 or value in INT64
            elif field.name == "code":
                assert value in INT32
        for error in getattr(event, "errors", ()):
            assert error.code in INT32


def parse_or_reject(body: bytes) -> None:
    try:
        events = parse_delivery(body)
    except WebhookParseError as exc:
        assert str(exc)
    else:
        check_events(events)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
wrong_values = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        2**31,
        2**64,
        1.5,
        "",
        "x",
        "-5",
        "\uff11\uff12",
        [],
        [1],
        {},
        {"a": 1},
    ]
)


@FAST
@given(st.binary(max_size=512))
def test_arbitrary_bytes_parse_or_are_rejected(body: bytes) -> None:
    parse_or_reject(body)


@FAST
@given(json_values)
def test_arbitrary_json_parses_or_is_rejected(doc: object) -> None:
    parse_or_reject(json.dumps(doc).encode())


@FAST
@given(json_values)
def test_arbitrary_json_under_a_valid_envelope_parses_or_is_rejected(value: object) -> None:
    for shape in (
        {"object": "whatsapp_business_account", "entry": value},
        {"object": "whatsapp_business_account", "entry": [{"changes": value}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [value]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": value}]}],
        },
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": [value]}}]}],
        },
    ):
        parse_or_reject(json.dumps(shape).encode())


@FAST
@given(st.sampled_from(sorted(ACCOUNT_FIELDS)), json_values, json_values)
def test_arbitrary_account_changes_parse_or_are_rejected(
    field: str, value: object, inner: object
) -> None:
    nested = {"alert_info": inner, "other_info": inner, "rejection_info": inner, "event": inner}
    for shape_value in (value, nested, {"message_template_id": inner, "event": "APPROVED"}):
        doc = {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "1", "time": inner, "changes": [{"field": field, "value": shape_value}]}
            ],
        }
        parse_or_reject(json.dumps(doc).encode())


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize(("open_", "close"), [(b"[", b"]"), (b'{"a":', b"}")])
def test_deep_nesting_is_rejected_not_a_recursion_error(
    depth: int, open_: bytes, close: bytes
) -> None:
    inner = open_ * depth + b"1" + close * depth
    parse_or_reject(inner)
    envelope = b'{"object":"whatsapp_business_account","entry":[{"changes":%s}]}'
    parse_or_reject(envelope % inner)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=200_000))
def test_any_nesting_depth_parses_or_is_rejected(depth: int) -> None:
    parse_or_reject(b"[" * depth + b"]" * depth)


@pytest.mark.parametrize(
    "body",
    [
        b"NaN",
        b"-Infinity",
        b'{"object":"whatsapp_business_account","entry":[],"n":Infinity}',
        b"1e999",
        b"9" * 10_000,
        b'"\\ud800"',
        b"\x00",
        b"\xed\xa0\x80",  # a UTF-8-encoded surrogate: invalid UTF-8
    ],
)
def test_odd_json_literals_are_rejected(body: bytes) -> None:
    with pytest.raises(WebhookParseError):
        parse_delivery(body)


def paths(node: object, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in a JSON document, containers and leaves alike."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def replaced(doc: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    copied = copy.deepcopy(doc)
    node: Any = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copied


SAMPLE_PATHS = [(i, path) for i, doc in enumerate(WEBHOOK_DOCS) for path in paths(doc)]


@pytest.mark.parametrize(
    "value", [None, 7, 2**64, -1, 1.5, True, "", "x", [], [None], {}, {"x": None}]
)
def test_every_sample_field_replaced_by_a_wrong_type_parses_or_is_rejected(value: object) -> None:
    for index, path in SAMPLE_PATHS:
        parse_or_reject(json.dumps(replaced(WEBHOOK_DOCS[index], path, value)).encode())


@FAST
@given(st.sampled_from(SAMPLE_PATHS), wrong_values | json_values)
def test_sample_field_replaced_by_anything_parses_or_is_rejected(
    where: tuple[int, tuple[Any, ...]], value: object
) -> None:
    index, path = where
    parse_or_reject(json.dumps(replaced(WEBHOOK_DOCS[index], path, value)).encode())


@FAST
@given(st.binary(max_size=256), st.text(max_size=100))
def test_verify_never_raises_on_arbitrary_body_and_header(body: bytes, header: str) -> None:
    result = SignatureVerifier([b"secret", b"other"]).verify(body, header)
    assert isinstance(result, SignatureResult)
    assert result.ok == (header.strip().lower() in {sign(body, b"secret"), sign(body, b"other")})


@FAST
@given(
    st.binary(max_size=256),
    st.sampled_from(["sha256=", "SHA256=", "sha1=", "sha256", "", " sha256="]),
    st.text(alphabet="0123456789abcdefABCDEF xyz=\u0661", max_size=70),
)
def test_verify_never_raises_on_near_valid_headers(body: bytes, prefix: str, digits: str) -> None:
    for verifier in (SignatureVerifier([b"secret"]), SignatureVerifier([])):
        assert isinstance(verifier.verify(body, prefix + digits), SignatureResult)
