"""The rendered sidecar container runs: the chart's command, args and env,
started as kubelet would start them (tests/support/kubelet.py), on the real
``wa-sidecar``. A misspelt variable in a template fails here, because the
sidecar refuses unknown ``WA_SIDECAR_*`` names.

No cluster here: Secrets are test values written to files, Service names
resolve to 127.0.0.1, and ports are picked free with ``--set`` so the test
does not depend on 50051/50052/9464 being unused on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.certs import CertificateAuthority
from support.helm import (
    ROOT,
    find,
    manifests,
    render,
    require_helm,
    scenario_named,
    sidecar_container,
)
from support.kubelet import LocalContainer
from support.openbao import OpenBao
from support.tokenreview import TokenReview, kubernetes_auth, service_account_jwt
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.keys import Keyring
from sidecar.testing import (
    DEV_APP_SECRET,
    DEV_TOKEN,
    DEV_VERIFY_TOKEN,
    free_port,
    inbound_text,
    signature,
)

pytestmark = pytest.mark.e2e

TEST_NUMBER = "+16505550111"  # a reserved 555 test number


def _test_secrets(env: str) -> dict[str, dict[str, str]]:
    """What each environment's Secrets hold, as test values (never real ones)."""
    values = {
        "access_token": DEV_TOKEN,
        "app_secret": DEV_APP_SECRET,
        "verify_token": DEV_VERIFY_TOKEN,
        "encryption_key": Keyring.generate(),
        "pg_password": "test-pg-password",
        "quota_url": "rediss://:test-redis-password@redis.wa-prod.svc.cluster.local:6380/0",
    }
    return {
        f"wa-sidecar-{env}": values,
        f"wa-sidecar-{env}-auth": {"auth.yaml": (ROOT / "examples" / "auth.yaml").read_text()},
    }


def _example_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod: dict[str, Any] = find(docs, "Deployment", "demo-wa-sidecar-example")["spec"]["template"][
        "spec"
    ]
    return pod


def _free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@contextlib.asynccontextmanager
async def _started(local: LocalContainer, log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            local.argv, env=local.env, cwd=local.cwd, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait)


