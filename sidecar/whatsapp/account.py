"""Graph reads about a business number: its throughput level, the portfolio's
messaging limit, its quality rating and whether it is also on the WhatsApp
Business app (coexistence). Wire format in, typed record out.

``GET /{phone_number_id}?fields=throughput,whatsapp_business_manager_messaging_limit,
quality_rating,is_on_biz_app`` answers e.g. ``{"throughput": {"level": "STANDARD"},
"whatsapp_business_manager_messaging_limit": "TIER_2K", "quality_rating": "GREEN",
"id": "…"}`` (FACTS §5; ``messaging_limit_tier`` is deprecated). A field Graph
leaves out reads as "" (unknown), never as a guess.

    capacity = await read_capacity(graph, "106540352242922")
    capacity.throughput, capacity.messaging_limit     # "HIGH", "TIER_10K"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

CAPACITY_FIELDS = (
    "throughput,whatsapp_business_manager_messaging_limit,quality_rating,is_on_biz_app"
)


class GraphReader(Protocol):
    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class NumberCapacity:
    """What Graph says of one business number; "" where it said nothing."""

    throughput: str
    messaging_limit: str
    quality: str
    on_business_app: bool


async def read_capacity(graph: GraphReader, phone_number_id: str) -> NumberCapacity:
    """One Graph call; ``GraphError`` when it fails."""
    data = await graph.get(phone_number_id, {"fields": CAPACITY_FIELDS})
    throughput = data.get("throughput")
    level = throughput.get("level") if isinstance(throughput, dict) else None
    return NumberCapacity(
        throughput=_text(level),
        messaging_limit=_text(data.get("whatsapp_business_manager_messaging_limit")),
        quality=_text(data.get("quality_rating")),
        on_business_app=data.get("is_on_biz_app") is True,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
