"""Phone numbers (SPEC §4.9), pure: ``phonenumbers`` holds no I/O.

One canonical form per subject, used by sends and webhooks alike, so the
blind index and the suppression hash see one number:

* E.164 as ``phonenumbers`` formats it (``+16505551234``);
* Brazilian mobiles with their ninth digit. Brazil added a leading 9 to
  every mobile number (8 digits starting 6–9 became 9 digits starting 9);
  WhatsApp accounts created before keep a 12-digit ``wa_id`` without it
  (``55 11 8765 4321``), while the business sends to the 13-digit number.
  Both name one person, so both become ``+5511987654321``. Landlines keep 8
  digits starting 2–5 and are left alone.

Sends need a number ``phonenumbers`` calls valid (:func:`normalise_e164`).
Inbound events are different: Meta's ``wa_id`` is authoritative, and a STOP
must never be dropped because our metadata disagrees, so :func:`from_wa_id`
falls back to the digits as Meta sent them.
"""

from __future__ import annotations

import phonenumbers

_MAX_INPUT = 32
_E164 = phonenumbers.PhoneNumberFormat.E164
_BRAZIL = 55
_MAX_E164_DIGITS = 15
_MIN_WA_ID_DIGITS = 7


def normalise_e164(text: str) -> str | None:
    """Canonical E.164 (``+16505551234``) for a valid number, else None.

    The leading ``+`` is required: Meta prepends the business number's
    country code to numbers without one, which can misdeliver.
    Spaces, dashes, dots and parentheses are tolerated. A Brazilian mobile
    written without its ninth digit gets it.
    """
    text = text.strip()
    if not text.startswith("+") or len(text) > _MAX_INPUT:
        return None
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    return _valid(_with_ninth_digit(parsed))


def from_wa_id(wa_id: str) -> str | None:
    """The canonical number of a webhook ``wa_id``/``from`` (digits without ``+``).

    A number ``phonenumbers`` rejects is still the user's (Meta knows its
    users' numbers better than our metadata): it is kept as ``+<digits>``
    when the country calling code exists and the length fits E.164. Only
    text that cannot be a phone number at all gives None.
    """
    digits = wa_id.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) < _MIN_WA_ID_DIGITS or digits[0] == "0":
        return None
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    # A valid number wins even when the digits were longer (a national trunk
    # "0" after the country code): a send to the same text would use it.
    valid = _valid(_with_ninth_digit(parsed))
    if valid is not None:
        return valid
    return "+" + digits if len(digits) <= _MAX_E164_DIGITS else None


def _with_ninth_digit(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """A Brazilian ``AA NNNN NNNN`` mobile (first digit 6–9) as ``AA 9NNNN NNNN``."""
    if number.country_code != _BRAZIL or number.italian_leading_zero:
        return number
    national = str(number.national_number)
    area, subscriber = national[:2], national[2:]
    if len(national) != 10 or "0" in area or subscriber[0] not in "6789":
        return number
    mobile = int(area + "9" + subscriber)
    return phonenumbers.PhoneNumber(country_code=_BRAZIL, national_number=mobile)


def _valid(number: phonenumbers.PhoneNumber) -> str | None:
    if not phonenumbers.is_valid_number(number):
        return None
    result: str = phonenumbers.format_number(number, _E164)
    # E.164 allows 15 digits; phonenumbers' metadata accepts some longer ones.
    return result if len(result) <= _MAX_E164_DIGITS + 1 else None
