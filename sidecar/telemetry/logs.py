"""Structured JSON logs: one object per line on stdout.

Fields: time, level, logger, event, message, plus any ``extra=`` keys. The
active trace and span ids are added when a span is current. Callers never
pass phone numbers or secrets; masked numbers come from ``sidecar.redact``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from opentelemetry import trace

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "event":
                data[key] = value
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            data["trace_id"] = format(ctx.trace_id, "032x")
            data["span_id"] = format(ctx.span_id, "016x")
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log would print request lines with query strings.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
