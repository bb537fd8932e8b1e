"""The leak scan (issue 15): a representative run with recognisable secrets,
tokens and phone numbers, every log line, exported span and /metrics scrape
captured, and not one of them showing in any encoding (``support/leaks.py``;
``tests/unit/test_leak_scanner.py`` shows each encoding caught when planted).

Secrets come from a real OpenBao and are rotated mid-run, callers use bearer
tokens, a 190 makes the sidecar exchange its token, sends fail and succeed,
webhooks verify and are refused, consent is granted, exported and erased.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
import grpc
import pytest
import yaml
from support.leaks import Needle, number_needles, scan
from support.openbao import OpenBao
from support.otlp import Receiver
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.keys import Keyring
from sidecar.simulator import FaultRule, SimulatorHandle, SimulatorSettings, start_simulator
from sidecar.simulator.webhooks import status_item
from sidecar.testing import APP_ID, PHONE_NUMBER_ID, SidecarProcess, inbound_text, webhook_body
from sidecar.testing import signature as sign

pytestmark = pytest.mark.integration

ACCESS_TOKEN = "EAALEAKFIRSTTOKEN7Qx9"
ROTATED_TOKEN = "EAALEAKROTATEDTOKEN4Kp2"
APP_SECRET = "leak-app-secret-Zq81mW"
VERIFY_TOKEN = "leak-verify-token-Hr52"
ROTATED_VERIFY = "leak-verify-rotated-Pw07"
GUESSED_VERIFY = "leak-verify-guess-Yt33"
UNKNOWN_BEARER = "leak-unknown-bearer-Ju64"
ENCRYPTION_KEY = Keyring.generate()
CALLERS = {
    "app": ["sender", "webhook", "consent-writer"],
    "dpo": ["consent-admin", "auditor"],
    "legal": ["approver", "auditor"],
}
NUMBERS = [f"+1415555{n:04d}" for n in (3141, 2718, 1618, 1414, 1732, 2236, 2645, 3316, 3605)]
TOO_SHORT = "+14155550"


def bearer(name: str) -> str:
    return f"leak-caller-{name}-Vb{len(name)}9"


def meta(name: str) -> Sequence[tuple[str, str]]:
    return (("authorization", f"Bearer {bearer(name)}"),)


def otp(to: str, key: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


@pytest.fixture
async def leak_simulator() -> AsyncIterator[SimulatorHandle]:
    handle = await start_simulator(
        SimulatorSettings(
            access_tokens=frozenset({ACCESS_TOKEN, ROTATED_TOKEN}),
            app_secret=APP_SECRET.encode(),
            require_appsecret_proof=True,
            app_id=APP_ID,
            client_secret=APP_SECRET,
            pair_limit_enabled=False,
        )
    )
    try:
        yield handle
    finally:
        await handle.close()


async def scrape(proc: SidecarProcess) -> str:
    async with aiohttp.ClientSession() as http, http.get(proc.admin_url + "/metrics") as r:
        return await r.text()


async def traffic(proc: SidecarProcess, sim: SimulatorHandle, bao: OpenBao) -> list[str]:
    """The representative run; returns the /metrics scrapes taken along the way."""
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)
    consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
    app = meta("app")

    sent = await send.Send(otp(NUMBERS[0], "leak-1"), metadata=app)
    assert sent.outcome == send_pb2.OUTCOME_SENT
    sim.state.add_fault(FaultRule(code=190, count=1))  # → token exchange, then the retry
    assert (await send.Send(otp(NUMBERS[1], "leak-2"), metadata=app)).outcome == (
        send_pb2.OUTCOME_SENT
    )
    sim.state.add_fault(FaultRule(to=NUMBERS[2][1:], code=131026))
    assert (await send.Send(otp(NUMBERS[2], "leak-3"), metadata=app)).outcome == (
        send_pb2.OUTCOME_FAILED
    )
    assert (await send.Check(otp(NUMBERS[3], "leak-4"), metadata=app)).allowed
    await send.Enqueue(otp(NUMBERS[3], "leak-5"), metadata=app)
    await send.GetSendStatus(send_pb2.GetSendStatusRequest(idempotency_key="leak-5"), metadata=app)

    async def batch() -> AsyncIterator[send_pb2.SendRequest]:
        for i, number in enumerate(NUMBERS[4:6]):
            yield otp(number, f"leak-batch-{i}")

    replies = [r async for r in send.SendBatch(batch(), metadata=app)]
    assert {r.outcome for r in replies} == {send_pb2.OUTCOME_SENT}
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await send.Send(otp(TOO_SHORT, "leak-6"), metadata=app)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await send.Classify(
        send_pb2.ClassifyRequest(
            http_status=400,
            body=json.dumps({"error": {"code": 131026, "message": "undeliverable"}}).encode(),
        ),
        metadata=app,
    )

    stop = inbound_text(NUMBERS[6][1:], "STOP")
    assert (
        await verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=stop, signature=sign(stop, APP_SECRET)), metadata=app
        )
    ).valid
    assert not (
        await verify.VerifyWebhook(
            verify_pb2.WebhookRequest(body=stop, signature="sha256=" + "0" * 64), metadata=app
        )
    ).valid
    status = webhook_body(
        status_item(sent.message_id, "delivered", NUMBERS[0][1:], int(time.time())),
        kind="statuses",
    )
    await verify.VerifyWebhook(
        verify_pb2.WebhookRequest(body=status, signature=sign(status, APP_SECRET)), metadata=app
    )
    for token in (VERIFY_TOKEN, GUESSED_VERIFY):
        await verify.VerifySubscription(
            verify_pb2.SubscriptionRequest(mode="subscribe", verify_token=token, challenge="7"),
            metadata=app,
        )

    await consent.Grant(
        consent_pb2.GrantRequest(
            phone_number=NUMBERS[7],
            categories=[common_pb2.CATEGORY_MARKETING],
            source="web-form",
            notice_version="v3",
            evidence=f"form submitted by {NUMBERS[7]}",
        ),
        metadata=app,
    )
    await consent.Get(consent_pb2.GetRequest(phone_number=NUMBERS[7]), metadata=app)
    await consent.ExportSubject(
        consent_pb2.ExportSubjectRequest(phone_number=NUMBERS[7]), metadata=meta("dpo")
    )
    erase = await consent.EraseSubject(
        consent_pb2.EraseSubjectRequest(phone_number=NUMBERS[7], reason="user asked"),
        metadata=meta("dpo"),
    )
    await consent.ApproveOperation(
        consent_pb2.ApproveOperationRequest(operation_id=erase.operation_id),
        metadata=meta("legal"),
    )
    for refused in (app, (("authorization", f"Bearer {UNKNOWN_BEARER}"),)):
        with pytest.raises(grpc.aio.AioRpcError):
            await consent.ListAudit(consent_pb2.ListAuditRequest(), metadata=refused)
    scrapes = [await scrape(proc)]

    # Rotation in OpenBao mid-run: the new values must not leak either.
    await bao.put(
        "wa-sidecar/leak",
        access_token=ROTATED_TOKEN,
        app_secret=APP_SECRET,
        verify_token=ROTATED_VERIFY,
        encryption_key=ENCRYPTION_KEY,
    )
    handshake = verify_pb2.SubscriptionRequest(
        mode="subscribe", verify_token=ROTATED_VERIFY, challenge="8"
    )

    async def rotated() -> bool:
        return bool((await verify.VerifySubscription(handshake, metadata=app)).ok)

    await eventually(rotated, "the rotated secrets taken", timeout=10)
    assert (await send.Send(otp(NUMBERS[8], "leak-7"), metadata=app)).outcome == (
        send_pb2.OUTCOME_SENT
    )
    expected = hashlib.sha256(ROTATED_TOKEN.encode()).hexdigest()
    assert sim.state.messages[-1].token_sha256 == expected
    scrapes.append(await scrape(proc))
    return scrapes


def needles(bao: OpenBao, sim: SimulatorHandle) -> list[Needle]:
    found = [
        Needle("access token", ACCESS_TOKEN),
        Needle("rotated access token", ROTATED_TOKEN),
        Needle("app secret", APP_SECRET),
        Needle("verify token", VERIFY_TOKEN),
        Needle("rotated verify token", ROTATED_VERIFY),
        Needle("a caller's wrong verify token", GUESSED_VERIFY),
        Needle("an unknown bearer token", UNKNOWN_BEARER),
        Needle("vault token", bao.root_token),
        Needle("encryption key setting", ENCRYPTION_KEY),
    ]
    found += [Needle(f"encryption key {i}", part.split(":", 1)[1])
              for i, part in enumerate(ENCRYPTION_KEY.split(","))]  # fmt: skip
    found += [Needle(f"bearer of {name}", bearer(name)) for name in CALLERS]
    found += [Needle("a token Graph issued", t) for t in sim.state.tokens]
    for number in [*NUMBERS, TOO_SHORT]:
        found += number_needles(number)
    return found


async def test_no_secret_token_or_number_leaks_into_logs_spans_or_metrics(
    tmp_path: Path, leak_simulator: SimulatorHandle, receiver: tuple[Receiver, int]
) -> None:
    started = time.monotonic()
    spans, otlp_port = receiver
    auth = tmp_path / "auth.yaml"
    auth.write_text(
        yaml.safe_dump(
            {
                "principals": [
                    {
                        "name": name,
                        "token_sha256": hashlib.sha256(bearer(name).encode()).hexdigest(),
                        "roles": roles,
                    }
                    for name, roles in CALLERS.items()
                ]
            }
        )
    )
    async with OpenBao.started(tmp_path) as bao:
        await bao.put(
            "wa-sidecar/leak",
            access_token=ACCESS_TOKEN,
            app_secret=APP_SECRET,
            verify_token=VERIFY_TOKEN,
            encryption_key=ENCRYPTION_KEY,
        )
        env = {
            "WA_SIDECAR_ACCESS_TOKEN": "",
            "WA_SIDECAR_APP_SECRET": "",
            "WA_SIDECAR_VERIFY_TOKEN": "",
            "WA_SIDECAR_VAULT_ADDR": bao.addr,
            "WA_SIDECAR_VAULT_PATH": "secret/wa-sidecar/leak",
            "WA_SIDECAR_VAULT_TOKEN": bao.root_token,
            "WA_SIDECAR_SECRET_RELOAD_INTERVAL": "0.2",
            "WA_SIDECAR_AUTH_FILE": str(auth),
            "WA_SIDECAR_LOG_LEVEL": "DEBUG",
            "WA_SIDECAR_REQUEST_LOG_SAMPLE": "1",
            "WA_SIDECAR_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        async with SidecarProcess(tmp_path, env, graph_url=leak_simulator.url) as proc:
            scrapes = await traffic(proc, leak_simulator, bao)
        assert await proc.wait() == 0
        await spans.wait_for(lambda: any(s.span.name.endswith("/Send") for s in spans.spans))
        log = proc.log_text()
        captured = {"log": log}
        captured.update({f"/metrics scrape {i}": text for i, text in enumerate(scrapes)})
        captured.update(
            {
                f"span {i} {item.span.name}": item.span.SerializeToString().decode("latin-1")
                + json.dumps(item.resource)
                for i, item in enumerate(spans.spans)
            }
        )
        # The capture is the real thing, not an empty run.
        assert log.count("\n") > 30 and "token_refreshed" in log and "secrets_reloaded" in log
        assert len(spans.spans) > 20
        assert 'outcome="sent"' in scrapes[-1]
        hits = scan(captured, needles(bao, leak_simulator))
    assert not hits, "\n".join(sorted({str(h) for h in hits}))
    assert time.monotonic() - started < 30, "the leak scan must stay fast"
