"""E.164 validation (SPEC §4.9), pure: ``phonenumbers`` holds no I/O."""

from __future__ import annotations

import phonenumbers

_MAX_INPUT = 32
_E164 = phonenumbers.PhoneNumberFormat.E164


def normalise_e164(text: str) -> str | None:
    """Canonical E.164 (``+16505551234``) for a valid number, else None.

    The leading ``+`` is required: Meta prepends the business number's
    country code to numbers without one, which can misdeliver.
    Spaces, dashes, dots and parentheses are tolerated.
    """
    text = text.strip()
    if not text.startswith("+") or len(text) > _MAX_INPUT:
        return None
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    result: str = phonenumbers.format_number(parsed, _E164)
    return result


def from_wa_id(wa_id: str) -> str | None:
    """E.164 for a webhook ``wa_id``/``from`` (digits without ``+``)."""
    digits = wa_id.strip().lstrip("+")
    if not digits.isdigit():
        return None
    return normalise_e164("+" + digits)
