"""Opt-out settings: keyword packs to keep, button payloads and button categories."""

from __future__ import annotations

import pytest

from sidecar.config import load_settings
from sidecar.errors import ConfigError
from sidecar.policy.optout_packs import PACKS

pytestmark = pytest.mark.unit


def test_defaults_keep_every_pack_and_a_short_payload_list() -> None:
    s = load_settings(environ={})
    assert s.opt_out_locales == tuple(PACKS)
    assert s.opt_out_button_payloads == ("STOP", "UNSUBSCRIBE", "OPT_OUT")
    assert s.opt_out_button_categories == ("MARKETING",)


def test_locales_and_buttons_from_the_environment() -> None:
    s = load_settings(
        environ={
            "WA_SIDECAR_OPT_OUT_LOCALES": "en, pt",
            "WA_SIDECAR_OPT_OUT_BUTTON_PAYLOADS": "NO_MORE_DEALS,Unsubscribe",
            "WA_SIDECAR_OPT_OUT_BUTTON_CATEGORIES": "marketing,UTILITY",
        }
    )
    assert s.opt_out_locales == ("en", "pt")
    assert s.opt_out_button_payloads == ("NO_MORE_DEALS", "Unsubscribe")
    assert s.opt_out_button_categories == ("marketing", "UTILITY")


@pytest.mark.parametrize(
    ("env", "setting", "words"),
    [
        ({"WA_SIDECAR_OPT_OUT_LOCALES": "en,xx"}, "WA_SIDECAR_OPT_OUT_LOCALES", "'xx'"),
        ({"WA_SIDECAR_OPT_OUT_LOCALES": ""}, "WA_SIDECAR_OPT_OUT_LOCALES", "nothing"),
        (
            {"WA_SIDECAR_OPT_OUT_BUTTON_CATEGORIES": "MARKETING,PROMO"},
            "WA_SIDECAR_OPT_OUT_BUTTON_CATEGORIES",
            "'PROMO'",
        ),
        ({"WA_SIDECAR_OPT_OUT_BUTTON_CATEGORIES": ""}, "WA_SIDECAR_OPT_OUT_BUTTON_CATEGORIES", ""),
        (
            {"WA_SIDECAR_OPT_OUT_BUTTON_PAYLOADS": "STOP,START"},
            "WA_SIDECAR_OPT_OUT_BUTTON_PAYLOADS",
            "START",
        ),
        ({"WA_SIDECAR_OPT_OUT_KEYWORDS": "START"}, "WA_SIDECAR_OPT_OUT_KEYWORDS", "START"),
    ],
)
def test_bad_opt_out_settings_name_the_setting(
    env: dict[str, str], setting: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert setting in str(err.value)
    assert words.lower() in str(err.value).lower()


def test_only_configured_keywords_when_every_pack_is_off() -> None:
    s = load_settings(
        environ={"WA_SIDECAR_OPT_OUT_LOCALES": "", "WA_SIDECAR_OPT_OUT_KEYWORDS": "HALT"}
    )
    assert s.opt_out_locales == ()
