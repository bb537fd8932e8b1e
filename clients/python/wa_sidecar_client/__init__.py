"""A typed Python client of the wa-policy-sidecar gRPC API (``wasidecar.v1``).

    from wa_sidecar_client import SidecarClient, SendRefused, WebhookRejected

    with SidecarClient() as client:      # WASIDECAR_ADDR (127.0.0.1:50051), WASIDECAR_TOKEN
        client.grant("+16505551234", ["MARKETING"], source="web-form", evidence="form 8812")
        reply = client.send_template("+16505551234", "spring_sale", category="MARKETING")
        print(reply.message_id)

The generated messages are in :mod:`wa_sidecar_client.v1` (``send_pb2`` …);
errors are drawn in :mod:`wa_sidecar_client.errors`.
"""

from wa_sidecar_client.aio import AsyncSidecarClient
from wa_sidecar_client.client import SidecarClient
from wa_sidecar_client.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Refused,
    RpcError,
    SendFailed,
    SendRefused,
    SidecarError,
    Unauthenticated,
    Unavailable,
    WebhookRejected,
)
from wa_sidecar_client.options import ADDR_ENV, TOKEN_ENV, ClientOptions, RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "ADDR_ENV",
    "TOKEN_ENV",
    "AsyncSidecarClient",
    "ClientOptions",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Refused",
    "RetryPolicy",
    "RpcError",
    "SendFailed",
    "SendRefused",
    "SidecarClient",
    "SidecarError",
    "Unauthenticated",
    "Unavailable",
    "WebhookRejected",
]
