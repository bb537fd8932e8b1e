"""Graph reads of Meta's own analytics for a WhatsApp Business Account (WABA).

Three calls, each shaped as Meta's Analytics page describes (checked against
developers.facebook.com/documentation/business-messaging/whatsapp/analytics
and its mirrors, 2026):

- message analytics, a field of the WABA node:
  ``GET /{waba}?fields=analytics.start(S).end(E).granularity(DAY)`` →
  ``{"analytics": {"granularity": "DAY", "data_points": [{"start", "end",
  "sent", "delivered"}, …]}, "id": …}``;
- the templates: ``GET /{waba}/message_templates?fields=id,name,category,
  language,status&limit=100`` → ``{"data": […], "paging": {"cursors":
  {"after": …}, "next": …}}``;
- template analytics, at most 10 templates a call:
  ``GET /{waba}/template_analytics?start=S&end=E&granularity=DAILY&
  metric_types=[…]&template_ids=[…]`` → ``{"data": [{"granularity": "DAILY",
  "data_points": [{"template_id", "start", "end", "sent", "delivered",
  "read", "clicked": [{"type", "button_content", "count"}]}]}]}``.

Wire format in, typed records out; a missing count reads as 0, an item that
is not an object is skipped (Meta's analytics are advisory, never a reason to
stop). ``GraphError`` for every failed call (80007: the WABA's rate limit).

    days = await read_message_analytics(graph, waba, start, end)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

TEMPLATE_IDS_PER_CALL = 10
TEMPLATE_METRICS = ("SENT", "DELIVERED", "READ", "CLICKED")


class GraphReader(Protocol):
    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class DayCount:
    """Messages the WABA's numbers sent and delivered in one day (``start`` UTC)."""

    start: int
    sent: int
    delivered: int


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    id: str
    name: str
    category: str
    language: str
    status: str


@dataclass(frozen=True, slots=True)
class TemplateDay:
    """One template's day: sent, delivered, read, and button clicks summed."""

    template_id: str
    start: int
    sent: int
    delivered: int
    read: int
    clicked: int


async def read_message_analytics(
    graph: GraphReader, waba_id: str, start: int, end: int
) -> list[DayCount]:
    fields = f"analytics.start({start}).end({end}).granularity(DAY)"
    data = await graph.get(waba_id, {"fields": fields})
    analytics = data.get("analytics")
    points = analytics.get("data_points") if isinstance(analytics, dict) else None
    return [
        DayCount(_int(p.get("start")), _int(p.get("sent")), _int(p.get("delivered")))
        for p in _objects(points)
    ]


async def read_templates(
    graph: GraphReader, waba_id: str, after: str = ""
) -> tuple[list[TemplateInfo], str]:
    """One page of the WABA's templates and the cursor of the next ("" at the end)."""
    params = {"fields": "id,name,category,language,status", "limit": "100"}
    if after:
        params["after"] = after
    data = await graph.get(f"{waba_id}/message_templates", params)
    templates = [
        TemplateInfo(
            _text(t.get("id")),
            _text(t.get("name")),
            _text(t.get("category")),
            _text(t.get("language")),
            _text(t.get("status")),
        )
        for t in _objects(data.get("data"))
        if _text(t.get("id"))
    ]
    paging = data.get("paging")
    cursors = paging.get("cursors") if isinstance(paging, dict) else None
    more = isinstance(paging, dict) and bool(paging.get("next"))
    next_after = _text(cursors.get("after")) if more and isinstance(cursors, dict) else ""
    return templates, next_after


async def read_template_analytics(
    graph: GraphReader, waba_id: str, template_ids: Sequence[str], start: int, end: int
) -> list[TemplateDay]:
    """Daily counts of up to ``TEMPLATE_IDS_PER_CALL`` templates."""
    if len(template_ids) > TEMPLATE_IDS_PER_CALL:
        raise ValueError(f"at most {TEMPLATE_IDS_PER_CALL} templates a call")
    params = {
        "start": str(start),
        "end": str(end),
        "granularity": "DAILY",
        "metric_types": json.dumps(list(TEMPLATE_METRICS)),
        "template_ids": json.dumps(list(template_ids)),
    }
    data = await graph.get(f"{waba_id}/template_analytics", params)
    days = []
    for block in _objects(data.get("data")):
        for p in _objects(block.get("data_points")):
            clicked = sum(_int(c.get("count")) for c in _objects(p.get("clicked")))
            days.append(
                TemplateDay(
                    _text(p.get("template_id")),
                    _int(p.get("start")),
                    _int(p.get("sent")),
                    _int(p.get("delivered")),
                    _int(p.get("read")),
                    clicked,
                )
            )
    return days


class GraphInsights:
    """The three reads bound to one Graph client (``service.insights.InsightsReader``)."""

    def __init__(self, graph: GraphReader) -> None:
        self._graph = graph

    async def messages(self, waba_id: str, start: int, end: int) -> list[DayCount]:
        return await read_message_analytics(self._graph, waba_id, start, end)

    async def templates(self, waba_id: str, after: str) -> tuple[list[TemplateInfo], str]:
        return await read_templates(self._graph, waba_id, after)

    async def template_days(
        self, waba_id: str, ids: Sequence[str], start: int, end: int
    ) -> list[TemplateDay]:
        return await read_template_analytics(self._graph, waba_id, ids, start, end)


def _objects(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""
