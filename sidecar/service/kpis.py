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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DAY = 86_400.0
DEFAULT_WINDOWS: tuple[int, ...] = (1, 7, 30)


class StatusCounts(Protocol):
    async def status_counts(self, since: float) -> dict[str, int]: ...


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
    store: StatusCounts, windows: Iterable[int], now: float, retention_days: int
) -> list[WindowKpis]:
    """One ``status_counts`` query per window, in the order given."""
    out = []
    for days in windows:
        since = now - days * DAY
        out.append(window_kpis(days, since, await store.status_counts(since), retention_days))
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
