"""X-Hub-Signature-256 verification over the raw body (SPEC §4.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sidecar.policy.signature import (
    SignatureProblem,
    SignatureVerifier,
    parse_header,
    sign,
)

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
VECTORS: dict[str, Any] = json.loads((SAMPLES / "signature_test_vectors.json").read_bytes())
SECRET = VECTORS["app_secret"].encode()
WEBHOOK_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.json") if "signature" not in p.name)

GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# The form Meta signs: ASCII only, "/" and "@" escaped, é as \u00e9.
ESCAPED_BODY = b'{"text":{"body":"caf\\u00e9 a\\/b x\\u0040y.com"}}'


def test_github_published_vector_verifies() -> None:
    result = SignatureVerifier([GITHUB_SECRET]).verify(b"Hello, World!", GITHUB_SIGNATURE)
    assert result.ok
    assert result.problem is SignatureProblem.NONE
    assert result.secret_index == 0
    assert sign(b"Hello, World!", GITHUB_SECRET) == GITHUB_SIGNATURE


def test_github_vector_fails_with_one_byte_changed() -> None:
    result = SignatureVerifier([GITHUB_SECRET]).verify(b"Hello, World?", GITHUB_SIGNATURE)
    assert not result.ok
    assert (result.problem, result.secret_index) == (SignatureProblem.MISMATCH, -1)


def test_local_vector_over_exact_sample_file_bytes() -> None:
    body = (SAMPLES / "inbound_text_message.json").read_bytes()
    vector = VECTORS["vectors"][0]
    assert len(body) == vector["body_len"]
    verifier = SignatureVerifier([SECRET])
    assert verifier.verify(body, vector["x_hub_signature_256"]).ok
    # The same JSON, compacted, has its own signature and fails the file's.
    compact = VECTORS["vectors"][1]
    compact_body = compact["body_inline"].encode()
    assert json.loads(compact_body) == json.loads(body)
    assert verifier.verify(compact_body, compact["x_hub_signature_256"]).ok
    assert verifier.verify(compact_body, vector["x_hub_signature_256"]).problem is (
        SignatureProblem.MISMATCH
    )


def test_legacy_sha1_header_is_unsupported_not_mismatched() -> None:
    body = (SAMPLES / "inbound_text_message.json").read_bytes()
    header = VECTORS["vectors"][0]["x_hub_signature_sha1_legacy"]
    assert header.startswith("sha1=")
    result = SignatureVerifier([SECRET]).verify(body, header)
    assert result.problem is SignatureProblem.UNSUPPORTED


def test_escaped_body_vector_verifies_and_its_utf8_reserialisation_does_not() -> None:
    escaped, raw_utf8 = VECTORS["vectors"][2], VECTORS["vectors"][3]
    assert escaped["body_inline"].encode() == ESCAPED_BODY
    verifier = SignatureVerifier([SECRET])
    assert verifier.verify(ESCAPED_BODY, escaped["x_hub_signature_256"]).ok
    utf8_body = raw_utf8["body_inline"].encode()
    assert json.loads(utf8_body) == json.loads(ESCAPED_BODY)
    assert verifier.verify(utf8_body, raw_utf8["x_hub_signature_256"]).ok
    assert verifier.verify(utf8_body, escaped["x_hub_signature_256"]).problem is (
        SignatureProblem.MISMATCH
    )


@pytest.mark.parametrize("name", WEBHOOK_SAMPLES)
def test_each_sample_signed_as_received_verifies(name: str) -> None:
    body = (SAMPLES / name).read_bytes()
    assert SignatureVerifier([SECRET]).verify(body, sign(body, SECRET)).ok


@pytest.mark.parametrize("name", WEBHOOK_SAMPLES)
def test_each_sample_reserialised_fails_the_original_signature(name: str) -> None:
    body = (SAMPLES / name).read_bytes()
    header = sign(body, SECRET)
    reserialised = json.dumps(json.loads(body)).encode()
    assert SignatureVerifier([SECRET]).verify(reserialised, header).problem is (
        SignatureProblem.MISMATCH
    )


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_reserialising_slash_at_and_escaped_accent_breaks_the_signature(
    ensure_ascii: bool,
) -> None:
    header = sign(ESCAPED_BODY, SECRET)
    reserialised = json.dumps(json.loads(ESCAPED_BODY), ensure_ascii=ensure_ascii).encode()
    # Same JSON value; "\/" and "\u0040" lose their escapes either way.
    assert json.loads(reserialised) == json.loads(ESCAPED_BODY)
    assert b"a/b" in reserialised and b"x@y" in reserialised
    verifier = SignatureVerifier([SECRET])
    assert verifier.verify(ESCAPED_BODY, header).ok
    assert verifier.verify(reserialised, header).problem is SignatureProblem.MISMATCH


def test_rotation_accepts_the_second_secret_and_reports_its_index() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    verifier = SignatureVerifier([b"old-secret", b"new-secret"])
    assert verifier.verify(body, sign(body, b"old-secret")).secret_index == 0
    result = verifier.verify(body, sign(body, b"new-secret"))
    assert (result.ok, result.secret_index) == (True, 1)
    assert verifier.verify(body, sign(body, b"retired")).problem is SignatureProblem.MISMATCH


def test_empty_secrets_are_ignored_and_none_means_not_configured() -> None:
    verifier = SignatureVerifier([b""])
    assert not verifier.configured
    result = verifier.verify(b"x", sign(b"x", b""))
    assert result.problem is SignatureProblem.NOT_CONFIGURED
    assert SignatureVerifier([b"", b"s"]).verify(b"x", sign(b"x", b"s")).secret_index == 0


HEX = sign(b"Hello, World!", GITHUB_SECRET).removeprefix("sha256=")


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("", SignatureProblem.MISSING),
        ("   ", SignatureProblem.MISSING),
        ("sha256", SignatureProblem.MALFORMED),
        (HEX, SignatureProblem.MALFORMED),
        ("sha256=", SignatureProblem.MALFORMED),
        ("sha256=" + HEX[:-1], SignatureProblem.MALFORMED),
        ("sha256=" + HEX + "0", SignatureProblem.MALFORMED),
        ("sha256=" + HEX[:-1] + "g", SignatureProblem.MALFORMED),
        ("sha256= " + HEX, SignatureProblem.MALFORMED),
        ("sha256 =" + HEX, SignatureProblem.MALFORMED),
        ("sha256=" + HEX[:32] + " " + HEX[32:], SignatureProblem.MALFORMED),
        ("sha256==" + HEX, SignatureProblem.MALFORMED),
        ("sha512=" + HEX, SignatureProblem.MALFORMED),
        ("sha256=" + HEX + ",sha256=" + HEX, SignatureProblem.MALFORMED),
        ("sha256=" + "\uff10" * 64, SignatureProblem.MALFORMED),
        ("sha1=" + "0" * 40, SignatureProblem.UNSUPPORTED),
        ("SHA1=" + "0" * 40, SignatureProblem.UNSUPPORTED),
        ("sha256=" + "0" * 64, SignatureProblem.MISMATCH),
    ],
)
def test_bad_headers_give_distinct_problems(header: str, problem: SignatureProblem) -> None:
    result = SignatureVerifier([GITHUB_SECRET]).verify(b"Hello, World!", header)
    assert result.problem is problem
    assert not result.ok and result.secret_index == -1


@pytest.mark.parametrize(
    "header",
    [
        "sha256=" + HEX.upper(),
        "SHA256=" + HEX,
        "  sha256=" + HEX + "\t",
        "sha256=" + HEX + "\r\n",
    ],
)
def test_case_and_surrounding_whitespace_are_tolerated(header: str) -> None:
    # Hex digits name the same bytes in either case, and HTTP strips optional
    # whitespace around a field value anyway; the digest itself must match.
    assert SignatureVerifier([GITHUB_SECRET]).verify(b"Hello, World!", header).ok


def test_parse_header_returns_the_digest_bytes() -> None:
    problem, digest = parse_header(GITHUB_SIGNATURE)
    assert problem is SignatureProblem.NONE
    assert digest == bytes.fromhex(HEX)
    assert len(digest) == 32
