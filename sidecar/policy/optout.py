"""Opt-out / opt-in keyword detection for inbound messages, pure.

Every inbound text goes through :func:`normalise` (NFKC, casefold, accents and
Arabic vowel marks removed, invisible format characters dropped, whitespace
collapsed, punctuation and emoji trimmed from both ends) and is then cut into
words; hyphens, underscores and apostrophes inside a word are ignored, so
"OPT-OUT", "opt out" and "optout" are the same. The first rule that fits wins:

``exact``
    The whole message, spaces and punctuation removed, is a keyword:
    "STOP", "  Stop!!! ", full-width "STOP", "S T O P", "Arrêt", "STOP 🙏", "退订".
``polite``
    A keyword wrapped only in please / thank-you words: "cancel please",
    "Por favor, baja", "stop now thanks".
``first_word``
    A *strong* keyword (STOP, UNSUBSCRIBE, OPTOUT, REVOKE, ARRÊT, DETENER, 退订 …)
    opens the message, after optional please-words, and then either

    * is directly followed by sentence punctuation (``. ! , ; :``, not ``?``):
      "Stop. Thank you", "STOP!!! I never signed up"; or
    * everything after it is courtesy, object words ("me", "it", "this", "all",
      "sending", "messages" …), numbers or further opt-out keywords:
      "STOP PLEASE", "unsubscribe me", "stop sending me these messages".

    "Stop by the store later", "can you stop by tomorrow?" and "We have got to
    STOP this terrible bill" do not match: "by", "can", "we" and "bill" carry
    meaning of their own. Weak keywords (CANCEL, END, QUIT, ALTO, BASTA …) never
    use this rule, so "cancel my order #123" is not an opt-out.

Opt-in words (START, UNSTOP, VOLVER …) use only ``exact`` and ``polite``: a
wrong re-subscription costs more than a missed one. Whether to honour them is
the caller's decision. Messages longer than 64 characters after normalisation
can only match by ``first_word``.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sidecar.policy.optout_packs import PACKS, LocalePack

__all__ = ["KeywordIntent", "KeywordMatch", "MatchRule", "OptOutMatcher", "normalise"]

_SHORT = 64
_BREAKS = frozenset(".!,;:。、،؛।॥")
_JOINERS = frozenset("-_'\u2019")  # ASCII and typographic apostrophe
_JOINERS_TABLE = str.maketrans(dict.fromkeys(_JOINERS))
_CONFIG_LOCALE = "config"

# Combining marks that only decorate a base letter (Latin accents, Arabic
# harakat and hamza carriers); Indic vowel signs are letters in all but name
# and are kept.
_DECORATION_RANGES = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x0640, 0x0640),  # Arabic tatweel, a stretching stroke
    (0xFE00, 0xFE0F),  # variation selectors: "❤️" must trim like "❤"
    (0xE0000, 0xE01EF),  # tag characters and supplementary variation selectors
)


def _build_fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {
        cp: None for cp in range(0x10000) if unicodedata.category(chr(cp)) == "Cf"
    }
    for low, high in _DECORATION_RANGES:
        table.update(dict.fromkeys(range(low, high + 1)))
    # Arabic spellings users swap freely: alif maqsura / ya, ta marbuta / ha.
    table[0x0649] = "\u064a"
    table[0x0629] = "\u0647"
    return table


_FOLD = _build_fold_table()


class KeywordIntent(enum.Enum):
    """What a message asks for."""

    NONE = "none"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


class MatchRule(enum.Enum):
    """Which rule recognised the keyword (see the module docstring)."""

    NONE = "none"
    EXACT = "exact"
    POLITE = "polite"
    FIRST_WORD = "first_word"


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """A verdict; ``keyword`` is the pack's spelling, ``locale`` its pack ("" if none)."""

    intent: KeywordIntent
    keyword: str = ""
    locale: str = ""
    rule: MatchRule = MatchRule.NONE


NO_MATCH = KeywordMatch(KeywordIntent.NONE)

_Table = dict[str, tuple[str, str]]
"""Compact form → (keyword as written, locale)."""


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or (not ch.isascii() and unicodedata.category(ch)[0] == "M")


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def normalise(text: str) -> str:
    """Fold ``text`` for matching: ``"  ARRÊT !! 🙏"`` → ``"arret"``. Idempotent."""
    if text.isascii():
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKC", text).casefold()
        folded = unicodedata.normalize("NFD", folded).translate(_FOLD)
        folded = unicodedata.normalize("NFC", folded)
    collapsed = " ".join(folded.split())
    start, end = 0, len(collapsed)
    while start < end and not _is_word_char(collapsed[start]):
        start += 1
    while end > start and not _is_word_char(collapsed[end - 1]):
        end -= 1
    return collapsed[start:end]


def _split_words(text: str) -> tuple[list[str], list[bool]]:
    """Words (joiners removed) and, per word, whether sentence punctuation follows it."""
    words: list[str] = []
    breaks: list[bool] = []
    current: list[str] = []
    for ch in text:
        if _is_word_char(ch) or (current and ch in _JOINERS):
            current.append(ch)
            continue
        if current:
            words.append("".join(current).translate(_JOINERS_TABLE))
            breaks.append(False)
            current = []
        if breaks and ch in _BREAKS:
            breaks[-1] = True
    if current:
        words.append("".join(current).translate(_JOINERS_TABLE))
        breaks.append(False)
    return words, breaks


def _compact(phrase: str) -> tuple[str, int]:
    """A configured keyword's compact form and its word count; rejects empty ones."""
    words, _ = _split_words(normalise(phrase))
    if not words:
        raise ValueError(f"keyword {phrase!r} has no letters or digits")
    return "".join(words), len(words)


