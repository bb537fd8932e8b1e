"""``Secret``: the type of the settings that hold credentials."""

from __future__ import annotations


class Secret:
    """A secret string that never shows itself in ``repr``/``str``/logs."""

    __slots__ = ("_value", "file")

    def __init__(self, value: str, file: str = "") -> None:
        self._value = value
        self.file = file  # the file it was read from (watched for changes), or ""

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
