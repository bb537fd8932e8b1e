"""Malformed and fuzzed RPCs never crash the process nor answer INTERNAL (SPEC §9).

A real sidecar process; requests go over real gRPC: bytes that are not a
protobuf message at all (every method of the three services), then
hypothesis-generated requests that decode but carry arbitrary values, for
every method whose effects stay in the sidecar's own store (``Check``, and
``Send`` as a dry run: no message leaves it).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.api._gen.wasidecar.v1 import (
    consent_pb2,
    send_pb2,
    verify_pb2,
)
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess

pytestmark = pytest.mark.integration

SERVICES = (
    send_pb2.DESCRIPTOR.services_by_name["SendService"],
    verify_pb2.DESCRIPTOR.services_by_name["VerifyService"],
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
)
# Bytes no protobuf parser accepts: a field with wire type 7, a length that runs
# past the end, a truncated varint.
GARBAGE = (b"\xff\xff\xff", b"\x0a\xff\x01", b"\x08\x80\x80\x80")
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


async def _call_raw(
    channel: grpc.aio.Channel, path: str, method: Any, body: bytes
) -> grpc.StatusCode:
    try:
        if method.client_streaming:
            call = channel.stream_stream(path)()
            await call.write(body)
            await call.done_writing()
            while await call.read() is not grpc.aio.EOF:
                pass
        elif method.server_streaming:
            async for _ in channel.unary_stream(path)(body):
                pass
        else:
            await channel.unary_unary(path)(body)
    except grpc.aio.AioRpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, err.details())
        assert err.details() == f"request: not a valid {method.input_type.full_name} message"
        return err.code()
    return grpc.StatusCode.OK


async def test_bytes_that_are_no_message_answer_invalid_argument_on_every_method(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as proc:
        codes = [
            await _call_raw(proc.channel, f"/{service.full_name}/{method.name}", method, body)
            for service in SERVICES
            for method in service.methods
            for body in GARBAGE
        ]
        assert set(codes) == {grpc.StatusCode.INVALID_ARGUMENT}
        assert len(codes) == sum(len(s.methods) for s in SERVICES) * len(GARBAGE)
        reply = await health_pb2_grpc.HealthStub(proc.channel).Check(
            health_pb2.HealthCheckRequest()
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert "unhandled error" not in proc.log_text()


# ------------------------------------------------------------ decoded but hostile

_text = st.text(max_size=40) | st.sampled_from(["", "+16505551234", "+1650", "STOP", "\x00"])
_enum = st.integers(min_value=-5, max_value=40)
_params = st.lists(st.builds(send_pb2.TemplateParameter, type=_text, text=_text), max_size=3)
_template = st.builds(
    send_pb2.Template,
    name=_text,
    language=st.builds(send_pb2.TemplateLanguage, code=_text),
    components=st.lists(
        st.builds(
            send_pb2.TemplateComponent,
            type=_text,
            sub_type=_text,
            index=st.integers(min_value=-3, max_value=2**31 - 1),
            parameters=_params,
        ),
        max_size=3,
    ),
)


@st.composite
def send_requests(draw: st.DrawFn) -> send_pb2.SendRequest:
    req = send_pb2.SendRequest(
        idempotency_key=draw(_text),
        to=draw(_text),
        category=draw(_enum),
        phone_number_id=draw(_text),
        message_json=draw(_text | st.sampled_from(['{"type":"text"}', "[]", "{"])),
    )
    body = draw(st.sampled_from(["none", "text", "template", "both"]))
    if body in ("text", "both"):
        req.text.CopyFrom(send_pb2.TextBody(body=draw(_text), preview_url=draw(st.booleans())))
    if body in ("template", "both"):
        req.template.CopyFrom(draw(_template))
    for key, value in draw(st.dictionaries(_text, _text, max_size=3)).items():
        req.tags[key] = value
    return req


_webhooks = st.builds(
    verify_pb2.WebhookRequest,
    body=st.binary(max_size=300) | st.sampled_from([b"{}", b'{"entry":[{"changes":[{}]}]}']),
    signature=_text | st.just("sha256=" + "0" * 64),
    remote_ip=_text | st.sampled_from(["173.252.88.1", "::1", "999.1.1.1"]),
    headers=st.dictionaries(_text, _text, max_size=3),
)


def _dry(request: send_pb2.SendRequest) -> send_pb2.SendRequest:
    request.dry_run = True  # the whole pipeline but the Graph call
    return request


_int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
_json_value = st.none() | st.booleans() | st.integers() | st.floats() | _text
_graph_error = st.fixed_dictionaries(
    {},
    optional={
        "code": _json_value,
        "error_subcode": _json_value,
        "type": _json_value,
        "message": _json_value,
        "fbtrace_id": _json_value,
    },
).map(lambda error: json.dumps({"error": error}).encode())
_categories = st.lists(_enum, max_size=3)
_page = {"page_size": _int32, "page_token": _text}

# (service, method, request): every method whose only effect is on the store.
_CALLS = st.one_of(
    send_requests().map(lambda r: ("SendService", "Check", r)),
    send_requests().map(lambda r: ("SendService", "Send", _dry(r))),
    st.builds(
        send_pb2.ClassifyRequest,
        http_status=_int32,
        body=st.binary(max_size=100) | _graph_error,
        network_error=_text,
    ).map(lambda r: ("SendService", "Classify", r)),
    st.builds(send_pb2.GetSendStatusRequest, idempotency_key=_text).map(
        lambda r: ("SendService", "GetSendStatus", r)
    ),
    st.builds(send_pb2.ListDeadLettersRequest, **_page).map(
        lambda r: ("SendService", "ListDeadLetters", r)
    ),
    st.builds(send_pb2.ListInDoubtRequest, **_page).map(
        lambda r: ("SendService", "ListInDoubt", r)
    ),
    st.builds(send_pb2.RequeueDeadLetterRequest, id=_text).map(
        lambda r: ("SendService", "RequeueDeadLetter", r)
    ),
    st.builds(
        send_pb2.ResolveInDoubtRequest, idempotency_key=_text, resolution=_enum, message_id=_text
    ).map(lambda r: ("SendService", "ResolveInDoubt", r)),
    _webhooks.map(lambda r: ("VerifyService", "VerifyWebhook", r)),
    st.builds(verify_pb2.SubscriptionRequest, mode=_text, verify_token=_text, challenge=_text).map(
        lambda r: ("VerifyService", "VerifySubscription", r)
    ),
    st.builds(consent_pb2.GetRequest, phone_number=_text).map(
        lambda r: ("ConsentService", "Get", r)
    ),
    st.builds(
        consent_pb2.GrantRequest,
        phone_number=_text,
        categories=_categories,
        source=_text,
        notice_version=_text,
        jurisdiction=_enum,
        evidence=_text,
    ).map(lambda r: ("ConsentService", "Grant", r)),
    st.builds(
        consent_pb2.RevokeRequest,
        phone_number=_text,
        categories=_categories,
        source=_text,
        reason=_text,
    ).map(lambda r: ("ConsentService", "Revoke", r)),
    st.builds(consent_pb2.ExportSubjectRequest, phone_number=_text).map(
        lambda r: ("ConsentService", "ExportSubject", r)
    ),
    st.builds(consent_pb2.EraseSubjectRequest, phone_number=_text, reason=_text).map(
        lambda r: ("ConsentService", "EraseSubject", r)
    ),
    st.builds(consent_pb2.ListAuditRequest, phone_number=_text, **_page).map(
        lambda r: ("ConsentService", "ListAudit", r)
    ),
)


_CALLED: dict[str, int] = {}


@settings(FUZZ, max_examples=600)
@given(call=_CALLS)
def _fuzz(channel: grpc.Channel, call: tuple[str, str, Any]) -> None:
    service, method, request = call
    _CALLED[method] = _CALLED.get(method, 0) + 1
    rpc = channel.unary_unary(
        f"/wasidecar.v1.{service}/{method}",
        request_serializer=type(request).SerializeToString,
    )
    try:
        rpc(request, timeout=10)
    except grpc.RpcError as err:
        code = err.code()  # type: ignore[attr-defined]
        assert code not in SERVER_FAULTS, (method, code, err.details())  # type: ignore[attr-defined]


def _fuzz_all(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        _fuzz(channel)


async def test_fuzzed_requests_get_an_answer_never_a_server_fault(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as proc:
        # Hypothesis drives a blocking channel; the event loop stays free.
        await asyncio.to_thread(_fuzz_all, proc.grpc_addr)
        assert sum(_CALLED.values()) >= 600, _CALLED
        assert len(_CALLED) == 16  # every fuzzed method was reached
        reply = await health_pb2_grpc.HealthStub(proc.channel).Check(
            health_pb2.HealthCheckRequest()
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # Nothing was sent: Check and the webhook path never call Graph.
        assert simulator.state.stats.received == 0
    assert "unhandled error" not in proc.log_text()
