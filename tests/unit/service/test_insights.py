"""Meta's analytics: the Graph reads parse Meta's shapes, and the puller keeps
within its call budget and backs off on 80007 (fake time: exact figures)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from support.service import FakeTime, Rig

from sidecar.service.insights import InsightsPuller, InsightsSettings
from sidecar.whatsapp.errors import GraphError
from sidecar.whatsapp.insights import (
    DayCount,
    GraphInsights,
    TemplateDay,
    TemplateInfo,
    read_message_analytics,
    read_template_analytics,
    read_templates,
)

pytestmark = pytest.mark.unit

WABA = "102290129340398"
DAY = 86_400


class Doc:
    """A Graph that answers one document and remembers what it was asked."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        self.asked.append((path, params))
        return self.doc


async def test_message_analytics_as_metas_example_shows_them() -> None:
    graph = Doc(
        {
            "analytics": {
                "phone_numbers": ["16505550111"],
                "granularity": "DAY",
                "data_points": [
                    {"start": 1647327600, "end": 1647414000, "sent": 1, "delivered": 1},
                    {"start": 1648710000, "end": 1648796400, "sent": 4, "delivered": 3},
                    "not a point",
                ],
            },
            "id": WABA,
        }
    )
    days = await read_message_analytics(graph, WABA, 1641024000, 1651094880)
    assert days == [DayCount(1647327600, 1, 1), DayCount(1648710000, 4, 3)]
    assert graph.asked == [
        (WABA, {"fields": "analytics.start(1641024000).end(1651094880).granularity(DAY)"})
    ]


async def test_template_analytics_sum_the_clicks_of_every_button() -> None:
    point = {
        "template_id": "1924084211297547",
        "start": 1689379200,
        "end": 1689465600,
        "sent": 9,
        "delivered": 8,
        "read": 5,
        "clicked": [
            {"type": "quick_reply_button", "button_content": "Tell me more", "count": 3},
            {"type": "url_button", "button_content": "Shop", "count": 2},
        ],
    }
    graph = Doc({"data": [{"granularity": "DAILY", "data_points": [point]}]})
    days = await read_template_analytics(graph, WABA, ["1924084211297547"], 1, 2)
    assert days == [TemplateDay("1924084211297547", 1689379200, 9, 8, 5, 5)]
    path, params = graph.asked[0]
    assert path == f"{WABA}/template_analytics"
    assert params["template_ids"] == '["1924084211297547"]'
    assert params["granularity"] == "DAILY"
    with pytest.raises(ValueError):
        await read_template_analytics(graph, WABA, [str(n) for n in range(11)], 1, 2)


async def test_templates_page_until_there_is_no_next() -> None:
    first = Doc(
        {
            "data": [{"id": "1", "name": "otp", "category": "AUTHENTICATION", "language": "en"}],
            "paging": {"cursors": {"after": "abc"}, "next": "https://graph…"},
        }
    )
    templates, after = await read_templates(first, WABA)
    assert (templates, after) == ([TemplateInfo("1", "otp", "AUTHENTICATION", "en", "")], "abc")
    last = Doc({"data": [], "paging": {"cursors": {"after": "zzz"}}})  # no "next": the end
    assert await read_templates(last, WABA, "abc") == ([], "")
    assert last.asked[0][1]["after"] == "abc"


class Meta:
    """Meta's analytics for the puller: three templates; may refuse with 80007."""

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.calls: list[float] = []
        self.refuse: list[int] = []

    def _call(self) -> None:
        self.calls.append(self.clock())
        if self.refuse:
            raise GraphError(code=self.refuse.pop(0), http_status=429, message="(#80007)")

    async def messages(self, waba_id: str, start: int, end: int) -> list[DayCount]:
        self._call()
        return [DayCount(start + DAY, 7, 6)]

    async def templates(self, waba_id: str, after: str) -> tuple[list[TemplateInfo], str]:
        self._call()
        return [TemplateInfo(str(n), f"t{n}", "MARKETING", "en", "APPROVED") for n in range(3)], ""

    async def template_days(
        self, waba_id: str, ids: Sequence[str], start: int, end: int
    ) -> list[TemplateDay]:
        self._call()
        return [TemplateDay(i, start + DAY, 2, 2, 1, 0) for i in ids]


def puller(rig: Rig, meta: Meta, clock: FakeTime, calls_per_hour: int) -> InsightsPuller:
    settings = InsightsSettings(WABA, interval=60.0, calls_per_hour=calls_per_hour)
    return InsightsPuller(meta, rig.quota, rig.metrics, settings, clock=clock, sleep=clock.sleep)


async def test_a_pull_replaces_the_gauges_with_metas_numbers(rig: Rig, clock: FakeTime) -> None:
    meta = Meta(clock)
    assert await puller(rig, meta, clock, 5000).pull()
    assert rig.metric("wa_sidecar_meta_messages", metric="sent", period="today") == 7
    assert rig.metric("wa_sidecar_meta_messages", metric="delivered", period="yesterday") == 0
    labels = {"template_id": "2", "template": "t2", "category": "MARKETING", "period": "today"}
    assert rig.metric("wa_sidecar_meta_template_messages", metric="read", **labels) == 1
    assert rig.metric("wa_sidecar_meta_calls_total") == 3


async def test_calls_stay_within_the_hourly_budget(rig: Rig, clock: FakeTime) -> None:
    meta = Meta(clock)
    pulling = puller(rig, meta, clock, calls_per_hour=36)  # one call per 100 s, 20 at once
    for _ in range(10):
        assert await pulling.pull()
    assert len(meta.calls) == 30
    assert meta.calls[19] == meta.calls[0]  # the burst
    assert [b - a for a, b in zip(meta.calls[19:], meta.calls[20:], strict=False)] == [100.0] * 10


async def test_80007_doubles_the_pause_up_to_an_hour_and_success_resets_it(
    rig: Rig, clock: FakeTime
) -> None:
    meta = Meta(clock)
    pulling = puller(rig, meta, clock, 5000)
    assert pulling.pause() == 60.0
    pauses = []
    for _ in range(7):
        meta.refuse.append(80007)
        assert not await pulling.pull()
        pauses.append(pulling.pause())
    assert pauses == [120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0]
    assert await pulling.pull()
    assert pulling.pause() == 60.0
    meta.refuse.append(100)  # not a rate limit: no back-off, just counted
    assert not await pulling.pull()
    assert pulling.pause() == 60.0
    assert rig.metric("wa_sidecar_meta_pulls_total", result="throttled") == 7
    assert rig.metric("wa_sidecar_meta_pulls_total", result="failed") == 1


async def test_the_graph_adapter_makes_the_same_reads() -> None:
    doc = {"analytics": {"data_points": [{"start": 0, "sent": 2, "delivered": "1"}]}}
    assert await GraphInsights(Doc(doc)).messages(WABA, 0, DAY) == [DayCount(0, 2, 1)]
