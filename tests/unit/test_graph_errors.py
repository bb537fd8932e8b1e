"""Graph error parsing and redaction of numbers and tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.errors import SidecarError
from sidecar.redact import MASK, mask_number, scrub
from sidecar.whatsapp.errors import (
    MAX_BODY_BYTES,
    MAX_TEXT_CHARS,
    GraphError,
    network_error,
    parse_graph_error,
)

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).parents[1] / "fixtures" / "graph" / "error_response_130429.json"
SEVEN_DIGITS = re.compile(r"\d{7,}")


def sample_body() -> bytes:
    return SAMPLE.read_bytes()


def graph_body(**error: object) -> bytes:
    return json.dumps({"error": error}).encode()


# --- parsing ------------------------------------------------------------------------------


def test_meta_sample_130429_parses_into_every_field() -> None:
    err = parse_graph_error(400, sample_body())
    assert err.code == 130429
    assert err.error_type == "OAuthException"
    assert err.subcode == 2494055
    assert err.message == "(#130429) Rate limit hit"
    assert err.details == "Cloud API message throughput has been reached."
    assert err.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert err.http_status == 400
    assert err.network_error == ""
    assert err.retry_after_header is None
    assert isinstance(err, SidecarError)


def test_str_names_code_status_and_message() -> None:
    text = str(parse_graph_error(400, sample_body()))
    assert "130429" in text
    assert "HTTP 400" in text
    assert "Rate limit hit" in text
    assert "Az8or2yhqkZfEZ-_4Qn_Bam" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("130429", 130429),
        (" 131056 ", 131056),
        ("-5", -5),
        (130429.0, 130429),
        (True, None),
        (False, None),
        (1.5, None),
        ("13x", None),
        ("", None),
        ("-", None),
        ("1" * 40, None),
        (2**31 - 1, 2**31 - 1),
        (-(2**31), -(2**31)),
        (2**31, None),  # no Graph code is that large; the answer's fields are 32-bit
        (-(2**31) - 1, None),
        ("2147483648", None),
        (2.0**31, None),
        ("١٢٣", None),  # Arabic-Indic digits are not a Graph code
        (None, None),
        ([130429], None),
        ({"code": 1}, None),
    ],
)
def test_code_of_any_type_is_read_or_ignored(raw: object, expected: int | None) -> None:
    assert parse_graph_error(400, graph_body(code=raw)).code == expected


def test_missing_code_is_recovered_from_the_message_prefix() -> None:
    err = parse_graph_error(400, graph_body(message="(#131047) Re-engagement message"))
    assert err.code == 131047


def test_subcode_with_wrong_type_is_ignored() -> None:
    assert parse_graph_error(400, graph_body(code=1, error_subcode="x")).subcode is None


def test_subcode_beyond_32_bits_is_ignored() -> None:
    assert parse_graph_error(400, graph_body(code=1, error_subcode=2**40)).subcode is None


def test_wrongly_typed_text_fields_become_empty() -> None:
    err = parse_graph_error(
        400, graph_body(code=100, message=5, type=[], fbtrace_id={}, error_data="details")
    )
    assert (err.message, err.error_type, err.fbtrace_id, err.details) == ("", "", "", "")


def test_user_message_is_used_when_details_are_missing() -> None:
    err = parse_graph_error(400, graph_body(code=100, error_user_msg="Fix the parameter"))
    assert err.details == "Fix the parameter"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'"error"',
        b"null",
        b'{"error": "Rate limit"}',
        b'{"error": null}',
        b'{"errors": {"code": 4}}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b'{"error": {"code": 4}' + b" " * (MAX_BODY_BYTES + 10) + b"}",
    ],
)
def test_malformed_bodies_give_an_error_without_code(body: bytes) -> None:
    err = parse_graph_error(502, body)
    assert err.code is None
    assert err.http_status == 502
    assert "HTTP 502" in str(err)


def test_empty_and_unparsable_bodies_are_told_apart() -> None:
    assert parse_graph_error(502, b"").message == "empty error body"
    html = parse_graph_error(502, b"<html>\n  Bad   gateway</html>")
    assert html.message == "unparsable error body"
    assert html.details == "<html> Bad gateway</html>"


def test_invalid_utf8_inside_a_valid_document_is_replaced() -> None:
    body = b'{"error": {"code": 131000, "message": "bad \xff byte"}}'
    err = parse_graph_error(500, body)
    assert err.code == 131000
    assert err.message == "bad \ufffd byte"


def test_huge_message_is_truncated() -> None:
    err = parse_graph_error(400, graph_body(code=100, message="x" * 10_000, fbtrace_id="a" * 999))
    assert len(err.message) == MAX_TEXT_CHARS
    assert len(err.fbtrace_id) == 64


def test_trace_id_keeps_only_safe_characters() -> None:
    err = parse_graph_error(400, graph_body(code=1, fbtrace_id="Ab\n<script>+/="))
    assert err.fbtrace_id == "Abscript+/="


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"RETRY-AFTER": "0"}, 0.0),
        ({"Retry-After": "99999999"}, 7 * 86_400.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "1" * 100}, None),
        ({"Content-Type": "application/json"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_header_is_read_when_in_seconds(
    headers: dict[str, str] | None, expected: float | None
) -> None:
    assert parse_graph_error(429, graph_body(code=4), headers).retry_after_header == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("connect", "connect"), ("timeout", "timeout"), ("reset", "connection")],
)
def test_network_errors_carry_their_kind(kind: str, expected: str) -> None:
    err = network_error(kind)
    assert (err.network_error, err.code, err.http_status) == (expected, None, 0)
    assert expected in str(err)


def test_graph_error_without_code_or_text() -> None:
    assert str(GraphError(http_status=503)) == "Graph error ? (HTTP 503)"


# --- redaction ----------------------------------------------------------------------------


def test_phone_numbers_in_message_and_details_never_reach_str() -> None:
    body = graph_body(
        code=131026,
        type="OAuthException",
        message="(#131026) Message to +16505551234 undeliverable",
        error_data={"details": "Recipient 16505551234 / +44 7911 123456 not on WhatsApp"},
        fbtrace_id="A1234567890",
    )
    err = parse_graph_error(400, body)
    text = str(err)
    for secret in ("6505551234", "7911123456", "7911 123456", "1234567890"):
        assert secret not in text
        assert secret not in err.message + err.details
    assert "+1650•••1234" in text
    assert not SEVEN_DIGITS.search(text)


def test_tokens_never_reach_str() -> None:
    token = "EAAGm0PX4ZCpsBAKZAZBd9hY3e"
    err = parse_graph_error(
        401, graph_body(code=190, message=f"token {token} expired; Bearer abc.def-ghi")
    )
    assert token not in str(err)
    assert "abc.def-ghi" not in str(err)
    assert "EAA•••" in str(err)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+16505551234", "+1650•••1234"),
        ("16505551234", "1650•••1234"),
        (" +447911123456 ", "+4479•••3456"),
        ("+4930123456", "+493•••456"),
        ("+3312345678", "+331•••678"),
        ("+6512345", "+65•••45"),
        ("+12345678", "+12•••78"),
        ("+123456", MASK),
        ("+1234567890123456", MASK),
        ("+1 650 555 1234", MASK),
        ("", MASK),
        ("abc", MASK),
        ("++16505551234", MASK),
    ],
)
def test_mask_number_keeps_only_the_ends(number: str, masked: str) -> None:
    assert mask_number(number) == masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +1 (650) 555-1234 now", "call +1650•••1234 now"),
        ("code (#130429) stays", "code (#130429) stays"),
        ("id 123456 stays", "id 123456 stays"),
        ("bearer xyz", "Bearer •••"),
        ("12345678901234567890", MASK),
    ],
)
def test_scrub_masks_numbers_and_credentials(text: str, expected: str) -> None:
    assert scrub(text) == expected


@given(st.text())
def test_scrub_never_leaves_a_seven_digit_run(text: str) -> None:
    assert not SEVEN_DIGITS.search(scrub(text))


@given(prefix=st.text(max_size=20), token=st.from_regex(r"[A-Za-z0-9]{1,40}", fullmatch=True))
def test_scrub_never_leaves_a_meta_token(prefix: str, token: str) -> None:
    assert "EAA" + token not in scrub(f"{prefix}EAA{token} rest")


@given(st.text(alphabet="0123456789+ -.()EAab", max_size=80))
def test_scrub_never_leaves_a_seven_digit_run_in_number_like_text(text: str) -> None:
    assert not SEVEN_DIGITS.search(scrub(text))


@given(st.from_regex(r"\+?[0-9]{7,15}", fullmatch=True))
def test_mask_number_hides_at_least_three_digits(number: str) -> None:
    masked = mask_number(number)
    visible = sum(ch.isdigit() for ch in masked)
    assert MASK in masked
    assert visible <= len(number.lstrip("+")) - 3
    assert not SEVEN_DIGITS.search(masked)


# --- robustness ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
ERROR_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "code": JSON_VALUES,
        "message": JSON_VALUES,
        "type": JSON_VALUES,
        "error_subcode": JSON_VALUES,
        "error_data": JSON_VALUES | st.fixed_dictionaries({"details": JSON_VALUES}),
        "fbtrace_id": JSON_VALUES,
        "error_user_msg": JSON_VALUES,
    },
)


@given(status=st.integers(), body=st.binary(max_size=2048))
def test_parse_never_raises_on_arbitrary_bytes(status: int, body: bytes) -> None:
    err = parse_graph_error(status, body)
    assert isinstance(err, GraphError)
    assert not SEVEN_DIGITS.search(err.message + err.details)


@given(value=JSON_VALUES)
def test_parse_never_raises_on_arbitrary_json(value: object) -> None:
    err = parse_graph_error(400, json.dumps(value).encode())
    assert isinstance(err, GraphError)


@given(error=ERROR_FIELDS, headers=st.dictionaries(st.text(max_size=20), st.text(max_size=40)))
def test_parse_never_raises_on_arbitrary_error_objects(
    error: dict[str, object], headers: dict[str, str]
) -> None:
    err = parse_graph_error(400, json.dumps({"error": error}).encode(), headers)
    assert err.code is None or isinstance(err.code, int)
    # The code and status are numbers in their own right; only free text is checked.
    assert not SEVEN_DIGITS.search(f"{err.message} {err.details} {err.error_type}")
