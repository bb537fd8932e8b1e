"""Meta's own analytics, pulled into metrics (on when ``WA_SIDECAR_WABA_ID`` is set).

Every ``interval`` seconds a pull reads, for the UTC days yesterday and today,
the WABA's message analytics (sent, delivered), its templates (one page per
100) and their analytics (sent, delivered, read, clicked; 10 templates a
call), and exports them as the ``wa_sidecar_meta_*`` gauges, so Meta's numbers
sit beside the sidecar's own counts on one dashboard.

Rate: Meta allows an app 5,000 calls per hour per WABA (FACTS §5) — for every
call it makes, not just these — and answers 80007 above it. Each call takes a
token from a bucket in the quota store (``calls_per_hour``, shared by every
replica on it), waiting for it if need be; an 80007 (or the app-wide 4) ends
the pull and the next one waits ``interval × 2^n`` for the n-th such answer in
a row (at most an hour). Other failures are counted and the pull is tried
again at the next interval.

    puller = InsightsPuller(reader, quota_store, metrics, InsightsSettings("1029…", 900, 200))
    task = asyncio.create_task(puller.run(stop))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

from sidecar.errors import StoreUnavailable
from sidecar.service.account import template_category
from sidecar.stores.base import QuotaStore
from sidecar.telemetry.metrics import Metrics
from sidecar.whatsapp.errors import GraphError
from sidecar.whatsapp.insights import (
    TEMPLATE_IDS_PER_CALL,
    DayCount,
    TemplateDay,
    TemplateInfo,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DAY = 86_400
THROTTLED = frozenset({80007, 4})  # the WABA's limit, the app's limit
MAX_PAUSE = 3600.0
MAX_TEMPLATE_PAGES = 5  # 500 templates: Meta caps a WABA at 250


class InsightsReader(Protocol):
    """The three Graph reads (``whatsapp/insights.py``), bound to a client."""

    async def messages(self, waba_id: str, start: int, end: int) -> list[DayCount]: ...

    async def templates(self, waba_id: str, after: str) -> tuple[list[TemplateInfo], str]: ...

    async def template_days(
        self, waba_id: str, ids: Sequence[str], start: int, end: int
    ) -> list[TemplateDay]: ...


@dataclass(frozen=True, slots=True)
class InsightsSettings:
    waba_id: str
    interval: float
    calls_per_hour: int


class InsightsPuller:
    """Pulls Meta's analytics at a bounded rate (see module doc)."""

    def __init__(
        self,
        reader: InsightsReader,
        budget: QuotaStore,
        metrics: Metrics,
        settings: InsightsSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._read = reader
        self._budget = budget
        self._metrics = metrics
        self._s = settings
        self._clock = clock
        self._sleep = sleep
        self.throttled_in_a_row = 0

    def pause(self) -> float:
        """Seconds until the next pull: the interval, doubled per 80007 in a row."""
        if not self.throttled_in_a_row:
            return self._s.interval
        return min(self._s.interval * 2.0**self.throttled_in_a_row, MAX_PAUSE)

    async def run(self, stop: asyncio.Event) -> None:
        """Pull at start and after every pause until ``stop`` (which cuts a pull short)."""
        while not stop.is_set():
            pulling = asyncio.ensure_future(self.pull())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({pulling, stopping}, return_when="FIRST_COMPLETED")
            finally:
                for task in (pulling, stopping):
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.pause())

    async def pull(self) -> bool:
        """One pull; True when every read succeeded and the gauges were replaced."""
        waba = self._s.waba_id
        today = int(self._clock() // DAY) * DAY
        start, end = today - DAY, today + DAY
        try:
            days = await self._call(partial(self._read.messages, waba, start, end))
            templates = await self._templates(waba)
            template_days: list[TemplateDay] = []
            ids = [t.id for t in templates]
            for at in range(0, len(ids), TEMPLATE_IDS_PER_CALL):
                chunk = ids[at : at + TEMPLATE_IDS_PER_CALL]
                template_days += await self._call(
                    partial(self._read.template_days, waba, chunk, start, end)
                )
        except GraphError as err:
            throttled = err.code in THROTTLED
            self.throttled_in_a_row = self.throttled_in_a_row + 1 if throttled else 0
            self._metrics.meta_pulls.labels("throttled" if throttled else "failed").inc()
            log.warning(
                "Meta analytics not pulled: %s",
                "rate limited, backing off" if throttled else "Graph error",
                extra={"event": "insights_pull_failed", "code": err.code, "pause_s": self.pause()},
            )
            return False
        self.throttled_in_a_row = 0
        self._export(today, days, templates, template_days)
        self._metrics.meta_pulls.labels("ok").inc()
        self._metrics.meta_last_pull.set(self._clock())
        return True

    async def _templates(self, waba: str) -> list[TemplateInfo]:
        found: list[TemplateInfo] = []
        after = ""
        for _ in range(MAX_TEMPLATE_PAGES):
            page, after = await self._call(partial(self._read.templates, waba, after))
            found += page
            if not after:
                break
        return found

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        """Take a token of the shared budget (waiting for it), then make the call."""
        rate = self._s.calls_per_hour / 3600.0
        burst = float(max(1, min(20, self._s.calls_per_hour)))
        while True:
            try:
                wait = await self._budget.acquire(f"insights:{self._s.waba_id}", rate, burst)
            except StoreUnavailable:
                wait = 1.0 / rate  # the store is down: pace on our own
                await self._sleep(wait)
                break
            if wait <= 0:
                break
            await self._sleep(wait)
        self._metrics.meta_calls.inc()
        return await call()

    def _export(
        self,
        today: int,
        days: list[DayCount],
        templates: list[TemplateInfo],
        template_days: list[TemplateDay],
    ) -> None:
        """Replace the gauges in one synchronous step (a scrape sees all or nothing new)."""
        periods = {today: "today", today - DAY: "yesterday"}
        m = self._metrics
        m.meta_messages.clear()
        for name in periods.values():  # a day without data points is a day of zeros
            m.meta_messages.labels("sent", name).set(0)
            m.meta_messages.labels("delivered", name).set(0)
        for day in days:
            when = periods.get(day.start)
            if when is not None:
                m.meta_messages.labels("sent", when).set(day.sent)
                m.meta_messages.labels("delivered", when).set(day.delivered)
        by_id = {t.id: t for t in templates}
        m.meta_template_messages.clear()
        for point in template_days:
            period = periods.get(point.start)
            template = by_id.get(point.template_id)
            if period is None or template is None:
                continue  # another day, or a template deleted meanwhile
            labels = (template.id, template.name, template_category(template.category))
            for metric, value in (
                ("sent", point.sent),
                ("delivered", point.delivered),
                ("read", point.read),
                ("clicked", point.clicked),
            ):
                m.meta_template_messages.labels(*labels, metric, period).set(value)
