"""Opt-out / opt-in keyword detection: the labelled corpus, the rules, and properties."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.policy.optout import (
    NO_MATCH,
    KeywordIntent,
    KeywordMatch,
    MatchRule,
    OptOutMatcher,
    normalise,
)
from sidecar.policy.optout_packs import PACKS, LocalePack

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parent.parent / "fixtures" / "optout_corpus.tsv"
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|t|n)")

MATCHER = OptOutMatcher()


def _widen(text: str) -> str:
    """The full-width form of the printable ASCII in ``text``."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


class Case(NamedTuple):
    line: int
    text: str
    expected: KeywordIntent
    locale: str
    note: str


def _unescape(text: str) -> str:
    def replace(found: re.Match[str]) -> str:
        code = found.group(1)
        return {"t": "\t", "n": "\n"}.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(replace, text)


def _load_corpus() -> list[Case]:
    cases = []
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    data = [(n, line) for n, line in enumerate(lines, 1) if not line.startswith("#")]
    assert data[0][1].split("\t") == ["text", "expected", "locale", "note"]
    for number, line in data[1:]:
        text, expected, locale, note = line.split("\t")
        cases.append(Case(number, _unescape(text), KeywordIntent(expected), locale, note))
    return cases


CASES = _load_corpus()


def test_corpus_is_large_and_covers_every_intent_and_locale() -> None:
    assert len(CASES) >= 150
    assert {case.expected for case in CASES} == set(KeywordIntent)
    assert {case.locale for case in CASES} >= set(PACKS)


def test_matcher_agrees_with_every_labelled_message() -> None:
    mismatches = []
    for case in CASES:
        got = MATCHER.match_text(case.text)
        wrong_locale = case.expected is not KeywordIntent.NONE and got.locale != case.locale
        if got.intent is not case.expected or wrong_locale:
            mismatches.append(
                f"line {case.line} {case.text!r}: expected {case.expected.value}/{case.locale}, "
                f"got {got.intent.value}/{got.locale} via {got.rule.value} ({case.note})"
            )
    assert not mismatches, f"{len(mismatches)} corpus mismatches:\n" + "\n".join(mismatches)


@pytest.mark.parametrize(
    "text", ["STOP", "stop", "Stop", _widen("STOP"), _widen("stop"), "STOP!", " stop. ", "S T O P"]
)
def test_stop_in_any_case_or_width_opts_out(text: str) -> None:
    assert MATCHER.match_text(text) == KeywordMatch(
        KeywordIntent.OPT_OUT, "STOP", "en", MatchRule.EXACT
    )


@pytest.mark.parametrize("text", ["ARRÊT", "Arrêt", "arret", _widen("arrêt"), "Arre\u0302t"])
def test_arret_with_or_without_accent_opts_out_in_french(text: str) -> None:
    found = MATCHER.match_text(text)
    assert (found.intent, found.locale, found.rule) == (
        KeywordIntent.OPT_OUT,
        "fr",
        MatchRule.EXACT,
    )


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Stop. Thank you", MatchRule.POLITE),
        ("please cancel", MatchRule.POLITE),
        ("unsubscribe me", MatchRule.FIRST_WORD),
        ("STOP!!! I never signed up for this", MatchRule.FIRST_WORD),
        ("Stop, I never asked for any of this", MatchRule.FIRST_WORD),
        ("请退订所有消息", MatchRule.FIRST_WORD),
    ],
)
def test_rule_that_recognised_the_keyword_is_reported(text: str, rule: MatchRule) -> None:
    assert MATCHER.match_text(text).rule is rule


@pytest.mark.parametrize(
    "text",
    [
        "can you stop by tomorrow?",
        "We have got to STOP this terrible bill",
        "Stop by the store later",
        "cancel my order #123",
    ],
)
def test_keyword_inside_a_sentence_is_not_an_opt_out(text: str) -> None:
    assert MATCHER.match_text(text) is NO_MATCH


def test_long_message_only_matches_by_first_word() -> None:
    padding = " ".join(["thanks"] * 20)
    assert MATCHER.match_text(f"stop {padding}").rule is MatchRule.FIRST_WORD
    assert MATCHER.match_text(f"cancel {padding}") is NO_MATCH


def test_yes_opts_in_only_when_configured() -> None:
    assert MATCHER.match_text("YES") is NO_MATCH
    with_yes = OptOutMatcher(yes_is_opt_in=True)
    assert with_yes.match_text("Yes").intent is KeywordIntent.OPT_IN
    assert with_yes.match_text("oui").locale == "fr"


