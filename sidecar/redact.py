"""Masking of phone numbers and tokens before text reaches logs, spans or errors.

Anything that came from outside (Graph error messages, webhook text) goes
through ``scrub`` before it is stored in an exception or an attribute.

    >>> mask_number("+16505551234")
    '+1650•••1234'
    >>> scrub("(#131026) Message to +1 650-555-1234 failed, token EAAGm0PX4ZCps")
    '(#131026) Message to +1650•••1234 failed, token EAA•••'
"""

from __future__ import annotations

import re

MASK = "•••"

_NUMBER = re.compile(r"\+?(\d+)")
# A digit, then six or more digits each after at most two separators: this
# catches "+16505551234" as well as "+1 (650) 555-1234" and "650.555.1234".
_PHONE_LIKE = re.compile(r"\+?\d(?:[ \-.()]{0,2}\d){6,}")
# Meta access tokens start with "EAA"; anything after "Bearer" is a credential too.
_TOKEN = re.compile(r"EAA[A-Za-z0-9]+|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+")
_SEPARATORS = re.compile(r"[ \-.()]")
_MIN_DIGITS, _MAX_DIGITS = 7, 15  # E.164 allows at most 15 digits


def mask_number(e164: str) -> str:
    """Keep the country code end and the last digits: ``+16505551234`` → ``+1650•••1234``.

    At least three digits are always hidden; input that is not 7-15 digits
    (with an optional leading ``+``) becomes ``•••``.
    """
    candidate = e164.strip()
    match = _NUMBER.fullmatch(candidate)
    if match is None:
        return MASK
    digits = match.group(1)
    count = len(digits)
    if not _MIN_DIGITS <= count <= _MAX_DIGITS:
        return MASK
    shown = 4 if count >= 11 else 3 if count >= 9 else 2
    plus = "+" if candidate.startswith("+") else ""
    return f"{plus}{digits[:shown]}{MASK}{digits[-shown:]}"


def scrub(text: str) -> str:
    """Mask bearer tokens (``EAA…``) and every run of 7+ digits, formatted or not."""
    return _PHONE_LIKE.sub(_mask_phone_like, _TOKEN.sub(_mask_token, text))


def _mask_phone_like(match: re.Match[str]) -> str:
    return mask_number(_SEPARATORS.sub("", match.group(0)))


def _mask_token(match: re.Match[str]) -> str:
    return "EAA" + MASK if match.group(0).startswith("EAA") else "Bearer " + MASK
