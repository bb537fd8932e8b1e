"""The simulator's Graph reads: ``GET /{version}/{node}`` and its edges.

- A business number's node answers its capacity fields (``throughput``,
  ``whatsapp_business_manager_messaging_limit``, ``quality_rating``,
  ``is_on_biz_app`` …) from ``SimulatedAccount``.
- The WABA's node answers ``fields=analytics.start(S).end(E).granularity(DAY)``,
  and its edges ``message_templates`` and ``template_analytics``, from
  ``SimulatedInsights`` (scripted error codes first, e.g. 80007).

Tokens and, when required, ``appsecret_proof`` are checked as for sends.

    GET /v24.0/106540352242922?fields=throughput,quality_rating
    -> {"throughput": {"level": "STANDARD"}, "quality_rating": "GREEN", "id": "106540352242922"}
"""

from __future__ import annotations

from aiohttp import web

from sidecar.simulator.auth import authorise, error
from sidecar.simulator.state import SIMULATOR_STATE


def _unknown(node: str) -> web.Response:
    return error(100, message=f"Unsupported get request. Object with ID '{node}' does not exist.")


async def _node(request: web.Request) -> web.Response:
    """``GET /{version}/{node}``: the WABA's analytics, or a business number's fields."""
    state = request.app[SIMULATOR_STATE]
    denied = authorise(request, state)
    if denied is not None:
        return denied
    node = request.match_info["node"]
    fields = request.query.get("fields", "")
    if node == state.settings.waba_id:
        if not fields.startswith("analytics"):
            return error(100, details="Only the analytics field is simulated on the WABA.")
        code = state.insights.failure("analytics")
        if code is not None:
            return error(code)
        return web.json_response(state.insights.answer_message_analytics(fields, node))
    known = state.settings.known_phone_number_ids
    if not node.isdigit() or (known and node not in known):
        return _unknown(node)
    return web.json_response(state.account.phone_fields(node, fields))


async def _edge(request: web.Request) -> web.Response:
    """``GET /{version}/{waba}/message_templates`` and ``…/template_analytics``."""
    state = request.app[SIMULATOR_STATE]
    denied = authorise(request, state)
    if denied is not None:
        return denied
    node, edge = request.match_info["node"], request.match_info["edge"]
    if node != state.settings.waba_id or edge not in ("message_templates", "template_analytics"):
        return _unknown(f"{node}/{edge}")
    code = state.insights.failure(edge)
    if code is not None:
        return error(code)
    if edge == "message_templates":
        return web.json_response(state.insights.answer_templates())
    try:
        return web.json_response(state.insights.answer_template_analytics(dict(request.query)))
    except ValueError as exc:
        return error(100, details=str(exc))


def add_read_routes(router: web.UrlDispatcher, version: str) -> None:
    """Register the read endpoints (after every fixed path: ``{node}`` matches any)."""
    router.add_get(f"/{version}/{{node}}", _node)
    router.add_get(f"/{version}/{{node}}/{{edge}}", _edge)