async def _tcp_ready(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """The simulator's rendered readinessProbe (tcpSocket), probed like kubelet
    does (its period shortened to 0.05 s)."""

    async def accepts() -> bool:
        assert proc.poll() is None, f"simulator exited ({proc.poll()}) before listening"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    await eventually(accepts, f"simulator listening on {port}", timeout=timeout, period=0.05)


async def _serving(port: int, proc: subprocess.Popen[bytes], timeout: float) -> float:
    """The startupProbe: grpc.health.v1 on the rendered port; waits on Watch
    for SERVING (no polling) and gives up if the process exits first."""
    started = time.monotonic()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        async def watch() -> None:
            while True:
                await channel.channel_ready()
                try:
                    async for reply in stub.Watch(health_pb2.HealthCheckRequest()):
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            return
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise

        task = asyncio.ensure_future(watch())
        exited = asyncio.ensure_future(asyncio.to_thread(proc.wait))
        done, _ = await asyncio.wait({task, exited}, timeout=timeout, return_when="FIRST_COMPLETED")
        if task in done:
            exited.cancel()
            task.result()
            return time.monotonic() - started
        task.cancel()
        raise AssertionError(f"no SERVING on health port {port} (exit={proc.poll()})")


async def _first_line(local: LocalContainer) -> str:
    """The first line a long-running container prints; then it is stopped."""
    proc = await asyncio.create_subprocess_exec(
        *local.argv, env=local.env, cwd=local.cwd, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
    finally:
        proc.kill()
        await proc.wait()
    return line.decode().strip()


async def test_rendered_dev_sidecar_serves_health_on_its_rendered_port_and_sends(
    tmp_path: Path,
) -> None:
    helm = require_helm()
    grpc_port, health_port, admin_port, sim_port = _free_ports(4)
    docs = manifests(
        render(
            helm,
            scenario_named("dev"),
            f"grpc.port={grpc_port}",
            f"health.port={health_port}",
            f"admin.port={admin_port}",
            f"simulator.port={sim_port}",
        )
    )
    pod = _example_pod(docs)
    sidecar = sidecar_container(pod)
    probe_ports = {sidecar[p]["grpc"]["port"] for p in ("startupProbe", "readinessProbe")}
    assert probe_ports | {sidecar["livenessProbe"]["grpc"]["port"]} == {health_port}
    secrets = _test_secrets("dev")
    sim_pod = find(docs, "Deployment", "demo-wa-sidecar-simulator")["spec"]["template"]["spec"]
    (sim_container,) = sim_pod["containers"]
    sim = LocalContainer.prepare(sim_container, sim_pod, docs, tmp_path / "sim", secrets=secrets)
    side = LocalContainer.prepare(sidecar, pod, docs, tmp_path / "pod", secrets=secrets)
    assert side.env["WA_SIDECAR_GRAPH_BASE_URL"] == f"http://127.0.0.1:{sim_port}"
    log = tmp_path / "sidecar.log"
    async with _started(sim, tmp_path / "simulator.log") as sim_proc:
        await _tcp_ready(sim_port, sim_proc, 20.0)
        async with _started(side, log) as proc:
            try:
                await _serving(health_port, proc, timeout=20)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
            # The API is on the rendered loopback address, and reaches Graph
            # (the simulator) with the token and App Secret from the Secret files.
            assert side.env["WA_SIDECAR_GRPC_ADDR"] == f"127.0.0.1:{grpc_port}"
            async with grpc.aio.insecure_channel(side.env["WA_SIDECAR_GRPC_ADDR"]) as channel:
                reply = await send_pb2_grpc.SendServiceStub(channel).Send(
                    send_pb2.SendRequest(
                        to=TEST_NUMBER,
                        idempotency_key="helm-dev-1",
                        category=common_pb2.CATEGORY_AUTHENTICATION,
                        template=send_pb2.Template(
                            name="otp", language=send_pb2.TemplateLanguage(code="en")
                        ),
                    ),
                    timeout=10,
                )
            assert reply.outcome == send_pb2.OUTCOME_SENT, reply
            # The chart's `helm test` pod, run against the Service (this machine).
            test_pod = find(docs, "Pod", "demo-wa-sidecar-test-health")["spec"]
            (test_container,) = test_pod["containers"]
            hook = LocalContainer.prepare(
                test_container, test_pod, docs, tmp_path / "test", secrets=secrets
            )
            done = await asyncio.to_thread(
                subprocess.run, hook.argv, env=hook.env, capture_output=True, text=True, timeout=30
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert done.stdout.strip() == f"127.0.0.1:{health_port} SERVING"
            # The example app's container reaches the sidecar over loopback.
            (app_container,) = pod["containers"]
            app = LocalContainer.prepare(
                app_container, pod, docs, tmp_path / "app", secrets=secrets
            )
            assert await _first_line(app) == "sidecar SERVING"
            # SIGTERM drains within the grace period the pod is given.
            proc.send_signal(signal.SIGTERM)
            grace = pod["terminationGracePeriodSeconds"]
            code = await asyncio.wait_for(asyncio.to_thread(proc.wait), grace)
            assert code == 0, log.read_text()[-3000:]
    text = log.read_text()
    for secret in (DEV_TOKEN, DEV_APP_SECRET, DEV_VERIFY_TOKEN, TEST_NUMBER):
        assert secret not in text


def _check_config(
    env: str, docs: list[dict[str, Any]], tmp: Path
) -> subprocess.CompletedProcess[str]:
    pod = _example_pod(docs)
    local = LocalContainer.prepare(
        sidecar_container(pod), pod, docs, tmp, secrets=_test_secrets(env)
    )
    assert local.argv == ["wa-sidecar", "serve"]
    return subprocess.run(
        [local.argv[0], "check-config"],
        env=local.env,
        cwd=local.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("env", "principals"), [("staging", 1), ("prod", 4)])
def test_check_config_accepts_the_rendered_staging_and_prod_env(
    env: str, principals: int, tmp_path: Path
) -> None:
    helm = require_helm()
    docs = manifests(render(helm, scenario_named(env)))
    done = _check_config(env, docs, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"configuration ok (env={env}, {principals} principals)"


def test_a_misspelt_variable_in_the_rendered_env_fails_check_config(tmp_path: Path) -> None:
    helm = require_helm()
    # extraEnv is passed through as written: only the sidecar can catch the typo.
    docs = manifests(
        render(
            helm,
            scenario_named("prod"),
            "extraEnv[0].name=WA_SIDECAR_SEND_RATES",
            "extraEnv[0].value=40",
        )
    )
    done = _check_config("prod", docs, tmp_path)
    assert done.returncode == 1
    assert "WA_SIDECAR_SEND_RATES: unknown setting; did you mean WA_SIDECAR_SEND_RATE?" in (
        done.stderr
    )


@pytest.mark.parametrize("links", [False, True])
def test_a_service_named_wa_sidecar_cannot_stop_the_start_with_links_on_or_off(
    links: bool, tmp_path: Path
) -> None:
    helm = require_helm()
    # A Service named wa-sidecar makes kubelet's service links WA_SIDECAR_SERVICE_HOST & co.
    docs = manifests(
        render(
            helm,
            scenario_named("prod"),
            "fullnameOverride=wa-sidecar",
            f"enableServiceLinks={str(links).lower()}",
        )
    )
    pod = find(docs, "Deployment", "wa-sidecar-example")["spec"]["template"]["spec"]
    local = LocalContainer.prepare(
        sidecar_container(pod), pod, docs, tmp_path, secrets=_test_secrets("prod")
    )
    done = subprocess.run(
        [local.argv[0], "check-config"],
        env=local.env,
        cwd=local.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # The chart turns the links off; where they are on (a pod that includes only
    # the container), the sidecar skips Kubernetes' link variables, not typos.
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------- Vault/OpenBao, TLS


async def _webhook_valid(channel: grpc.aio.Channel, secret: str) -> bool:
    body = inbound_text("16505550100", "hello")
    reply = await verify_pb2_grpc.VerifyServiceStub(channel).VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body, secret)), timeout=5
    )
    return bool(reply.valid)


async def test_rendered_vault_sidecar_logs_in_to_openbao_with_its_projected_token(
    tmp_path: Path,
) -> None:
    """The vault scenario against a real OpenBao over https (its CA from the
    Secret the chart mounts), Kubernetes auth with the projected token; the
    only stand-in is the Kubernetes API's TokenReview."""
    helm = require_helm()
    grpc_port, health_port, admin_port = _free_ports(3)
    async with TokenReview() as review, OpenBao.started(tmp_path, tls=True) as bao:
        docs = manifests(
            render(
                helm,
                scenario_named("vault"),
                f"grpc.port={grpc_port}",
                f"health.port={health_port}",
                f"admin.port={admin_port}",
                # What the cluster's DNS would do for openbao.openbao.svc.
                f"vault.addr={bao.addr}",
                # A rotation shows within the test's patience.
                "secrets.reloadIntervalSeconds=1",
            )
        )
        pod = _example_pod(docs)
        sidecar = sidecar_container(pod)
        env = {e["name"]: e.get("value", "") for e in sidecar["env"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        (projected,) = volumes["wa-sidecar-vault-token"]["projected"]["sources"]
        audience = projected["serviceAccountToken"]["audience"]
        account = pod.get("serviceAccountName", "default")
        # The token kubelet would request for the pod's service account.
        jwt = service_account_jwt("demo", account, audience=audience)
        review.genuine.append(jwt)
        mount, _, path = env["WA_SIDECAR_VAULT_PATH"].partition("/")
        await kubernetes_auth(
            bao,
            review.url,
            role=env["WA_SIDECAR_VAULT_ROLE"],
            namespace="demo",
            account=account,
            paths=[f"{mount}/data/{path}"],
            audience=audience,
            mount=env["WA_SIDECAR_VAULT_AUTH_MOUNT"],
        )
        key = Keyring.generate()
        values = {
            "access_token": DEV_TOKEN,
            "app_secret": "vault-app-secret-one",
            "verify_token": DEV_VERIFY_TOKEN,
            "encryption_key": key,
        }
        await bao.put(path, **values)
        secrets = {"openbao-ca": {"ca.crt": bao.ca_file.read_text()}}
        side = LocalContainer.prepare(
            sidecar, pod, docs, tmp_path / "pod", secrets=secrets, service_account_token=jwt
        )
        assert side.env["WA_SIDECAR_ENV"] == "prod"  # which starts only with every secret read
        assert not any(name.endswith(("_TOKEN", "_SECRET", "_KEY")) for name in side.env)
        log = tmp_path / "sidecar.log"
        async with _started(side, log) as proc:
            try:
                await _serving(health_port, proc, timeout=30)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
            async with grpc.aio.insecure_channel(side.env["WA_SIDECAR_GRPC_ADDR"]) as channel:
                secrets_health = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service="wasidecar.secrets"), timeout=5
                )
                assert secrets_health.status == health_pb2.HealthCheckResponse.SERVING
                assert await _webhook_valid(channel, "vault-app-secret-one")
                assert not await _webhook_valid(channel, "vault-app-secret-two")
                # A new KV version is taken at the rendered reload interval.
                await bao.put(path, **{**values, "app_secret": "vault-app-secret-two"})
                await eventually(
                    lambda: _webhook_valid(channel, "vault-app-secret-two"),
                    "the rotated App Secret taken",
                )
                # Within the rendered overlap the replaced secret still verifies.
                assert await _webhook_valid(channel, "vault-app-secret-one")
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(asyncio.to_thread(proc.wait), 30) == 0
    text = log.read_text()
    for secret in (jwt, DEV_TOKEN, "vault-app-secret-one", "vault-app-secret-two", key):
        assert secret not in text


def _tls_secrets(ca: CertificateAuthority, tmp: Path) -> dict[str, dict[str, str]]:
    """What cert-manager would write: the sidecar's and the app's kubernetes.io/tls Secrets."""
    server = ca.issue("localhost", tmp / "server")
    client = ca.issue("demo-wa-sidecar-client", tmp / "client", client=True)
    return {
        "demo-wa-sidecar-tls": {
            "tls.crt": server.cert_pem.decode(),
            "tls.key": server.key_pem.decode(),
            "ca.crt": ca.pem.decode(),
        },
        "demo-wa-sidecar-client": {
            "tls.crt": client.cert_pem.decode(),
            "tls.key": client.key_pem.decode(),
            "ca.crt": ca.pem.decode(),
        },
    }


async def _api_health(addr: str, credentials: grpc.ChannelCredentials | None) -> int:
    """grpc.health.v1 on the API port; -1 when the connection or handshake fails."""
    channel = (
        grpc.aio.secure_channel(addr, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(addr)
    )
    async with channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        except grpc.aio.AioRpcError as exc:
            assert exc.code() in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
            return -1
    return int(reply.status)


async def test_rendered_tls_sidecar_serves_mtls_on_the_api_https_on_admin_plain_health(
    tmp_path: Path,
) -> None:
    helm = require_helm()
    grpc_port, health_port, admin_port = _free_ports(3)
    docs = manifests(
        render(
            helm,
            scenario_named("tls"),
            f"grpc.port={grpc_port}",
            f"health.port={health_port}",
            f"admin.port={admin_port}",
        )
    )
    pod = _example_pod(docs)
    ca, stranger = CertificateAuthority("wa-internal-ca"), CertificateAuthority("another CA")
    secrets = {**_test_secrets("dev"), **_tls_secrets(ca, tmp_path)}
    side = LocalContainer.prepare(
        sidecar_container(pod), pod, docs, tmp_path / "pod", secrets=secrets
    )
    log = tmp_path / "sidecar.log"
    async with _started(side, log) as proc:
        try:
            # kubelet's startupProbe: plaintext gRPC on the health-only port.
            await _serving(health_port, proc, timeout=20)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
        addr = side.env["WA_SIDECAR_GRPC_ADDR"]
        client = secrets["demo-wa-sidecar-client"]
        app_pair = grpc.ssl_channel_credentials(
            ca.pem, client["tls.key"].encode(), client["tls.crt"].encode()
        )
        serving = health_pb2.HealthCheckResponse.SERVING
        assert await _api_health(addr, app_pair) == serving
        # mTLS: no client certificate, or one another CA signed, is refused; no plaintext.
        assert await _api_health(addr, grpc.ssl_channel_credentials(ca.pem)) == -1
        foreign = stranger.issue("intruder", tmp_path / "intruder", client=True)
        assert (
            await _api_health(
                addr, grpc.ssl_channel_credentials(ca.pem, foreign.key_pem, foreign.cert_pem)
            )
            == -1
        )
        assert await _api_health(addr, None) == -1
        # The admin listener speaks HTTPS, checked as the PodMonitor's tlsConfig would.
        (endpoint,) = find(docs, "PodMonitor")["spec"]["podMetricsEndpoints"]
        context = ssl.create_default_context(cadata=ca.pem.decode())
        admin = side.env["WA_SIDECAR_ADMIN_ADDR"].replace("0.0.0.0", "127.0.0.1")
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{endpoint['scheme']}://{admin}{endpoint['path']}",
                ssl=context,
                server_hostname=endpoint["tlsConfig"]["serverName"],
            ) as reply,
        ):
            assert reply.status == 200
            assert "wa_sidecar_" in await reply.text()
        # The example app verifies the sidecar and presents its client pair.
        (app_container,) = pod["containers"]
        app = LocalContainer.prepare(app_container, pod, docs, tmp_path / "app", secrets=secrets)
        assert await _first_line(app) == "sidecar SERVING"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(asyncio.to_thread(proc.wait), 30) == 0
