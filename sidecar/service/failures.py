"""``Classify``: what the sidecar would do about a Graph failure the caller saw.

The answer of an application that calls Graph itself is read by the one
parser of Graph error bodies (``whatsapp/errors.py``) and classified by the
same table as the sidecar's own sends (``policy/retry.py``).

    classify_failure(400, b'{"error": {"code": 130429}}').error_class  # THROTTLED
    classify_failure(network_error="timeout").retryable                # True
"""

from __future__ import annotations

from sidecar.policy.retry import Classification, classify
from sidecar.whatsapp.errors import network_error as no_answer
from sidecar.whatsapp.errors import parse_graph_error


def classify_failure(
    http_status: int = 0, body: bytes = b"", network_error: str = ""
) -> Classification:
    """Classify an HTTP answer (``http_status``, ``body``), or with
    ``network_error`` (``"timeout"``, ``"connection"``) a call that got none."""
    err = no_answer(network_error) if network_error else parse_graph_error(http_status, body)
    return classify(err.code, err.http_status, err.network_error)
