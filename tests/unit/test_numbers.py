"""Phone number canonical forms (SPEC §4.5, §4.9): one subject per person."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.policy.numbers import from_wa_id, normalise_e164

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "written",
    ["+5511987654321", "+55 11 98765-4321", "+551187654321", "+55 (11) 8765-4321"],
)
def test_brazilian_mobiles_with_and_without_the_ninth_digit_are_one_number(written: str) -> None:
    assert normalise_e164(written) == "+5511987654321"


@pytest.mark.parametrize("wa_id", ["551187654321", "5511987654321"])
def test_both_brazilian_wa_id_forms_are_one_number(wa_id: str) -> None:
    assert from_wa_id(wa_id) == "+5511987654321"


@pytest.mark.parametrize("first", "6789")
def test_every_legacy_mobile_prefix_gets_the_ninth_digit(first: str) -> None:
    assert from_wa_id(f"5521{first}7654321") == f"+55219{first}7654321"


@pytest.mark.parametrize("first", "2345")
def test_brazilian_landlines_keep_eight_digits(first: str) -> None:
    number = f"+5511{first}3334444"
    assert normalise_e164(number) == number
    assert from_wa_id(number[1:]) == number


def test_a_wa_id_our_metadata_rejects_is_still_the_users_number() -> None:
    # 555-01xx is reserved for fiction: phonenumbers calls it invalid, Meta may not.
    assert normalise_e164("+15555550100") is None
    assert from_wa_id("15555550100") == "+15555550100"


@pytest.mark.parametrize(
    "wa_id",
    [
        "",
        "abc",
        "+",
        "1650555123x",
        "0551187654321",
        "1" * 16,
        "123456",
        "999123456789",
        "١٢٣٤٥٦٧٨",
    ],
)
def test_text_that_is_no_phone_number_gives_none(wa_id: str) -> None:
    assert from_wa_id(wa_id) is None


def test_sends_still_need_a_valid_number() -> None:
    assert normalise_e164("16505551234") is None  # no leading +
    assert normalise_e164("+15555550100") is None
    assert normalise_e164("+16505551234") == "+16505551234"


@given(st.text(alphabet="0123456789", min_size=1, max_size=16))
def test_a_valid_wa_id_maps_to_the_number_a_send_would_use(digits: str) -> None:
    strict = normalise_e164("+" + digits)
    loose = from_wa_id(digits)
    if strict is not None:
        assert loose == strict
    if loose is not None:
        assert loose.startswith("+") and loose[1:].isdigit() and len(loose) <= 16
