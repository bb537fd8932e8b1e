"""The simulator's Graph reads: ``GET /{version}/{node}?fields=…``.

A business number's node answers its capacity fields (``throughput``,
``whatsapp_business_manager_messaging_limit``, ``quality_rating``,
``is_on_biz_app`` …) from ``SimulatedAccount``. Tokens and, when required,
``appsecret_proof`` are checked as for sends.

    GET /v24.0/106540352242922?fields=throughput,quality_rating
    -> {"throughput": {"level": "STANDARD"}, "quality_rating": "GREEN", "id": "106540352242922"}
"""

from __future__ import annotations

from aiohttp import web

from sidecar.simulator.auth import authorise, error
from sidecar.simulator.state import SIMULATOR_STATE


async def _node(request: web.Request) -> web.Response:
    """``GET /{version}/{node}``: a business number's fields."""
    state = request.app[SIMULATOR_STATE]
    denied = authorise(request, state)
    if denied is not None:
        return denied
    node = request.match_info["node"]
    known = state.settings.known_phone_number_ids
    if not node.isdigit() or (known and node not in known):
        return error(
            100, message=f"Unsupported get request. Object with ID '{node}' does not exist."
        )
    return web.json_response(state.account.phone_fields(node, request.query.get("fields", "")))


def add_read_routes(router: web.UrlDispatcher, version: str) -> None:
    """Register the read endpoints (after every fixed path: ``{node}`` matches any)."""
    router.add_get(f"/{version}/{{node}}", _node)
