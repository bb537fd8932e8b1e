"""Read a sidecar's /metrics in tests.

samples = await scrape(proc.admin_url)
assert total(samples, "wa_sidecar_account_alerts_total", severity="WARNING") == 1
"""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(admin_url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(admin_url + "/metrics") as reply:
        text = await reply.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)
