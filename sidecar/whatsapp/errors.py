"""Graph API failures as one domain object: the only place a Graph error is parsed.

Meta answers a failed call with ``{"error": {"message", "type", "code",
"error_subcode", "error_data": {"details"}, "fbtrace_id"}}`` (FACTS §3).
``parse_graph_error`` reads that shape defensively — it never raises, whatever
the body — and ``network_error`` stands for a call that got no answer at all.
Text fields are scrubbed (``sidecar.redact``) before they are stored, so
neither ``str(err)`` nor the fields carry a phone number or a token.

    >>> err = parse_graph_error(400, body, {"Retry-After": "2"})
    >>> classify(err.code, err.http_status, err.network_error)  # sidecar.policy.retry
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Literal

from sidecar.errors import SidecarError
from sidecar.redact import scrub

NetworkErrorKind = Literal["", "connect", "timeout", "connection"]
"""``connect``: the request never left (connect refused, DNS, TLS handshake,
pool or connect timeout). ``timeout``/``connection``: the request was
written and no answer came (read timeout, connection lost mid-answer), so
Meta may have acted on it."""

MAX_BODY_BYTES = 64 * 1024
"""Graph error bodies are a few hundred bytes; anything past this is not read."""
MAX_TEXT_CHARS = 500
"""Stored message/details are cut to this many characters."""
_MAX_ID_CHARS = 64
_MAX_CODE_DIGITS = 12  # far beyond any Graph code; keeps int() cheap
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1  # Graph's codes, and the answer's fields
_MAX_RETRY_AFTER = 7 * 86_400.0
_CODE_IN_MESSAGE = re.compile(r"\(#(\d{1,9})\)")
_TRACE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_\-+/=]")


class GraphError(SidecarError):
    """The Graph API refused a call, or the call got no answer (``network_error``).

    ``code`` is Graph's error code (``None`` when absent or unreadable); the
    text fields are already scrubbed and truncated.

        >>> err = GraphError(code=130429, http_status=400, message="(#130429) Rate limit hit")
        >>> str(err)
        'Graph error 130429 (HTTP 400): (#130429) Rate limit hit'
    """

    def __init__(
        self,
        *,
        code: int | None = None,
        error_type: str = "",
        subcode: int | None = None,
        message: str = "",
        details: str = "",
        fbtrace_id: str = "",
        http_status: int = 0,
        network_error: NetworkErrorKind = "",
        retry_after_header: float | None = None,
    ) -> None:
        self.code = code
        self.error_type = _clean_text(error_type, _MAX_ID_CHARS)
        self.subcode = subcode
        self.message = _clean_text(message, MAX_TEXT_CHARS)
        self.details = _clean_text(details, MAX_TEXT_CHARS)
        self.fbtrace_id = _TRACE_ID_UNSAFE.sub("", fbtrace_id[: _MAX_ID_CHARS * 4])[:_MAX_ID_CHARS]
        self.http_status = http_status
        self.network_error: NetworkErrorKind = network_error
        self.retry_after_header = retry_after_header
        super().__init__(self._summary())

    def _summary(self) -> str:
        if self.network_error:
            return f"Graph call failed: network {self.network_error}"
        head = f"Graph error {self.code if self.code is not None else '?'}"
        if self.error_type:
            head += f" {self.error_type}"
        parts = [f"{head} (HTTP {self.http_status})"]
        text = ": ".join(p for p in (self.message, self.details) if p)
        if text:
            parts.append(f": {text}")
        if self.fbtrace_id:
            parts.append(f" [fbtrace_id {scrub(self.fbtrace_id)}]")
        return "".join(parts)


def parse_graph_error(
    http_status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> GraphError:
    """Turn a non-2xx Graph answer into a ``GraphError``; never raises.

    Tolerates invalid UTF-8 or JSON, a missing ``error`` object, wrongly typed
    fields (``"130429"`` and ``130429.0`` are read as 130429, booleans ignored)
    and oversized bodies. ``Retry-After`` is read when it is delta-seconds.
    """
    retry_after = _retry_after(headers)
    text = body[:MAX_BODY_BYTES].decode("utf-8", errors="replace")
    try:
        document: object = json.loads(text)
    except (ValueError, RecursionError):
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        # Not Graph's shape (a proxy's HTML page, an empty body): keep a scrubbed snippet.
        snippet = " ".join(text[:200].split())
        return GraphError(
            http_status=http_status,
            message="unparsable error body" if snippet else "empty error body",
            details=snippet,
            retry_after_header=retry_after,
        )
    message = _as_str(error.get("message"))
    code = _as_int(error.get("code"))
    if code is None:
        found = _CODE_IN_MESSAGE.search(message[:MAX_TEXT_CHARS])
        code = int(found.group(1)) if found else None
    error_data = error.get("error_data")
    details = _as_str(error_data.get("details")) if isinstance(error_data, dict) else ""
    return GraphError(
        code=code,
        error_type=_as_str(error.get("type")),
        subcode=_as_int(error.get("error_subcode")),
        message=message,
        details=details or _as_str(error.get("error_user_msg")),
        fbtrace_id=_as_str(error.get("fbtrace_id")),
        http_status=http_status,
        retry_after_header=retry_after,
    )


def network_error(kind: str) -> GraphError:
    """A call that got no HTTP answer: ``"connect"`` (nothing left this
    process), ``"timeout"`` (no answer in time), else a lost connection."""
    normalised: NetworkErrorKind = (
        "connect" if kind == "connect" else "timeout" if kind == "timeout" else "connection"
    )
    return GraphError(network_error=normalised)


def _clean_text(value: str, limit: int) -> str:
    # Scrub before cutting, so a cut cannot split a number into an unmasked tail;
    # the pre-cut bounds the regex work on huge inputs.
    return scrub(value[: limit * 4])[:limit]


def _as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _as_int(value: object) -> int | None:
    """An integer field as Graph (or a sloppy proxy) may send it; ``None`` if
    unusable, which includes anything outside 32 bits."""
    number: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value) if value.is_integer() else None
    elif isinstance(value, str):
        stripped = value.strip()
        digits = stripped.removeprefix("-")
        if 0 < len(digits) <= _MAX_CODE_DIGITS and digits.isascii() and digits.isdigit():
            number = int(stripped)
    if number is None or not _INT32_MIN <= number <= _INT32_MAX:
        return None
    return number


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Delta-seconds from ``Retry-After`` (any case); HTTP dates give ``None``."""
    if not headers:
        return None
    raw = next(
        (v for k, v in headers.items() if isinstance(k, str) and k.lower() == "retry-after"), None
    )
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, _MAX_RETRY_AFTER)
