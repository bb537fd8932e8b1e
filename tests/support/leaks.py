"""A scanner for secrets and phone numbers in captured output.

Each needle is searched in every encoding a careless line of code could
write it in: plain, URL-encoded (``%2B`` and ``+`` forms), base64 (standard
and URL-safe, on its own or inside a longer encoded blob at any of the three
byte alignments) and hex (either case).

    hits = scan({"log": log_text, "metrics": scrape}, [Needle("app secret", "s3cr3t…")])
    assert not hits, hits
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

_MIN_CORE = 8  # shorter base64 fragments would match by chance


@dataclass(frozen=True)
class Needle:
    """A value that must not appear; ``label`` says what it is (never the value)."""

    label: str
    value: str


@dataclass(frozen=True)
class Hit:
    label: str
    encoding: str
    where: str

    def __str__(self) -> str:
        return f"{self.label} found {self.encoding} in {self.where}"


def _base64_cores(raw: bytes) -> Iterator[tuple[str, str]]:
    """The part of base64(prefix + raw + suffix) that only ``raw`` decides,
    for a prefix of 0, 1 or 2 bytes (any position inside a longer blob)."""
    for shift in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = encode(b"\0" * shift + raw).decode()
            start = 4 if shift else 0
            end = len(text) - (4 if (shift + len(raw)) % 3 else 0)
            core = text[start:end]
            if shift == 0 and (shift + len(raw)) % 3 == 0:
                core = text  # exactly aligned: the whole encoding
            if len(core) >= _MIN_CORE:
                yield (f"{name} (offset {shift})", core)


def encodings(value: str) -> dict[str, str]:
    """Every form of ``value`` the scan looks for, by encoding name."""
    raw = value.encode()
    forms = {
        "plain": value,
        "url-encoded": quote(value, safe=""),
        "url-encoded (form)": quote_plus(value, safe=""),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "base64 (padded)": base64.b64encode(raw).decode(),
    }
    forms.update(_base64_cores(raw))
    return forms


def scan(captured: Mapping[str, str], needles: Sequence[Needle]) -> list[Hit]:
    """Every (needle, encoding, capture) where a needle shows."""
    hits: list[Hit] = []
    for needle in needles:
        for encoding, form in encodings(needle.value).items():
            for where, text in captured.items():
                if form in text:
                    hits.append(Hit(needle.label, encoding, where))
    return hits


def number_needles(e164: str) -> list[Needle]:
    """A phone number as E.164 and as Meta's ``wa_id`` (digits only)."""
    return [Needle(f"number {e164[:5]}…", e164), Needle(f"wa_id {e164[1:5]}…", e164[1:])]
