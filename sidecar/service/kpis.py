"""Delivery KPIs read from the durable status records (no Prometheus needed).

``wa-sidecar kpis`` prints, per window of N days ending now, what the
recording rules in ``deploy/prometheus/rules.yaml`` compute from metrics, but
from the ``statuses`` rows the status webhooks left in the state store
(``SendStore.status_counts``), so it works with no Prometheus and sees every
replica's webhooks at once.

Counts (status webhooks whose own ``timestamp`` falls in the window):

- ``sent``: ``sent`` statuses, the messages Meta accepted and dispatched;
- ``delivered``: messages that reached the phone, ``max(delivered, read)``.
  Meta may skip ``delivered`` when ``read`` arrives first ("implied … since it
  was read"), so a read counts as a delivery: there were at least as many
  deliveries as reads. The store counts statuses, not messages, so when some
  reads skipped ``delivered`` and other deliveries were never read this is a
  lower bound; ``delivered_statuses`` keeps the raw count;
- ``read``, ``failed``: ``read`` and ``failed`` statuses.

Rates (``None`` when the denominator is 0):

- ``delivery_rate`` = delivered / sent
- ``read_rate``     = read / delivered
- ``failure_rate``  = failed / sent

The recording rules divide by ``wa_sidecar_sends_total{outcome="sent"}``
(messages the sidecar saw accepted) where this divides by ``sent`` webhooks,
and they take ``delivered`` statuses as they come; on a steady stream both
agree. A window longer than ``retention_days`` is marked incomplete: the
retention task has already deleted its oldest statuses.

Engagement, from the ``template_events`` and ``sessions`` rows
(``EngagementStore``):

- ``templates``, per template category (MARKETING, UTILITY, AUTHENTICATION,
  and ``unknown`` when Meta named none): ``approved`` and ``rejected``
  ``message_template_status_update`` events dated in the window, and
  ``approval_rate`` = approved / (approved + rejected);
- ``sessions``: user-initiated sessions (an inbound message that found no
  open service window) opened in the window. ``replied``: those the business
  answered within the window length (24 h) of the opening message, with a
  send Graph accepted; ``pending``: unanswered ones still inside it (their
  outcome is not known yet, so they are left out of the rate);
  ``response_rate`` = replied / (opened − pending);
  ``median_first_reply_seconds``: the median of opening → first reply over
  the replied sessions (the mean of the two middle ones for an even count).

The recording rules compute the same from ``wa_sidecar_template_status_updates_total``,
``wa_sidecar_sessions_opened_total`` and ``wa_sidecar_session_first_reply_seconds``
(a reply counts when it happens, an opened session when it opens, so over a
window they agree up to the sessions still pending at its edges).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

DAY = 86_400.0
DEFAULT_WINDOWS: tuple[int, ...] = (1, 7, 30)
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")


class StatusCounts(Protocol):
    async def status_counts(self, since: float) -> dict[str, int]: ...


class KpiSource(StatusCounts, Protocol):
    """What ``read_kpis`` asks the state store."""

    async def template_counts(self, since: float) -> dict[tuple[str, str], int]: ...

    async def session_times(self, since: float) -> list[tuple[float, float | None]]: ...


@dataclass(frozen=True, slots=True)
class TemplateApproval:
    """Template review outcomes of one category in one window."""

    approved: int
    rejected: int

    @property
    def approval_rate(self) -> float | None:
        return _ratio(self.approved, self.approved + self.rejected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "rejected": self.rejected,
            "approval_rate": self.approval_rate,
        }


@dataclass(frozen=True, slots=True)
class SessionKpis:
    """User-initiated sessions opened in one window, and how they were answered."""

    opened: int = 0
    replied: int = 0
    pending: int = 0
    median_first_reply: float | None = None

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.replied, self.opened - self.pending)

    def to_dict(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "replied": self.replied,
            "pending": self.pending,
            "response_rate": self.response_rate,
            "median_first_reply_seconds": self.median_first_reply,
        }


def template_approval(counts: Mapping[tuple[str, str], int]) -> dict[str, TemplateApproval]:
    """Approved and rejected per category (pure); the three Meta categories
    always appear, any other category only when it has events."""
    approved: dict[str, int] = dict.fromkeys(TEMPLATE_CATEGORIES, 0)
    rejected: dict[str, int] = dict.fromkeys(TEMPLATE_CATEGORIES, 0)
    for (category, event), n in counts.items():
        if event == "APPROVED":
            approved[category] = approved.get(category, 0) + n
        elif event == "REJECTED":
            rejected[category] = rejected.get(category, 0) + n
    return {
        c: TemplateApproval(approved.get(c, 0), rejected.get(c, 0))
        for c in dict.fromkeys([*approved, *rejected])
    }


def session_kpis(
    times: Sequence[tuple[float, float | None]], now: float, window: float
) -> SessionKpis:
    """Sessions from their ``(opened_at, first_reply_at)`` (pure). A first reply
    counts when it came within ``window`` seconds of the opening (the store
    records only those); an unanswered session younger than ``window`` is pending."""
    delays = [reply - opened for opened, reply in times if reply is not None]
    pending = sum(1 for opened, reply in times if reply is None and now - opened < window)
    return SessionKpis(
        opened=len(times),
        replied=len(delays),
        pending=pending,
        median_first_reply=round(statistics.median(delays), 3) if delays else None,
    )


@dataclass(frozen=True, slots=True)
class WindowKpis:
    days: int
    since: float
    sent: int
    delivered: int
    delivered_statuses: int
    read: int
    failed: int
    complete: bool
    templates: dict[str, TemplateApproval] = field(default_factory=dict)
    sessions: SessionKpis = field(default_factory=SessionKpis)

    @property
    def delivery_rate(self) -> float | None:
        return _ratio(self.delivered, self.sent)

    @property
    def read_rate(self) -> float | None:
        return _ratio(self.read, self.delivered)

    @property
    def failure_rate(self) -> float | None:
        return _ratio(self.failed, self.sent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "since": self.since,
            "complete": self.complete,
            "sent": self.sent,
            "delivered": self.delivered,
            "delivered_statuses": self.delivered_statuses,
            "read": self.read,
            "failed": self.failed,
            "delivery_rate": self.delivery_rate,
            "read_rate": self.read_rate,
            "failure_rate": self.failure_rate,
            "templates": {c: t.to_dict() for c, t in self.templates.items()},
            "sessions": self.sessions.to_dict(),
        }


def window_kpis(
    days: int, since: float, counts: Mapping[str, int], retention_days: int
) -> WindowKpis:
    """The KPIs of one window from its status counts (pure)."""
    delivered = counts.get("delivered", 0)
    read = counts.get("read", 0)
    return WindowKpis(
        days=days,
        since=since,
        sent=counts.get("sent", 0),
        delivered=max(delivered, read),
        delivered_statuses=delivered,
        read=read,
        failed=counts.get("failed", 0),
        complete=days <= retention_days,
    )


async def read_kpis(
    store: KpiSource,
    windows: Iterable[int],
    now: float,
    retention_days: int,
    *,
    session_window: float = DAY,
) -> list[WindowKpis]:
    """Per window, in the order given: its status counts, template events and
    sessions (three queries)."""
    out = []
    for days in windows:
        since = now - days * DAY
        kpis = window_kpis(days, since, await store.status_counts(since), retention_days)
        out.append(
            replace(
                kpis,
                templates=template_approval(await store.template_counts(since)),
                sessions=session_kpis(await store.session_times(since), now, session_window),
            )
        )
    return out


def parse_windows(text: str) -> tuple[int, ...]:
    """``"1,7,30"`` → ``(1, 7, 30)``; ValueError on anything but positive whole days."""
    days = []
    for part in text.split(","):
        value = int(part.strip())
        if value <= 0:
            raise ValueError(f"window must be a positive number of days, got {value}")
        days.append(value)
    return tuple(dict.fromkeys(days))


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None
