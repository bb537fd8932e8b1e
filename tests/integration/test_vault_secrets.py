"""Secrets from a real OpenBao server: start, rotation without restart,
OpenBao down and back, and prod refusing to start without it (issue 15)."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.openbao import OpenBao
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.keys import Keyring
from sidecar.simulator import SimulatorHandle
from sidecar.testing import (
    DEV_APP_SECRET,
    DEV_TOKEN,
    SidecarProcess,
    base_env,
    free_port,
    inbound_text,
    signature,
)

pytestmark = pytest.mark.integration

PATH = "wa-sidecar/test"
INTERVAL = 0.2
OVERLAP = 3.0
KEY = Keyring.generate()


@pytest.fixture
async def bao(tmp_path: Path) -> AsyncIterator[OpenBao]:
    async with OpenBao.started(tmp_path) as server:
        yield server


def vault_env(bao: OpenBao, **extra: str) -> dict[str, str]:
    return {
        # Nothing secret in the environment: everything comes from OpenBao.
        "WA_SIDECAR_ACCESS_TOKEN": "",
        "WA_SIDECAR_APP_SECRET": "",
        "WA_SIDECAR_VERIFY_TOKEN": "",
        "WA_SIDECAR_VAULT_ADDR": bao.addr,
        "WA_SIDECAR_VAULT_PATH": f"secret/{PATH}",
        "WA_SIDECAR_VAULT_TOKEN": bao.root_token,
        "WA_SIDECAR_SECRET_RELOAD_INTERVAL": str(INTERVAL),
        "WA_SIDECAR_APP_SECRET_OVERLAP": str(OVERLAP),
        **extra,
    }


def otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def webhook_valid(proc: SidecarProcess, secret: str) -> bool:
    body = inbound_text("16505550100", "hello")
    reply = await verify_pb2_grpc.VerifyServiceStub(proc.channel).VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body, secret))
    )
    return reply.valid


async def handshake_ok(proc: SidecarProcess, token: str) -> bool:
    reply = await verify_pb2_grpc.VerifyServiceStub(proc.channel).VerifySubscription(
        verify_pb2.SubscriptionRequest(mode="subscribe", verify_token=token, challenge="c")
    )
    return reply.ok


async def metric(proc: SidecarProcess, line_start: str) -> float | None:
    async with aiohttp.ClientSession() as http, http.get(proc.admin_url + "/metrics") as r:
        text = await r.text()
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


async def secrets_health(proc: SidecarProcess, component: str = "wasidecar.secrets") -> int:
    reply = await health_pb2_grpc.HealthStub(proc.channel).Check(
        health_pb2.HealthCheckRequest(service=component)
    )
    return int(reply.status)


async def test_secrets_rotate_in_openbao_without_a_restart(
    tmp_path: Path, simulator: SimulatorHandle, bao: OpenBao
) -> None:
    first, second = "EAAVAULTFIRST0001", "EAAVAULTSECOND0002"
    simulator.state.issue_token(None, first)
    simulator.state.issue_token(None, second)
    await bao.put(
        PATH,
        access_token=first,
        app_secret="vault-app-secret-one",
        verify_token="vault-verify-one",
        encryption_key=KEY,
    )
    async with SidecarProcess(tmp_path, vault_env(bao), graph_url=simulator.url) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Send(otp("+16505550001"))).outcome == send_pb2.OUTCOME_SENT
        assert simulator.state.messages[-1].token_sha256 == sha(first)
        assert await webhook_valid(proc, "vault-app-secret-one")
        assert await handshake_ok(proc, "vault-verify-one")
        assert not await webhook_valid(proc, "vault-app-secret-two")

        written = time.monotonic()
        await bao.put(
            PATH,
            access_token=second,
            app_secret="vault-app-secret-two",
            verify_token="vault-verify-two",
            encryption_key=KEY,
        )
        # Meta stops taking the old token the moment it is replaced.
        del simulator.state.tokens[first]
        took = await eventually(
            lambda: webhook_valid(proc, "vault-app-secret-two"), "new secret", 10 * INTERVAL + 2
        )
        # During the overlap a delivery Meta signed a moment ago still verifies.
        assert await webhook_valid(proc, "vault-app-secret-one")
        assert await handshake_ok(proc, "vault-verify-two")
        assert not await handshake_ok(proc, "vault-verify-one")
        assert (await send.Send(otp("+16505550002"))).outcome == send_pb2.OUTCOME_SENT
        assert simulator.state.messages[-1].token_sha256 == sha(second)
        assert simulator.state.stats.rejected_by_code[190] == 0, "no send failed on the swap"
        reloads = 'wa_sidecar_secret_reloads_total{result="ok",source="vault"}'
        assert (await metric(proc, reloads) or 0) >= 1

        # After the overlap the replaced secret no longer verifies.
        await eventually(
            lambda: _rejects(proc, "vault-app-secret-one"), "old secret retired", OVERLAP + 5
        )
        assert time.monotonic() - written >= OVERLAP
    print(f"new App Secret verified {took:.2f} s after the write (interval {INTERVAL} s)")


async def _rejects(proc: SidecarProcess, secret: str) -> bool:
    return not await webhook_valid(proc, secret)


async def test_openbao_down_keeps_the_last_good_values_and_recovers(
    tmp_path: Path, simulator: SimulatorHandle, bao: OpenBao
) -> None:
    token = "EAAVAULTDOWN0001"
    simulator.state.issue_token(None, token)
    values = {
        "access_token": token,
        "app_secret": "vault-app-secret-down",
        "verify_token": "vault-verify-down",
        "encryption_key": KEY,
    }
    await bao.put(PATH, **values)
    async with SidecarProcess(tmp_path, vault_env(bao), graph_url=simulator.url) as proc:
        up = 'wa_sidecar_secret_source_up{source="vault"}'
        assert await metric(proc, up) == 1.0
        assert await secrets_health(proc) == health_pb2.HealthCheckResponse.SERVING

        bao.kill()

        async def reported_down() -> bool:
            return await metric(proc, up) == 0.0

        await eventually(reported_down, "the metric saying OpenBao is down", 10)
        assert await secrets_health(proc) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await secrets_health(proc, "") == health_pb2.HealthCheckResponse.SERVING
        # The last good values stay in force.
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Send(otp("+16505550003"))).outcome == send_pb2.OUTCOME_SENT
        assert simulator.state.messages[-1].token_sha256 == sha(token)
        assert await webhook_valid(proc, "vault-app-secret-down")
        assert await handshake_ok(proc, "vault-verify-down")

        await bao.start()  # a dev server starts empty: the operator writes the secret again
        await bao.put(PATH, **values)

        async def reported_up() -> bool:
            return await metric(proc, up) == 1.0

        await eventually(reported_up, "the metric saying OpenBao is back", 10)
        assert await secrets_health(proc) == health_pb2.HealthCheckResponse.SERVING

        fresh = "EAAVAULTAFTER0002"
        simulator.state.issue_token(None, fresh)
        await bao.put(PATH, **{**values, "access_token": fresh})

        async def uses_fresh() -> bool:
            assert (await send.Send(otp("+16505550004"))).outcome == send_pb2.OUTCOME_SENT
            return simulator.state.messages[-1].token_sha256 == sha(fresh)

        await eventually(uses_fresh, "the token written after recovery", 10)
    log = proc.log_text()
    assert "secret_source_down" in log and "secret_source_up" in log


def test_prod_refuses_to_start_when_openbao_is_unreachable(tmp_path: Path) -> None:
    addr = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        **base_env(tmp_path),
        "WA_SIDECAR_ENV": "prod",
        "WA_SIDECAR_ACCESS_TOKEN": "",
        "WA_SIDECAR_APP_SECRET": "",
        "WA_SIDECAR_VERIFY_TOKEN": "",
        "WA_SIDECAR_VAULT_ADDR": addr,
        "WA_SIDECAR_VAULT_PATH": f"secret/{PATH}",
        "WA_SIDECAR_VAULT_TOKEN": "unused-token",
    }
    run = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = (run.stdout + run.stderr).decode()
    assert run.returncode != 0
    assert "WA_SIDECAR_VAULT_ADDR" in output and addr in output
    assert "unused-token" not in output


async def test_prod_refuses_to_start_when_openbao_lacks_a_secret(
    tmp_path: Path, bao: OpenBao
) -> None:
    await bao.put(PATH, access_token="t", app_secret="s", encryption_key=KEY)
    env = {**base_env(tmp_path), **vault_env(bao), "WA_SIDECAR_ENV": "prod"}
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sidecar", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = (run.stdout + run.stderr).decode()
    assert run.returncode != 0
    assert "WA_SIDECAR_VAULT_PATH" in output and "verify_token" in output


async def test_outside_prod_a_missing_openbao_is_waited_for(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    bao = OpenBao(tmp_path)  # not started yet
    env = {
        **vault_env(bao),
        # Outside prod the environment's values carry the start.
        "WA_SIDECAR_ACCESS_TOKEN": DEV_TOKEN,
        "WA_SIDECAR_APP_SECRET": DEV_APP_SECRET,
        "WA_SIDECAR_VERIFY_TOKEN": "env-verify",
    }
    try:
        async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
            assert await secrets_health(proc) == health_pb2.HealthCheckResponse.NOT_SERVING
            assert await webhook_valid(proc, DEV_APP_SECRET)
            await bao.start()
            await bao.put(PATH, app_secret="vault-app-secret-late")

            async def healthy() -> bool:
                return await secrets_health(proc) == health_pb2.HealthCheckResponse.SERVING

            await eventually(healthy, "health once OpenBao answers", 10)
            assert await webhook_valid(proc, "vault-app-secret-late")
            assert await handshake_ok(proc, "env-verify")  # not in OpenBao: the environment's
    finally:
        bao.kill()
