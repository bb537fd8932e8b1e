"""The bundled Graph API simulator: Meta's wire format on localhost.

It answers ``POST /{version}/{phone_number_id}/messages`` like the Cloud API
(Bearer tokens, ``appsecret_proof``, 130429 throughput and 131056 pair limits,
Meta-shaped success and error bodies), exchanges and debugs tokens, sends
signed status webhooks, and takes scripted faults over a JSON control API
under ``/_sim/`` (see :mod:`sidecar.simulator.control`). It is what
``wa-sidecar simulator`` and ``make run`` start, and what every test and
benchmark talks to.

    settings = SimulatorSettings(app_secret=b"secret", webhook_url="http://127.0.0.1:8081/wh")
    handle = await start_simulator(settings)
    try:
        handle.state.add_fault(FaultRule(to="+16505551234", code=131026, count=1))
        async with session.post(f"{handle.url}/v21.0/106540352242922/messages",
                                json=body, headers={"Authorization": "Bearer dev-token"}) as r:
            ...
        accepted = handle.state.stats.accepted
    finally:
        await handle.close()
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from sidecar.simulator.auth import access_token, check_proof, check_token
from sidecar.simulator.auth import error as _error
from sidecar.simulator.control import add_control_routes
from sidecar.simulator.errors import status_error
from sidecar.simulator.faults import NO_FAULT, FaultRule, digits_only
from sidecar.simulator.graph_reads import add_read_routes
from sidecar.simulator.state import (
    SIMULATOR_STATE,
    MessageRecord,
    SimulatorSettings,
    SimulatorState,
)
from sidecar.simulator.webhooks import WebhookUpdate, status_item

__all__ = [
    "FaultRule",
    "SimulatorHandle",
    "SimulatorSettings",
    "SimulatorState",
    "create_simulator_app",
    "serve_simulator",
    "start_simulator",
]

logger = logging.getLogger(__name__)

MESSAGE_TYPES = frozenset(
    {
        "text", "template", "interactive", "image", "audio", "video",
        "document", "sticker", "location", "contacts", "reaction",
    }
)  # fmt: skip

_VERSION = r"{version:v\d+\.\d+}"


def _validate(body: Any) -> tuple[int, str] | None:
    """``(code, details)`` of the first problem with a send body, or None."""
    if not isinstance(body, dict):
        return 100, "The request body must be a JSON object."
    if body.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required and must be 'whatsapp'."
    to = body.get("to")
    if not isinstance(to, str) or not any(ch.isdigit() for ch in to):
        return 100, "The parameter to is required and must be a phone number."
    message_type = body.get("type")
    if not isinstance(message_type, str):
        return 100, "The parameter type is required."
    if message_type not in MESSAGE_TYPES:
        return 131051, f"Message type {message_type[:32]!r} is not supported."
    payload = body.get(message_type)
    if not isinstance(payload, dict):
        return 131008, f"The parameter {message_type} is required."
    if message_type == "text" and not (isinstance(payload.get("body"), str) and payload["body"]):
        return 131008, "The parameter text['body'] is required."
    if message_type == "template" and not isinstance(payload.get("name"), str):
        return 131008, "The parameter template['name'] is required."
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
        return 100, "biz_opaque_callback_data must be a string of at most 512 characters."
    return None


def _drop(request: web.Request, state: SimulatorState) -> web.Response:
    """Close the connection without answering; the client sees a disconnect."""
    state.stats.dropped_connections += 1
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response()


def _queue_statuses(state: SimulatorState, record: MessageRecord, rule: FaultRule | None) -> None:
    now = int(record.accepted_at)
    opaque = record.biz_opaque_callback_data
    submit = state.webhooks.submit
    pid, wamid, wa_id = record.phone_number_id, record.wamid, record.wa_id
    if rule is not None and rule.async_status and rule.code is not None:
        state.stats.async_failed_by_code[rule.code] += 1
        errors = [status_error(rule.code, rule.details)]
        item = status_item(
            wamid, "failed", wa_id, now, biz_opaque_callback_data=opaque, errors=errors
        )
        submit(WebhookUpdate(pid, "statuses", item))
        return
    if not state.config.emit_statuses:
        return
    category = "marketing" if record.type == "template" else "service"
    for status in state.settings.status_sequence:
        item = status_item(
            wamid,
            status,
            wa_id,
            now,
            biz_opaque_callback_data=opaque,
            pricing_category=category if status == "sent" else None,
        )
        submit(WebhookUpdate(pid, "statuses", item))


async def _check_send(
    request: web.Request, state: SimulatorState, pid: str
) -> tuple[web.Response | None, Any]:
    """Authenticate and validate a send: ``(refusal or None, parsed body)``."""
    token = access_token(request)
    denied = check_token(state, token)
    if denied is not None:
        state.record_rejection(190, pid)
        return denied, None
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if state.config.require_appsecret_proof and token is not None:
        proof = request.query.get("appsecret_proof")
        if proof is None and isinstance(body, dict):
            proof = body.get("appsecret_proof")
        denied = check_proof(state, token, proof)
        if denied is not None:
            state.record_rejection(100, pid)
            return denied, None
    problem = _validate(body)
    known = state.settings.known_phone_number_ids
    if problem is None and known and pid not in known:
        problem = 100, f"Unsupported post request. Object with ID '{pid}' does not exist."
    if problem is not None:
        state.record_rejection(problem[0], pid)
        return _error(problem[0], details=problem[1]), None
    return None, body


async def _send_message(request: web.Request) -> web.Response:
    """``POST /{version}/{phone_number_id}/messages``."""
    state = request.app[SIMULATOR_STATE]
    state.note_received()
    pid = request.match_info["phone_number_id"]
    refusal, body = await _check_send(request, state, pid)
    if refusal is not None:
        return refusal

    to: str = body["to"]
    wa_id = digits_only(to)
    fault = state.faults.evaluate(wa_id, pid) if state.faults else NO_FAULT
    latency = state.config.latency_ms / 1000.0 + fault.latency_s
    if latency > 0:
        await asyncio.sleep(latency)
    rule = fault.rule
    if rule is not None:
        if rule.drop_connection and not rule.drop_after_accept:
            return _drop(request, state)
        if rule.code is not None and not rule.async_status:
            state.record_rejection(rule.code, pid)
            return _error(
                rule.code,
                http_status=rule.http_status,
                message=rule.message,
                details=rule.details,
                subcode=rule.error_subcode,
            )

    now = time.monotonic()
    config = state.config  # the control API may have changed it while we slept
    if config.throughput_enabled and not state.account.allow(pid, now, state.throughput):
        state.record_rejection(130429, pid)
        return _error(130429)
    if config.pair_limit_enabled and not state.pair.allow((pid, wa_id), now):
        state.record_rejection(131056, pid)
        return _error(131056)

    wamid = state.new_wamid()
    record = MessageRecord(
        to=to,
        wa_id=wa_id,
        phone_number_id=pid,
        wamid=wamid,
        type=body["type"],
        biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
        accepted_monotonic=now,
        accepted_at=time.time(),
        token_sha256=hashlib.sha256((access_token(request) or "").encode()).hexdigest(),
    )
    state.record_acceptance(record)
    failed = rule is not None and rule.async_status and rule.code is not None
    sequence = state.settings.status_sequence
    state.insights.note_accepted(
        record.accepted_at,
        body["template"]["name"] if body["type"] == "template" else None,
        delivered=not failed and "delivered" in sequence,
        read=not failed and "read" in sequence,
    )
    if state.webhooks.url is not None:
        _queue_statuses(state, record, rule)
    if rule is not None and rule.drop_after_accept:
        return _drop(request, state)
    if rule is not None and rule.answer_late_ms > 0:
        await asyncio.sleep(rule.answer_late_ms / 1000.0)
    if rule is not None and rule.answer_without_id:
        return web.json_response({"messaging_product": "whatsapp"})
    answer = b'{"messaging_product":"whatsapp","contacts":[{"input":%s,"wa_id":"%s"}],' % (
        json.dumps(to).encode(),
        wa_id.encode(),
    )
    answer += b'"messages":[{"id":"%s"}]}' % wamid.encode()
    return web.Response(body=answer, content_type="application/json")


async def _exchange_token(request: web.Request) -> web.Response:
    """``GET /{version}/oauth/access_token?grant_type=fb_exchange_token&...``."""
    state = request.app[SIMULATOR_STATE]
    query = request.query
    if query.get("grant_type") != "fb_exchange_token":
        return _error(100, details="grant_type must be fb_exchange_token.")
    if query.get("client_id") != state.settings.app_id:
        return _error(101, message="Error validating application. Invalid application ID.")
    secret = query.get("client_secret", "")
    if not hmac.compare_digest(secret.encode(), state.settings.client_secret.encode()):
        return _error(1, http_status=400, message="Error validating client secret.")
    current = query.get("fb_exchange_token")
    if current is None:
        return _error(100, details="The parameter fb_exchange_token is required.")
    denied = check_token(state, current)
    if denied is not None:
        return denied
    ttl = state.config.exchanged_token_ttl_s
    info = state.issue_token(ttl)
    return web.json_response(
        {"access_token": info.token, "token_type": "bearer", "expires_in": int(ttl)}
    )


async def _debug_token(request: web.Request) -> web.Response:
    """``GET /{version}/debug_token?input_token=...`` with an app or system-user token."""
    state = request.app[SIMULATOR_STATE]
    settings = state.settings
    caller = access_token(request)
    app_token = f"{settings.app_id}|{settings.client_secret}"
    if caller is None or not hmac.compare_digest(caller.encode(), app_token.encode()):
        denied = check_token(state, caller)
        if denied is None and caller is not None and state.config.require_appsecret_proof:
            denied = check_proof(state, caller, request.query.get("appsecret_proof"))
        if denied is not None:
            return denied
    input_token = request.query.get("input_token")
    if input_token is None:
        return _error(100, details="The parameter input_token is required.")
    info = state.tokens.get(input_token)
    if info is None:
        invalid = {"code": 190, "message": "Invalid OAuth access token."}
        return web.json_response({"data": {"error": invalid, "is_valid": False, "scopes": []}})
    valid = info.is_valid(time.time())
    data: dict[str, Any] = {
        "app_id": settings.app_id,
        "type": "SYSTEM_USER",
        "application": "WA Policy Sidecar Simulator",
        "data_access_expires_at": 0,
        "expires_at": 0 if info.expires_at is None else int(info.expires_at),
        "issued_at": info.issued_at,
        "is_valid": valid,
        "scopes": list(info.scopes),
        "user_id": info.user_id,
    }
    if not valid:
        data["error"] = {"code": 190, "message": "Session has expired", "subcode": 463}
    return web.json_response({"data": data})


def create_simulator_app(settings: SimulatorSettings | None = None) -> web.Application:
    """The simulator as an aiohttp application (mount it, or run it yourself)."""
    state = SimulatorState(settings or SimulatorSettings())
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[SIMULATOR_STATE] = state

    async def webhooks_lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await state.webhooks.start()
        yield
        await state.webhooks.close()

    app.cleanup_ctx.append(webhooks_lifecycle)
    app.router.add_post(f"/{_VERSION}/{{phone_number_id}}/messages", _send_message)
    app.router.add_get(f"/{_VERSION}/oauth/access_token", _exchange_token)
    app.router.add_get(f"/{_VERSION}/debug_token", _debug_token)
    add_read_routes(app.router, _VERSION)  # last: /{version}/{node} matches any node
    if state.settings.control_api:
        add_control_routes(app.router)
    return app


class SimulatorHandle:
    """A running simulator: ``url`` is the base (``http://127.0.0.1:PORT``)."""

    def __init__(self, runner: web.AppRunner, state: SimulatorState, host: str, port: int) -> None:
        self._runner = runner
        self._closed = False
        self.state = state
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"

    async def close(self) -> None:
        """Stop serving and drop queued webhooks; calling it again does nothing."""
        if not self._closed:
            self._closed = True
            await self._runner.cleanup()

    async def __aenter__(self) -> SimulatorHandle:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def start_simulator(settings: SimulatorSettings | None = None) -> SimulatorHandle:
    """Start serving in the running event loop; close the handle to stop."""
    settings = settings or SimulatorSettings()
    app = create_simulator_app(settings)
    # No access log: it costs more than the handler at benchmark rates.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    port = int(runner.addresses[0][1])
    return SimulatorHandle(runner, app[SIMULATOR_STATE], settings.host, port)


async def serve_simulator(settings: SimulatorSettings | None = None) -> None:
    """Run the simulator until cancelled (what ``wa-sidecar simulator`` calls)."""
    handle = await start_simulator(settings)
    logger.info("Graph API simulator listening on %s", handle.url)
    try:
        await asyncio.Event().wait()
    finally:
        await handle.close()
