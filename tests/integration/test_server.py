"""The sidecar as a process: health, reflection, config errors, graceful drain."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sidecar.api._gen.wasidecar.v1 import common_pb2, consent_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.testing import SidecarProcess, base_env

pytestmark = pytest.mark.integration

MARKETING_TO = "+16505551234"


async def _list_services(channel: grpc.aio.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def one() -> object:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: set[str] = set()
    async for reply in stub.ServerReflectionInfo(one()):
        names.update(s.name for s in reply.list_services_response.service)
    return names


async def test_process_serves_health_reflection_and_metrics(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as proc:
        health = health_pb2_grpc.HealthStub(proc.channel)
        for service in (
            "",
            "wasidecar.v1.SendService",
            "wasidecar.v1.VerifyService",
            "wasidecar.v1.ConsentService",
        ):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
        names = await _list_services(proc.channel)
        assert {
            "wasidecar.v1.SendService",
            "wasidecar.v1.VerifyService",
            "wasidecar.v1.ConsentService",
            "grpc.health.v1.Health",
        } <= names
        async with aiohttp.ClientSession() as http:
            async with http.get(proc.admin_url + "/readyz") as r:
                assert r.status == 200
            async with http.get(proc.admin_url + "/metrics") as r:
                assert "wa_sidecar_sends" in await r.text()
        assert await proc.stop() == 0


async def test_health_only_listener_serves_health_and_nothing_else(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    from sidecar.testing import free_port

    health_addr = f"127.0.0.1:{free_port()}"
    async with (
        SidecarProcess(tmp_path, {"WA_SIDECAR_HEALTH_ADDR": health_addr}, graph_url=simulator.url),
        grpc.aio.insecure_channel(health_addr) as channel,
    ):
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await send_pb2_grpc.SendServiceStub(channel).Check(send_pb2.SendRequest())
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_sigterm_lets_the_in_flight_call_finish_then_exits_zero(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    simulator.state.add_fault(FaultRule(latency_ms=1500, count=1))
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as proc:
        stub = send_pb2_grpc.SendServiceStub(proc.channel)
        call = stub.Send(
            send_pb2.SendRequest(
                to=MARKETING_TO,
                category=common_pb2.CATEGORY_AUTHENTICATION,
                template=send_pb2.Template(
                    name="otp", language=send_pb2.TemplateLanguage(code="en")
                ),
            )
        )
        # The request is in the simulator (latency injected) before SIGTERM goes out.
        await asyncio.wait_for(simulator.state.wait_received(1), 20)
        proc.signal(signal.SIGTERM)
        reply = await call
        assert reply.outcome == send_pb2.OUTCOME_SENT
        assert await proc.wait() == 0


async def test_a_watching_client_sees_not_serving_and_does_not_hold_the_drain(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    grace = 60.0  # a Watch stream left open would keep the process this long
    async with SidecarProcess(
        tmp_path, {"WA_SIDECAR_SHUTDOWN_GRACE": str(grace)}, graph_url=simulator.url
    ) as proc:
        health = health_pb2_grpc.HealthStub(proc.channel)
        watches = [
            health.Watch(health_pb2.HealthCheckRequest(service=name))
            for name in ("", "wasidecar.v1.SendService", "wasidecar.store.state")
        ]
        for watch in watches:
            first = await watch.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING
        proc.signal(signal.SIGTERM)
        for watch in watches:
            rest = []
            while (reply := await watch.read()) is not grpc.aio.EOF:  # the stream ends
                rest.append(reply.status)
            assert rest == [health_pb2.HealthCheckResponse.NOT_SERVING]
            assert await watch.code() == grpc.StatusCode.OK
        # Exits well inside the grace period (the open streams held it to 60 s).
        assert await proc.wait(timeout=grace / 3) == 0


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("WA_SIDECAR_SEND_RATE", "-1"),
        ("WA_SIDECAR_ENV", "production"),
        ("WA_SIDECAR_STATE_URL", "mysql://db"),
    ],
)
def test_bad_config_exits_nonzero_naming_the_setting_and_check_config_agrees(
    tmp_path: Path, var: str, value: str
) -> None:
    env = {**base_env(tmp_path), var: value}
    results = []
    for command in ("serve", "check-config"):
        done = subprocess.run(
            [sys.executable, "-m", "sidecar", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0
        assert var in done.stderr
        results.append(done.stderr.strip())
    assert results[0] == results[1]


def test_check_config_accepts_a_good_configuration(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "check-config"],
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def test_occupied_port_fails_fast_naming_the_setting(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    async with SidecarProcess(tmp_path, graph_url=simulator.url) as first:
        env = {**base_env(tmp_path, simulator.url), "WA_SIDECAR_GRPC_ADDR": first.grpc_addr}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "sidecar", "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0
        assert "WA_SIDECAR_GRPC_ADDR" in done.stderr


async def test_approve_operation_without_caller_auth_says_what_it_needs(sidecar: object) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await sidecar.consent.ApproveOperation(  # type: ignore[attr-defined]
            consent_pb2.ApproveOperationRequest(operation_id="x")
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "WA_SIDECAR_AUTH_FILE" in (err.value.details() or "")


async def test_simulator_command_serves_the_graph_api(tmp_path: Path) -> None:
    from sidecar.testing import free_port

    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sidecar",
        "simulator",
        "--port",
        str(port),
        "--token",
        "t0",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        body = {
            "messaging_product": "whatsapp",
            "to": MARKETING_TO,
            "type": "text",
            "text": {"body": "hi"},
        }
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(20):
                while True:  # the port opens once the command has started
                    try:
                        async with http.post(
                            f"http://127.0.0.1:{port}/v24.0/106540352242922/messages",
                            json=body,
                            headers={"Authorization": "Bearer t0"},
                        ) as r:
                            answer = await r.json()
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0)
        assert answer["messages"][0]["id"].startswith("wamid.")
        assert answer["contacts"][0] == {"input": MARKETING_TO, "wa_id": MARKETING_TO[1:]}
    finally:
        proc.terminate()
        await proc.wait()


def test_version_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("wa-policy-sidecar ")


def test_keys_rotate_without_a_key_refuses_and_creates_none(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "keys", "rotate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "WA_SIDECAR_ENCRYPTION_KEY" in done.stderr
    assert not list(tmp_path.glob("*.key"))
