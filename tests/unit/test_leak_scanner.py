"""The leak scanner catches a planted leak in every encoding it claims to cover."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest
from support.leaks import Needle, encodings, number_needles, scan

pytestmark = pytest.mark.unit

SECRET = Needle("app secret", "leak-scan-app-secret+/=?&0123")
TOKEN = Needle("access token", "EAALEAKSCANTOKEN0123456789")
CLEAN = "a log line with +1650•••1234, wamid.HBgL and sha256=" + "ab" * 32


@pytest.mark.parametrize(
    ("encoding", "planted"),
    [
        ("plain", f'{{"event": "x", "detail": "{SECRET.value}"}}'),
        ("url-encoded", "GET /webhook?hub.verify_token=" + quote(SECRET.value, safe="")),
        ("url-encoded (form)", "body: " + urlencode({"client_secret": SECRET.value})),
        ("hex", "blob=" + SECRET.value.encode().hex()),
        ("HEX", "blob=" + SECRET.value.encode().hex().upper()),
        ("base64 (padded)", "Basic " + base64.b64encode(SECRET.value.encode()).decode()),
        ("base64", base64.b64encode(b"u:" + SECRET.value.encode()).decode()),
        ("base64", base64.b64encode(b"x" + SECRET.value.encode() + b"tail").decode()),
        ("base64url", base64.urlsafe_b64encode(b"ab" + SECRET.value.encode()).decode()),
    ],
)
def test_each_encoding_catches_a_planted_secret(encoding: str, planted: str) -> None:
    hits = scan({"log": CLEAN, "planted": planted}, [SECRET])
    assert hits, f"{encoding} leak not caught"
    assert {h.where for h in hits} == {"planted"}
    assert any(h.encoding.startswith(encoding) for h in hits)


def test_a_token_inside_a_json_span_attribute_is_caught() -> None:
    span = json.dumps({"http.url": "https://graph/x?access_token=" + quote_plus(TOKEN.value)})
    assert scan({"span": span}, [TOKEN])


@pytest.mark.parametrize(
    "planted",
    ["to=+16505551234", "wa_id=16505551234", "to=%2B16505551234", "MTY1MDU1NTEyMzQ="],
)
def test_an_unmasked_number_is_caught_in_any_form(planted: str) -> None:
    assert scan({"log": planted}, number_needles("+16505551234"))


def test_masked_numbers_and_other_digits_are_not_hits() -> None:
    text = "to_masked=+1650•••1234 phone_number_id=106540352242922 " + CLEAN
    assert not scan({"log": text}, [*number_needles("+16505551234"), SECRET, TOKEN])


def test_every_base64_alignment_is_searched() -> None:
    forms = encodings(TOKEN.value)
    assert {name.split(" ")[0] for name in forms} >= {"plain", "url-encoded", "hex", "HEX"}
    assert sum(name.startswith("base64 (offset") for name in forms) == 3