def test_locales_limit_the_packs_and_their_order_attributes_shared_words() -> None:
    spanish_only = OptOutMatcher(locales=["es"])
    assert spanish_only.match_text("退订") is NO_MATCH
    assert spanish_only.match_text("stop").locale == "es"
    assert OptOutMatcher(locales=["pt", "es"]).match_text("cancelar").locale == "pt"


def test_configured_keywords_join_the_packs() -> None:
    matcher = OptOutMatcher(locales=["en"], extra_opt_out=["Halt"], extra_opt_in=["Resume"])
    assert matcher.match_text("HALT!") == KeywordMatch(
        KeywordIntent.OPT_OUT, "Halt", "config", MatchRule.EXACT
    )
    assert matcher.match_text("resume please").intent is KeywordIntent.OPT_IN


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"locales": ["xx"]}, "unknown opt-out locales"),
        ({"extra_opt_out": ["🛑"]}, "no letters or digits"),
        ({"extra_opt_in": ["stop"]}, "both opt out and opt in"),
    ],
)
def test_bad_configuration_is_refused_at_construction(
    kwargs: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        OptOutMatcher(**kwargs)  # type: ignore[arg-type]  # kwargs vary per case


def test_packs_never_list_a_word_as_both_opt_out_and_opt_in() -> None:
    for locale in PACKS:
        OptOutMatcher(locales=[locale], yes_is_opt_in=True)


def test_strong_words_are_opt_out_words() -> None:
    for locale, pack in PACKS.items():
        assert pack.strong <= pack.opt_out, locale


def test_custom_packs_can_replace_the_builtin_ones() -> None:
    pack = LocalePack(
        opt_out=frozenset({"NOPE"}), strong=frozenset({"NOPE"}), opt_in=frozenset({"YUP"})
    )
    matcher = OptOutMatcher(packs={"xx": pack})
    assert matcher.match_text("nope, go away").locale == "xx"
    assert matcher.match_text("stop") is NO_MATCH


def test_normalise_folds_width_case_accents_and_trims_emoji() -> None:
    assert normalise(_widen("  ARRÊT !!") + " 🙏") == "arret"
    assert normalise("Stop.   Thank\n you") == "stop. thank you"
    # Arabic "stop" with hamza, harakat and right-to-left marks folds to the bare letters.
    vowelled = "\u200f\u0625\u0650\u064a\u0642\u064e\u0627\u0641\u200f"
    assert normalise(vowelled) == "\u0627\u064a\u0642\u0627\u0641"
    assert normalise("Straße") == "strasse"


# --- properties --------------------------------------------------------------

_STRONG_WORDS = ["STOP", "UNSUBSCRIBE", "OPTOUT", "REVOKE", "ARRÊT", "DETENER", "STOPALL"]


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_arbitrary_text_never_crashes(text: str) -> None:
    assert isinstance(MATCHER.match_text(text), KeywordMatch)


@given(
    st.sampled_from(_STRONG_WORDS),
    st.lists(st.sampled_from(["upper", "lower", "wide", "accent"]), max_size=4),
    st.sampled_from(["", " ", "!", ".", " 🙏", "\u200b"]),
)
def test_keyword_match_survives_case_width_and_accent_changes(
    word: str, changes: list[str], decoration: str
) -> None:
    variant = word
    for change in changes:
        if change == "upper":
            variant = variant.upper()
        elif change == "lower":
            variant = variant.lower()
        elif change == "wide":
            variant = _widen(variant)
        else:
            variant = unicodedata.normalize("NFD", variant)
    assert MATCHER.match_text(decoration + variant + decoration) == MATCHER.match_text(word)


_FILLER_WORD = st.text(alphabet="bghjkqwxz", min_size=1, max_size=8)


@given(
    st.lists(_FILLER_WORD, min_size=1, max_size=15),
    st.lists(_FILLER_WORD, min_size=8, max_size=30),
    st.sampled_from(["stop", "STOP", "unsubscribe", "opt out"]),
)
def test_long_text_with_stop_in_the_middle_is_not_an_opt_out(
    before: list[str], after: list[str], keyword: str
) -> None:
    text = " ".join([*before, keyword, *after])
    assert MATCHER.match_text(text).intent is KeywordIntent.NONE