class OptOutMatcher:
    """Recognises opt-out and opt-in keywords in the texts users type.

    Build once (the tables are folded here), then call per inbound message:

        >>> matcher = OptOutMatcher(locales=["en", "fr"], extra_opt_out=["HALT"])
        >>> matcher.match_text("Arrêt, merci").intent
        <KeywordIntent.OPT_OUT: 'opt_out'>

    ``locales`` picks packs from :data:`PACKS` (all when ``None``; their order
    decides which locale a shared keyword is attributed to). ``yes_is_opt_in``
    adds YES / SÍ / OUI …, off by default because "yes" answers many questions.
    Button taps are not keywords: see ``buttons.py``.
    """

    def __init__(
        self,
        *,
        locales: Iterable[str] | None = None,
        extra_opt_out: Iterable[str] = (),
        extra_opt_in: Iterable[str] = (),
        yes_is_opt_in: bool = False,
        packs: Mapping[str, LocalePack] = PACKS,
    ) -> None:
        chosen = list(packs) if locales is None else list(locales)
        unknown = sorted(set(chosen) - set(packs))
        if unknown:
            raise ValueError(f"unknown opt-out locales {unknown}; known: {sorted(packs)}")
        self._opt_out: _Table = {}
        self._opt_in: _Table = {}
        self._strong: _Table = {}
        self._head_words = 1
        please: set[str] = set()
        courtesy: set[str] = set()
        objects: set[str] = set()
        for locale in chosen:
            pack = packs[locale]
            self._add(self._opt_out, pack.opt_out, locale)
            self._add(self._opt_in, pack.opt_in, locale)
            if yes_is_opt_in:
                self._add(self._opt_in, pack.yes, locale)
            for word in sorted(pack.strong):
                key, count = _compact(word)
                self._strong.setdefault(key, (word, locale))
                self._head_words = max(self._head_words, count)
            please.update(_compact(word)[0] for word in pack.please)
            courtesy.update(_compact(word)[0] for word in pack.courtesy)
            objects.update(_compact(word)[0] for word in pack.object_words)
        self._add(self._opt_out, extra_opt_out, _CONFIG_LOCALE)
        self._add(self._opt_in, extra_opt_in, _CONFIG_LOCALE)
        clash = sorted(self._opt_out.keys() & self._opt_in.keys())
        if clash:
            raise ValueError(f"keywords both opt out and opt in: {clash}")
        self._please = frozenset(please)
        self._trailing = frozenset(please | courtesy)
        self._tail = frozenset(self._trailing | objects | self._opt_out.keys())
        vocabulary = self._tail | self._opt_in.keys() | self._strong.keys()
        self._han = frozenset(w for w in vocabulary if all(_is_han(ch) for ch in w))
        self._han_longest = max((len(w) for w in self._han), default=0)

    @staticmethod
    def _add(table: _Table, words: Iterable[str], locale: str) -> None:
        # Sorted so that "OPT OUT" / "OPT-OUT" / "OPTOUT" always report the same spelling.
        for word in sorted(words):
            table.setdefault(_compact(word)[0], (word, locale))

    def match_text(self, text: str) -> KeywordMatch:
        """Classify one inbound text message (see the module docstring for the rules)."""
        folded = normalise(text)
        words, breaks = self._words(folded)
        if len(folded) <= _SHORT:
            found = self._lookup("".join(words), MatchRule.EXACT)
            if found is not NO_MATCH:
                return found
            start = self._leading_please(words)
            end = len(words)
            while end > start and words[end - 1] in self._trailing:
                end -= 1
            found = self._lookup("".join(words[start:end]), MatchRule.POLITE)
            if found is not NO_MATCH:
                return found
        return self._first_word(words, breaks)

    def _lookup(self, key: str, rule: MatchRule) -> KeywordMatch:
        if key in self._opt_out:
            keyword, locale = self._opt_out[key]
            return KeywordMatch(KeywordIntent.OPT_OUT, keyword, locale, rule)
        if key in self._opt_in:
            keyword, locale = self._opt_in[key]
            return KeywordMatch(KeywordIntent.OPT_IN, keyword, locale, rule)
        return NO_MATCH

    def _first_word(self, words: list[str], breaks: list[bool]) -> KeywordMatch:
        start = self._leading_please(words)
        for size in range(min(self._head_words, len(words) - start), 0, -1):
            entry = self._strong.get("".join(words[start : start + size]))
            if entry is None:
                continue
            rest = words[start + size :]
            if breaks[start + size - 1] or all(w in self._tail or w.isdigit() for w in rest):
                return KeywordMatch(KeywordIntent.OPT_OUT, *entry, MatchRule.FIRST_WORD)
        return NO_MATCH

    def _leading_please(self, words: list[str]) -> int:
        start = 0
        while start < len(words) - 1 and words[start] in self._please:
            start += 1
        return start

    def _words(self, folded: str) -> tuple[list[str], list[bool]]:
        """Split into words; runs of Han characters are cut along the known vocabulary."""
        words, breaks = _split_words(folded)
        if not self._han or not any(_is_han(ch) for ch in folded):
            return words, breaks
        cut_words: list[str] = []
        cut_breaks: list[bool] = []
        for word, brk in zip(words, breaks, strict=True):
            pieces = self._cut_han(word)
            cut_words.extend(pieces)
            cut_breaks.extend([False] * (len(pieces) - 1) + [brk])
        return cut_words, cut_breaks

    def _cut_han(self, word: str) -> list[str]:
        pieces: list[str] = []
        i = 0
        while i < len(word):
            for size in range(min(self._han_longest, len(word) - i), 0, -1):
                if word[i : i + size] in self._han:
                    pieces.append(word[i : i + size])
                    i += size
                    break
            else:
                return [word]
        return pieces
