"""Graph error codes as the simulator answers them: titles, HTTP statuses, bodies.

Meta says to key on ``error.code``; the HTTP status is advisory (FACTS §4.5).
The simulator still picks one per code from a single table so that clients
see realistic statuses:

    ==========================================  ======
    codes                                       HTTP
    ==========================================  ======
    0, 190 (authentication)                     401
    3, 10, 200, 131005 (permission)             403
    4, 80007, 130429, 131056 (throttling)       429
    1, 131000 (unknown / possible server error) 500
    2, 131016, 133004 (temporarily unavailable) 503
    everything else                             400
    ==========================================  ======

    >>> status, body = error_response_body(130429)
    >>> status
    429
"""

from __future__ import annotations

import json
import secrets
from typing import Any

ERROR_TITLES: dict[int, str] = {
    0: "AuthException",
    1: "API Unknown",
    2: "API Service",
    3: "API Method",
    4: "API Too Many Calls",
    10: "API Permission Denied",
    100: "Invalid parameter",
    101: "Error validating application",
    190: "Access token has expired",
    200: "API Permission",
    368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues",
    130403: "Business has blocked this user",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131031: "Account has been locked",
    131042: "Business eligibility payment issue",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131050: (
        "Unable to deliver the message. This recipient has chosen to stop receiving "
        "marketing messages on WhatsApp from your business"
    ),
    131051: "Unsupported message type",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    133004: "Server temporarily unavailable",
    133010: "Phone number Not Registered",
}

ERROR_DETAILS: dict[int, str] = {
    130429: "Cloud API message throughput has been reached.",
    131049: (
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
    ),
    131056: (
        "Message failed to send because there were too many messages sent from this "
        "phone number to the same phone number in a short period of time."
    ),
}

# Meta's own 130429 example still carries a (deprecated) subcode.
ERROR_SUBCODES: dict[int, int] = {130429: 2494055}

_STATUS_BY_CODE: dict[int, int] = {
    0: 401,
    190: 401,
    3: 403,
    10: 403,
    200: 403,
    131005: 403,
    4: 429,
    80007: 429,
    130429: 429,
    131056: 429,
    1: 500,
    131000: 500,
    2: 503,
    131016: 503,
    133004: 503,
}

APPSECRET_PROOF_MESSAGE = "API calls from the server require an appsecret_proof argument"

_DEFAULT_TITLE = "Simulated error"


def http_status_for(code: int) -> int:
    """The HTTP status the simulator uses for Graph error ``code``."""
    return _STATUS_BY_CODE.get(code, 400)


def error_title(code: int) -> str:
    return ERROR_TITLES.get(code, _DEFAULT_TITLE)


def error_details(code: int) -> str:
    return ERROR_DETAILS.get(code, error_title(code))


def error_object(
    code: int,
    *,
    message: str | None = None,
    details: str | None = None,
    error_type: str = "OAuthException",
    subcode: int | None = None,
) -> dict[str, Any]:
    """The ``error`` object of a Graph error response, shaped like Meta's example."""
    error: dict[str, Any] = {
        "message": message if message is not None else f"(#{code}) {error_title(code)}",
        "type": error_type,
        "code": code,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": details if details is not None else error_details(code),
        },
    }
    if subcode is None:
        subcode = ERROR_SUBCODES.get(code)
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = secrets.token_urlsafe(16)
    return error


def error_response_body(
    code: int,
    *,
    http_status: int | None = None,
    message: str | None = None,
    details: str | None = None,
    error_type: str = "OAuthException",
    subcode: int | None = None,
) -> tuple[int, bytes]:
    """``(http_status, JSON body)`` of a Graph error response for ``code``."""
    error = error_object(
        code, message=message, details=details, error_type=error_type, subcode=subcode
    )
    status = http_status if http_status is not None else http_status_for(code)
    return status, json.dumps({"error": error}).encode()


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """One ``errors[]`` item of a ``failed`` status webhook (FACTS §2)."""
    title = error_title(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details if details is not None else error_details(code)},
        "href": "/documentation/business-messaging/whatsapp/support/error-codes",
    }
