"""What the sidecar does with account webhooks (``whatsapp/account_events.py``).

Before the dedup claim, like every webhook effect, and idempotent:
``apply`` records a template's APPROVED/REJECTED/... in the state store (the
template approval rate of ``wa-sidecar kpis``). After the claim, for new
events only: ``report`` counts them in metrics with closed label sets, logs
them, and tells the capacity tracker (``on_capacity_change``) to read the
number's throughput and the portfolio's messaging limit again at once.

    account = AccountEvents(metrics, templates=state, on_capacity_change=capacity.poke)
    await account.apply(event, event_key)     # effects, before the claim
    account.report([event])                   # metrics, logs, capacity: new events only
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from sidecar.telemetry.metrics import Metrics
from sidecar.whatsapp.account_events import (
    AccountAlert,
    AccountEvent,
    CapabilityUpdate,
    PhoneQualityUpdate,
    TemplateCategoryUpdate,
    TemplateStatusUpdate,
)

log = logging.getLogger(__name__)

ACCOUNT_EVENT_TYPES = (
    TemplateStatusUpdate,
    TemplateCategoryUpdate,
    PhoneQualityUpdate,
    CapabilityUpdate,
    AccountAlert,
)

TEMPLATE_EVENTS = frozenset(
    {
        "APPROVED", "REJECTED", "PENDING", "PAUSED", "DISABLED", "FLAGGED", "REINSTATED",
        "IN_APPEAL", "LOCKED", "UNLOCKED", "ARCHIVED", "UNARCHIVED", "DELETED",
        "PENDING_DELETION", "LIMIT_EXCEEDED",
    }
)  # fmt: skip
TEMPLATE_CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
QUALITY_EVENTS = frozenset(
    {"ONBOARDING", "THROUGHPUT_UPGRADE", "UPGRADE", "DOWNGRADE", "FLAGGED", "UNFLAGGED"}
)
ALERT_SEVERITIES = frozenset({"CRITICAL", "WARNING", "INFORMATIONAL"})
ALERT_TYPES = frozenset(
    {
        "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
        "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED",
        "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO",
        "OBA_APPROVED",
        "OBA_REJECTED",
        "PROFILE_PICTURE_LOST",
    }
)
# Template events worth a warning in the logs (the alerts fire on the metric).
_BAD_TEMPLATE_EVENTS = frozenset({"REJECTED", "PAUSED", "DISABLED", "FLAGGED"})


def closed(value: str, allowed: frozenset[str], *, empty: str = "unknown") -> str:
    """``value`` upper-cased if it is one of ``allowed``; ``empty`` or "other" if not."""
    if not value:
        return empty
    upper = value.upper()
    return upper if upper in allowed else "other"


def template_category(value: str) -> str:
    """A template category as the KPIs and metrics label it (unknown when absent)."""
    return closed(value, TEMPLATE_CATEGORIES)


class TemplateStatusStore(Protocol):
    async def record_template_status(
        self, event_key: str, template_id: str, event: str, category: str, at: float
    ) -> None:
        """Keep one template status event (insert or ignore by ``event_key``)."""
        ...


class AccountEvents:
    """Effects, metrics and the capacity trigger of account webhooks."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        templates: TemplateStatusStore | None = None,
        on_capacity_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._metrics = metrics
        self._templates = templates
        self.on_capacity_change = on_capacity_change
        self._clock = clock

    async def apply(self, event: AccountEvent, event_key: str) -> None:
        """The durable effect of one event (idempotent by ``event_key``)."""
        if isinstance(event, TemplateStatusUpdate) and self._templates is not None:
            await self._templates.record_template_status(
                event_key,
                event.template_id,
                closed(event.event, TEMPLATE_EVENTS),
                template_category(event.category),
                # entry[].time is when Meta decided; without it, when we heard.
                float(event.entry_time) or self._clock(),
            )

    def report(self, events: Sequence[AccountEvent]) -> None:
        """Count, log and act on the new events of one delivery."""
        capacity = False
        m = self._metrics
        for event in events:
            if isinstance(event, TemplateStatusUpdate):
                name = closed(event.event, TEMPLATE_EVENTS)
                m.template_statuses.labels(name, template_category(event.category)).inc()
                level = logging.WARNING if name in _BAD_TEMPLATE_EVENTS else logging.INFO
                log.log(
                    level,
                    "template status changed",
                    extra={
                        "event": "template_status",
                        "template": event.name,
                        "template_id": event.template_id,
                        "status": name,
                        "reason": event.reason,
                        "title": event.title,
                    },
                )
            elif isinstance(event, TemplateCategoryUpdate):
                new = event.new_category or event.correct_category
                m.template_categories.labels(template_category(new)).inc()
                log.info(
                    "template category changed",
                    extra={
                        "event": "template_category",
                        "template_id": event.template_id,
                        "previous": event.previous_category,
                        "new": new,
                    },
                )
            elif isinstance(event, PhoneQualityUpdate):
                m.phone_quality.labels(closed(event.event, QUALITY_EVENTS)).inc()
                capacity = True
                log.info(
                    "phone number quality update",
                    extra={"event": "phone_quality", "quality_event": event.event},
                )
            elif isinstance(event, CapabilityUpdate):
                m.capability_updates.inc()
                capacity = True
                log.info(
                    "business capability update",
                    extra={
                        "event": "capability",
                        "max_daily_per_business": event.max_daily_per_business,
                    },
                )
            else:
                severity = closed(event.severity, ALERT_SEVERITIES)
                m.account_alerts.labels(severity, closed(event.type, ALERT_TYPES)).inc()
                log.warning(
                    "account alert",
                    extra={"event": "account_alert", "severity": severity, "type": event.type},
                )
        if capacity and self.on_capacity_change is not None:
            self.on_capacity_change()
