"""Scripted faults of the Graph API simulator: errors, latency, dropped connections.

A :class:`FaultRule` matches sends by recipient (``to``, compared as digits),
by ``phone_number_id``, or all sends when neither is given. Rules are checked
in the order they were added; every rule that applies adds its latency, and
the first one that applies with an outcome (an error ``code``, a dropped
connection) decides the outcome. ``probability`` draws from one seeded
``random.Random`` so a test run is reproducible; ``count`` expires a rule
after it has applied N times.

    >>> book = FaultBook(seed=7)
    >>> rule_id = book.add(FaultRule(to="+16505551234", code=131026, count=1))
    >>> book.evaluate("16505551234", "106540352242922").code
    131026
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NOT_DIGITS = re.compile(r"[^0-9]+")


def digits_only(value: str) -> str:
    """The ASCII digits of a phone number, as Meta reports them in ``wa_id``."""
    return _NOT_DIGITS.sub("", value)


@dataclass(frozen=True, slots=True)
class FaultRule:
    """What to do to matching sends.

    ``code``: answer with this Graph error (HTTP status from the table, or
    ``http_status``). ``async_status``: accept with 200, then report ``code``
    in a ``failed`` status webhook instead. ``drop_connection``: close the
    connection without answering; with ``drop_after_accept`` the message is
    accepted first (a lost response: the sender cannot know it went out).
    ``answer_late_ms``: accept, then answer this much later (slower than a
    client's read timeout: accepted, but the client gets no answer).
    ``answer_without_id``: accept, then answer 200 without ``messages[0].id``.
    """

    to: str | None = None
    phone_number_id: str | None = None
    code: int | None = None
    http_status: int | None = None
    message: str | None = None
    details: str | None = None
    error_subcode: int | None = None
    probability: float = 1.0
    count: int | None = None
    latency_ms: float = 0.0
    drop_connection: bool = False
    drop_after_accept: bool = False
    async_status: bool = False
    answer_late_ms: float = 0.0
    answer_without_id: bool = False

    @property
    def decides(self) -> bool:
        """Whether the rule decides the send's outcome (not only adds latency)."""
        return (
            self.code is not None
            or self.drop_connection
            or self.answer_without_id
            or self.answer_late_ms > 0
        )

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.latency_ms < 0 or self.answer_late_ms < 0:
            raise ValueError("latency_ms and answer_late_ms must not be negative")
        if self.async_status and self.code is None:
            raise ValueError("async_status needs a code")
        if self.drop_connection and self.code is not None:
            raise ValueError("drop_connection and code exclude each other")
        if self.drop_after_accept and not self.drop_connection:
            raise ValueError("drop_after_accept needs drop_connection")
        if (self.answer_without_id or self.answer_late_ms) and (
            self.code is not None or self.drop_connection
        ):
            raise ValueError("answer_* faults accept the message: no code or drop_connection")
        if not self.decides and self.latency_ms == 0:
            raise ValueError("a rule needs a code, drop_connection, an answer_* fault or latency")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from the control API's JSON; unknown keys are an error."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        kwargs = dict(data)
        for key in ("to", "phone_number_id", "message", "details"):
            if kwargs.get(key) is not None and not isinstance(kwargs[key], str):
                raise ValueError(f"{key} must be a string")
        for key in ("code", "http_status", "error_subcode", "count"):
            value = kwargs.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueError(f"{key} must be an integer")
        for key in ("probability", "latency_ms", "answer_late_ms"):
            value = kwargs.get(key)
            if value is not None and (
                not isinstance(value, int | float) or isinstance(value, bool)
            ):
                raise ValueError(f"{key} must be a number")
        for key in ("drop_connection", "drop_after_accept", "async_status", "answer_without_id"):
            if key in kwargs and not isinstance(kwargs[key], bool):
                raise ValueError(f"{key} must be a boolean")
        return cls(**kwargs)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    """The combined effect of the rules that applied to one send."""

    latency_s: float = 0.0
    rule: FaultRule | None = None

    @property
    def code(self) -> int | None:
        return None if self.rule is None else self.rule.code


NO_FAULT = FaultOutcome()


class _ActiveRule:
    __slots__ = ("match_pid", "match_to", "remaining", "rule", "rule_id")

    def __init__(self, rule_id: str, rule: FaultRule) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.match_to = None if rule.to is None else digits_only(rule.to)
        self.match_pid = rule.phone_number_id
        self.remaining = rule.count


class FaultBook:
    """The active fault rules plus the seeded random source they draw from."""

    __slots__ = ("_ids", "_rng", "_rules")

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[_ActiveRule] = []
        self._ids = itertools.count(1)
        # Deterministic test fault injection, not a security use.
        self._rng = random.Random(seed)  # noqa: S311

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, rule: FaultRule) -> str:
        """Activate ``rule``; returns its id (for :meth:`remove`)."""
        rule_id = f"fault-{next(self._ids)}"
        self._rules.append(_ActiveRule(rule_id, rule))
        return rule_id

    def remove(self, rule_id: str) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.rule_id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def reseed(self, seed: int) -> None:
        self._rng.seed(seed)

    def describe(self) -> list[dict[str, Any]]:
        """The active rules as JSON, with how many applications each has left."""
        return [
            {"id": r.rule_id, "remaining": r.remaining, **r.rule.to_json()} for r in self._rules
        ]

    def evaluate(self, wa_id: str, phone_number_id: str) -> FaultOutcome:
        """Apply the rules to one send to ``wa_id`` (digits) from ``phone_number_id``."""
        latency = 0.0
        expired = False
        decided: FaultRule | None = None
        for active in self._rules:
            if active.match_to is not None and active.match_to != wa_id:
                continue
            if active.match_pid is not None and active.match_pid != phone_number_id:
                continue
            rule = active.rule
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if active.remaining is not None:
                active.remaining -= 1
                expired = expired or active.remaining == 0
            latency += rule.latency_ms / 1000.0
            if rule.decides:
                decided = rule
                break
        if expired:
            self._rules = [r for r in self._rules if r.remaining != 0]
        if decided is None and latency == 0.0:
            return NO_FAULT
        return FaultOutcome(latency_s=latency, rule=decided)
