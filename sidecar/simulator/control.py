"""The simulator's control API: JSON endpoints under ``/_sim/`` for tests and tools.

    POST   /_sim/faults          add a FaultRule (JSON fields as in FaultRule) -> {"id"}
    GET    /_sim/faults          the active rules, with applications left
    DELETE /_sim/faults          remove every rule
    DELETE /_sim/faults/{id}     remove one rule
    GET    /_sim/config          the tunable settings now in force
    POST   /_sim/config          change some of them (rate/pair limits, latency, webhook_url,
                                 emit_statuses, require_appsecret_proof, exchanged_token_ttl_s,
                                 seed) -> the new config
    POST   /_sim/reset           back to the starting settings: counters, limits, messages,
                                 faults, issued tokens and queued webhooks all cleared
    GET    /_sim/stats           counters (see SimulatorStats) plus webhook counters
    GET    /_sim/messages        accepted messages, newest last; ?to=<phone>&limit=<n>
    POST   /_sim/inbound         {"from", "phone_number_id", "text" | "button_payload"
                                 [, "button_text", "context_id", "name"]} -> {"id": wamid}
    GET    /_sim/account         each number's throughput, quality, Business-app use, the
                                 messaging limit, and the capacity reads the simulator served
    POST   /_sim/account         {"phone_number_id", "throughput"?: STANDARD|HIGH,
                                 "quality"?: GREEN|YELLOW|RED|UNKNOWN, "on_business_app"?,
                                 "messaging_limit"?: TIER_250…}: change the account as Meta
                                 would, with its webhooks (THROUGHPUT_UPGRADE, capability)
    GET    /_sim/insights        the analytics calls served (monotonic time, what) and the
                                 error codes still scripted
    POST   /_sim/insights        {"fail_next": [80007, …]}: answer the next analytics calls
                                 with these error codes
    POST   /_sim/account_events  {"field": "<account webhook field>", "value": {...}}: queue one
                                 account webhook as given (simulator/account.py builds values)
    POST   /_sim/tokens          {"expires_in": seconds | null, "token"?} -> a valid token
    POST   /_sim/webhooks/flush  wait (?timeout=5) until queued webhooks are posted

Errors are ``400 {"error": "<why>"}``. There is no authentication: the control
API is for a simulator on localhost, and ``SimulatorSettings.control_api``
turns it off.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sidecar.simulator.faults import FaultRule
from sidecar.simulator.state import SIMULATOR_STATE


def _bad_request(problem: str) -> web.Response:
    return web.json_response({"error": problem}, status=400)


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


async def _add_fault(request: web.Request) -> web.Response:
    try:
        rule = FaultRule.from_json(await _json_object(request))
    except (ValueError, TypeError) as exc:
        return _bad_request(str(exc))
    rule_id = request.app[SIMULATOR_STATE].add_fault(rule)
    return web.json_response({"id": rule_id})


async def _list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": request.app[SIMULATOR_STATE].faults.describe()})


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[SIMULATOR_STATE].clear_faults()
    return web.json_response({"cleared": True})


async def _remove_fault(request: web.Request) -> web.Response:
    if not request.app[SIMULATOR_STATE].faults.remove(request.match_info["fault_id"]):
        return web.json_response({"error": "no such fault"}, status=404)
    return web.json_response({"removed": True})


async def _get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIMULATOR_STATE].config.to_json())


async def _set_config(request: web.Request) -> web.Response:
    try:
        config = request.app[SIMULATOR_STATE].configure(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(config.to_json())


async def _reset(request: web.Request) -> web.Response:
    request.app[SIMULATOR_STATE].reset()
    return web.json_response({"reset": True})


async def _stats(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    body = state.stats.to_json()
    body["webhooks"] = state.webhooks.counters.to_json()
    body["stored_messages"] = len(state.messages)
    return web.json_response(body)


async def _messages(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    try:
        limit = int(request.query.get("limit", "0"))
    except ValueError:
        return _bad_request("limit must be an integer")
    records = state.messages_to(request.query.get("to"))
    if limit > 0:
        records = records[-limit:]
    return web.json_response(
        {"count": len(records), "messages": [record.to_json() for record in records]}
    )


async def _inbound(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    try:
        data = await _json_object(request)
        sender = _optional_str(data, "from")
        pid = _optional_str(data, "phone_number_id")
        if not sender or not pid:
            raise ValueError("from and phone_number_id are required")
        text = _optional_str(data, "text")
        payload = _optional_str(data, "button_payload")
        if (text is None) == (payload is None):
            raise ValueError("give exactly one of text and button_payload")
        wamid = state.deliver_inbound(
            sender,
            phone_number_id=pid,
            text=text,
            button_payload=payload,
            button_text=_optional_str(data, "button_text"),
            context_id=_optional_str(data, "context_id"),
            name=_optional_str(data, "name") or "Simulated User",
        )
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response({"id": wamid})


async def _account_event(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    try:
        data = await _json_object(request)
        field = _optional_str(data, "field") or ""
        value = data.get("value")
        if not isinstance(value, dict):
            raise ValueError("value must be an object")
        state.emit_account_change(field, value)
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response({"queued": True})


async def _get_account(request: web.Request) -> web.Response:
    account = request.app[SIMULATOR_STATE].account
    return web.json_response(
        {
            "messaging_limit": account.messaging_limit,
            "numbers": {
                pnid: {
                    "throughput": n.throughput,
                    "quality": n.quality,
                    "on_business_app": n.on_business_app,
                }
                for pnid, n in account.numbers.items()
            },
            "reads": [
                {"phone_number_id": r.phone_number_id, "throughput": r.throughput,
                 "messaging_limit": r.messaging_limit, "monotonic": r.monotonic}
                for r in account.reads
            ],
        }
    )  # fmt: skip


async def _set_account(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    try:
        data = await _json_object(request)
        pnid = _optional_str(data, "phone_number_id")
        if not pnid:
            raise ValueError("phone_number_id is required")
        on_app = data.get("on_business_app")
        if on_app is not None and not isinstance(on_app, bool):
            raise ValueError("on_business_app must be true or false")
        state.account.update(
            pnid,
            throughput=_optional_str(data, "throughput"),
            quality=_optional_str(data, "quality"),
            on_business_app=on_app,
            messaging_limit=_optional_str(data, "messaging_limit"),
        )
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response({"updated": True})


async def _get_insights(request: web.Request) -> web.Response:
    insights = request.app[SIMULATOR_STATE].insights
    calls = [{"monotonic": at, "what": what} for at, what in insights.calls]
    return web.json_response({"calls": calls, "fail_next": insights.fail_next})


async def _set_insights(request: web.Request) -> web.Response:
    try:
        codes = (await _json_object(request)).get("fail_next", [])
        if not isinstance(codes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in codes
        ):
            raise ValueError("fail_next must be a list of error codes")
    except ValueError as exc:
        return _bad_request(str(exc))
    request.app[SIMULATOR_STATE].insights.fail_next.extend(codes)
    return web.json_response({"queued": len(codes)})


async def _issue_token(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    try:
        data = await _json_object(request)
        expires_in = data.get("expires_in")
        if expires_in is not None and (
            not isinstance(expires_in, int | float) or isinstance(expires_in, bool)
        ):
            raise ValueError("expires_in must be a number of seconds or null")
        info = state.issue_token(expires_in, _optional_str(data, "token"))
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(
        {
            "access_token": info.token,
            "token_type": "bearer",
            "expires_in": expires_in,
        }
    )


async def _flush_webhooks(request: web.Request) -> web.Response:
    try:
        timeout = float(request.query.get("timeout", "5"))
    except ValueError:
        return _bad_request("timeout must be a number")
    drained = await request.app[SIMULATOR_STATE].webhooks.flush(timeout)
    return web.json_response({"drained": drained}, status=200 if drained else 504)


def add_control_routes(router: web.UrlDispatcher) -> None:
    """Register every ``/_sim/`` endpoint on ``router``."""
    router.add_post("/_sim/faults", _add_fault)
    router.add_get("/_sim/faults", _list_faults)
    router.add_delete("/_sim/faults", _clear_faults)
    router.add_delete("/_sim/faults/{fault_id}", _remove_fault)
    router.add_get("/_sim/config", _get_config)
    router.add_post("/_sim/config", _set_config)
    router.add_post("/_sim/reset", _reset)
    router.add_get("/_sim/stats", _stats)
    router.add_get("/_sim/messages", _messages)
    router.add_post("/_sim/inbound", _inbound)
    router.add_get("/_sim/account", _get_account)
    router.add_post("/_sim/account", _set_account)
    router.add_get("/_sim/insights", _get_insights)
    router.add_post("/_sim/insights", _set_insights)
    router.add_post("/_sim/account_events", _account_event)
    router.add_post("/_sim/tokens", _issue_token)
    router.add_post("/_sim/webhooks/flush", _flush_webhooks)
