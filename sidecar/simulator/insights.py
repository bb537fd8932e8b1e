"""The simulated account's analytics: Meta's own counts, consistent with what
the simulator accepted.

Every accepted message counts as sent on its UTC day, and as delivered (and
read) when the simulator's status sequence says so and no scripted fault
failed it — the same statuses the sidecar receives by webhook. Template sends
count per template as well (by name; a name the simulator does not know
becomes a UTILITY template with a new id). ``answer_*`` build the bodies of
the three Graph reads ``whatsapp/insights.py`` makes; ``fail_next`` scripts
error codes (80007: the WABA's rate limit) for the next analytics calls.

    insights.note_accepted(time.time(), "otp", delivered=True, read=True)
    insights.fail_next.extend([80007, 80007])
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400


@dataclass(frozen=True, slots=True)
class SimTemplate:
    id: str
    name: str
    category: str
    language: str = "en_US"
    status: str = "APPROVED"


DEFAULT_TEMPLATES = (
    SimTemplate("1000000000000101", "otp", "AUTHENTICATION"),
    SimTemplate("1000000000000102", "promo", "MARKETING"),
    SimTemplate("1000000000000103", "order_update", "UTILITY"),
)


@dataclass(slots=True)
class SimulatedInsights:
    """Counts per day and per template, the templates, scripted failures."""

    templates: dict[str, SimTemplate] = field(
        default_factory=lambda: {t.name: t for t in DEFAULT_TEMPLATES}
    )
    days: Counter[tuple[int, str]] = field(default_factory=Counter)
    template_days: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    fail_next: list[int] = field(default_factory=list)
    calls: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, what)

    def note_accepted(
        self, accepted_at: float, template: str | None, *, delivered: bool, read: bool
    ) -> None:
        day = int(accepted_at // DAY) * DAY
        kinds = ["sent"] + (["delivered"] if delivered else []) + (["read"] if read else [])
        for kind in kinds:
            if kind != "read":
                self.days[(day, kind)] += 1
        if template is not None:
            known = self.templates.get(template)
            if known is None:
                known = self.templates[template] = SimTemplate(
                    str(1000000000000101 + len(self.templates)), template, "UTILITY"
                )
            for kind in kinds:
                self.template_days[(known.id, day, kind)] += 1

    def failure(self, what: str) -> int | None:
        """Record an analytics call; the scripted error code it gets, if any."""
        self.calls.append((time.monotonic(), what))
        return self.fail_next.pop(0) if self.fail_next else None

    def answer_message_analytics(self, fields: str, waba_id: str) -> dict[str, Any]:
        start, end = _filter(fields, "start"), _filter(fields, "end")
        points = [
            {"start": day, "end": day + DAY, "sent": self.days[(day, "sent")],
             "delivered": self.days[(day, "delivered")]}
            for day in sorted({d for d, _ in self.days})
            if start <= day < end
        ]  # fmt: skip
        return {
            "analytics": {"phone_numbers": [], "granularity": "DAY", "data_points": points},
            "id": waba_id,
        }

    def answer_templates(self) -> dict[str, Any]:
        data = [
            {"id": t.id, "name": t.name, "category": t.category, "language": t.language,
             "status": t.status}
            for t in self.templates.values()
        ]  # fmt: skip
        return {"data": data, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}}

    def answer_template_analytics(self, query: dict[str, str]) -> dict[str, Any]:
        """``ValueError`` for a request Meta would refuse (no ids, more than 10)."""
        ids = json.loads(query.get("template_ids", "[]"))
        if not isinstance(ids, list) or not 0 < len(ids) <= 10:
            raise ValueError("template_ids must list 1 to 10 templates")
        start, end = int(query.get("start", "0")), int(query.get("end", "0"))
        days = sorted({d for _, d, _ in self.template_days})
        points = [
            {"template_id": tid, "start": day, "end": day + DAY,
             "sent": self.template_days[(tid, day, "sent")],
             "delivered": self.template_days[(tid, day, "delivered")],
             "read": self.template_days[(tid, day, "read")], "clicked": []}
            for tid in map(str, ids)
            for day in days
            if start <= day < end
        ]  # fmt: skip
        return {
            "data": [{"granularity": "DAILY", "product_type": "cloud_api", "data_points": points}],
            "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}},
        }

    def reset(self) -> None:
        self.templates = {t.name: t for t in DEFAULT_TEMPLATES}
        self.days.clear()
        self.template_days.clear()
        self.fail_next.clear()
        self.calls.clear()


def _filter(fields: str, name: str) -> int:
    """``start``/``end`` of ``analytics.start(1).end(2).granularity(DAY)``."""
    marker = f".{name}("
    at = fields.find(marker)
    if at < 0:
        return 0
    value = fields[at + len(marker) : fields.find(")", at)]
    return int(value) if value.isdigit() else 0
