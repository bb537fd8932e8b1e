"""Field readers for webhook payloads: one type check each, errors name the field only.

Every reader takes the parent object, the key and ``where`` (the field's path
as the error should name it); anything of the wrong type raises
:class:`~sidecar.errors.WebhookParseError` naming ``where``, never the value.
Absent optional strings read as ``""`` (as in the proto), absent optional
numbers as 0.

    value = read_value(change)                      # changes[].value, an object
    name = read_str(value, "message_template_name", "value.message_template_name")
"""

from __future__ import annotations

from typing import Any, NoReturn

from sidecar.errors import WebhookParseError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MAX = 2**63 - 1
_MAX_DIGITS = 18  # any 18-digit number fits an int64


def fail(where: str, problem: str) -> NoReturn:
    raise WebhookParseError(f"{where}: {problem}")


def read_value(change: dict[str, Any]) -> dict[str, Any]:
    value = change.get("value")
    if type(value) is not dict:
        fail("changes[].value", "expected an object")
    return value


def read_obj(parent: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None or type(value) is dict:
        return value
    fail(where, "expected an object")


def read_list(parent: dict[str, Any], key: str, where: str, *, required: bool = False) -> list[Any]:
    value = parent.get(key)
    if type(value) is list:
        return value
    if value is None and not required:
        return []
    fail(where, "expected a list")


def read_str(parent: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = parent.get(key)
    if type(value) is str:
        if not value:
            if required:
                fail(where, "must not be empty")
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                # A lone surrogate (JSON "\ud800") would break the proto edge later.
                fail(where, "not valid Unicode text")
        return value
    if value is None and not required:
        return ""
    fail(where, "expected a string")


def read_id(parent: dict[str, Any], key: str, where: str) -> str:
    """An id Meta sends as a number or a digit string (``message_template_id``)."""
    value = parent.get(key)
    if type(value) is int and 0 <= value <= INT64_MAX:
        return str(value)
    return read_str(parent, key, where)


def read_timestamp(parent: dict[str, Any], key: str, where: str, *, required: bool = True) -> int:
    """Unix seconds, sent as a digit string (messages, statuses) or an int (preferences)."""
    value = parent.get(key)
    if type(value) is str:
        if 0 < len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit():
            return int(value)
    elif type(value) is int:
        if 0 <= value <= INT64_MAX:
            return value
    elif value is None and not required:
        return 0
    fail(where, "expected Unix seconds")


def read_limit(parent: dict[str, Any], key: str, where: str) -> int:
    """A count Meta sends as an int or a digit string, ``-1`` for unlimited; absent is 0."""
    value = parent.get(key)
    if value is None:
        return 0
    if type(value) is str and value.isascii():
        text = value[1:] if value.startswith("-") else value
        if 0 < len(text) <= _MAX_DIGITS and text.isdigit():
            value = int(value)
    if type(value) is int and -1 <= value <= INT64_MAX:
        return value
    fail(where, "expected a whole number")


def read_code(parent: dict[str, Any], where: str) -> int:
    value = parent.get("code")
    if type(value) is int and INT32_MIN <= value <= INT32_MAX:
        return value
    fail(where, "expected a 32-bit integer")
