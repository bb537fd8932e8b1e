"""Who may call the simulator's Graph endpoints: Bearer (or ``access_token``)
tokens it knows and has not expired, and ``appsecret_proof`` when it is
required; Meta-shaped error answers for the rest."""

from __future__ import annotations

import hmac
import time
from typing import Any

from aiohttp import web

from sidecar.simulator.errors import APPSECRET_PROOF_MESSAGE, error_response_body
from sidecar.simulator.state import SimulatorState

_NO_AUTH_MESSAGE = "(#190) An access token is required to request this resource."
_BAD_AUTH_MESSAGE = "(#190) Invalid OAuth access token - Cannot parse access token"
_EXPIRED_AUTH_MESSAGE = "(#190) Error validating access token: Session has expired"


def error(code: int, **kwargs: Any) -> web.Response:
    status, body = error_response_body(code, **kwargs)
    return web.Response(status=status, body=body, content_type="application/json")


def access_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return request.query.get("access_token")


def check_token(state: SimulatorState, token: str | None) -> web.Response | None:
    """A 190 response unless ``token`` is known and unexpired."""
    if token is None:
        return error(190, message=_NO_AUTH_MESSAGE)
    info = state.tokens.get(token)
    if info is None:
        return error(190, message=_BAD_AUTH_MESSAGE)
    if info.expires_at is not None and not info.is_valid(time.time()):
        return error(190, message=_EXPIRED_AUTH_MESSAGE, subcode=463)
    return None


def check_proof(state: SimulatorState, token: str, proof: object) -> web.Response | None:
    """Meta's code 100 unless ``proof`` is HMAC-SHA256(app secret, token) in hex."""
    expected = state.expected_proof(token)
    if expected is None:
        return None
    if isinstance(proof, str) and hmac.compare_digest(proof.lower(), expected):
        return None
    return error(100, message=APPSECRET_PROOF_MESSAGE, error_type="GraphMethodException")


def authorise(request: web.Request, state: SimulatorState) -> web.Response | None:
    """A refusal unless the request carries a valid token (and, when required,
    its proof in the query); None when it may go on."""
    token = access_token(request)
    denied = check_token(state, token)
    if denied is None and token is not None and state.config.require_appsecret_proof:
        denied = check_proof(state, token, request.query.get("appsecret_proof"))
    return denied
