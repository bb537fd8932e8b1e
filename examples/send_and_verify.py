"""Send a message, verify a webhook and record consent through a local sidecar.

Run `make run` in another terminal, then: `.venv/bin/python examples/send_and_verify.py`.
The W3C `traceparent` metadata continues the caller's trace inside the sidecar.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time

import grpc

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)

ADDR = os.environ.get("WA_SIDECAR_GRPC_ADDR", "127.0.0.1:50051")
APP_SECRET = os.environ.get("WA_SIDECAR_APP_SECRET", "dev-app-secret").split(",")[0].encode()
TO = "+16505551234"
TRACE = (("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),)


async def main() -> None:
    async with grpc.aio.insecure_channel(ADDR) as channel:
        consent = consent_pb2_grpc.ConsentServiceStub(channel)
        await consent.Grant(
            consent_pb2.GrantRequest(
                phone_number=TO,
                categories=[common_pb2.CATEGORY_MARKETING],
                source="web-form",
                notice_version="2026-11",
                jurisdiction=consent_pb2.JURISDICTION_GDPR,
                evidence="form submission 8812",
            ),
            metadata=TRACE,
        )
        send = send_pb2_grpc.SendServiceStub(channel)
        reply = await send.Send(
            send_pb2.SendRequest(
                idempotency_key=f"example-{int(time.time())}",
                to=TO,
                category=common_pb2.CATEGORY_MARKETING,
                template=send_pb2.Template(
                    name="spring_sale", language=send_pb2.TemplateLanguage(code="en_US")
                ),
            ),
            metadata=TRACE,
        )
        print("send:", send_pb2.Outcome.Name(reply.outcome), reply.message_id)

        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "102290129340398",
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {
                                        "display_phone_number": "15550783881",
                                        "phone_number_id": "106540352242922",
                                    },
                                    "messages": [
                                        {
                                            "from": TO[1:],
                                            "id": f"wamid.example{time.time_ns()}",
                                            "timestamp": str(int(time.time())),
                                            "type": "text",
                                            "text": {"body": "STOP"},
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        sig = "sha256=" + hmac.new(APP_SECRET, body, hashlib.sha256).hexdigest()
        result = await verify_pb2_grpc.VerifyServiceStub(channel).VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature=sig, remote_ip="127.0.0.1"),
            metadata=TRACE,
        )
        print("webhook valid:", result.valid, "opt_out:", result.events[0].message.opt_out)
        decision = await send.Check(
            send_pb2.SendRequest(
                to=TO,
                category=common_pb2.CATEGORY_MARKETING,
                template=send_pb2.Template(name="x", language=send_pb2.TemplateLanguage(code="en")),
            )
        )
        print("marketing now:", common_pb2.Reason.Name(decision.reason))


if __name__ == "__main__":
    asyncio.run(main())
