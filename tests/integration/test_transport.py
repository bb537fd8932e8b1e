"""Private transport on real processes: the gRPC API on a Unix socket, TLS and
mTLS with certificate reloads, and HTTPS on the webhook ingress (issue 15)."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.certs import CertificateAuthority, Pair
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.simulator import SimulatorHandle
from sidecar.testing import DEV_VERIFY_TOKEN, SidecarProcess

pytestmark = pytest.mark.integration


def otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def serving(target: str, credentials: grpc.ChannelCredentials | None) -> bool:
    """One health check on a fresh channel: True when it answers SERVING."""
    channel = (
        grpc.aio.secure_channel(target, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(target)
    )
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=3
        )
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.aio.AioRpcError as exc:
        assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        return False
    finally:
        await channel.close()


def replace_pair(target: Pair, source: Pair) -> None:
    """Swap certificate files in place, each with one rename (as a volume update does)."""
    for new, old in ((source.cert, target.cert), (source.key, target.key)):
        staged = old.with_suffix(old.suffix + ".new")
        staged.write_bytes(new.read_bytes())
        os.replace(staged, old)


async def test_grpc_api_on_a_unix_socket_with_mode_0660(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    sock = tmp_path / "run" / "api.sock"
    sock.parent.mkdir()
    env = {"WA_SIDECAR_GRPC_ADDR": f"unix://{sock}"}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        mode = sock.stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o660
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Send(otp("+16505550301"))).outcome == send_pb2.OUTCOME_SENT
        proc.kill()  # leaves the socket file behind
        assert sock.exists()
        await proc.stop()
        proc.start()
        await proc.ready()  # the stale socket is replaced, not an error
        assert (
            await send_pb2_grpc.SendServiceStub(proc.channel).Send(otp("+16505550302"))
        ).outcome == (send_pb2.OUTCOME_SENT)


async def test_tls_and_a_certificate_reload(tmp_path: Path, simulator: SimulatorHandle) -> None:
    first, second = CertificateAuthority("first CA"), CertificateAuthority("second CA")
    served = first.issue("localhost", tmp_path / "server")
    renewed = second.issue("localhost", tmp_path / "renewed")
    env = {
        "WA_SIDECAR_TLS_CERT_FILE": str(served.cert),
        "WA_SIDECAR_TLS_KEY_FILE": str(served.key),
    }
    trusts_first = grpc.ssl_channel_credentials(first.pem)
    trusts_second = grpc.ssl_channel_credentials(second.pem)
    async with SidecarProcess(
        tmp_path, env, graph_url=simulator.url, credentials=trusts_first
    ) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Send(otp("+16505550311"))).outcome == send_pb2.OUTCOME_SENT
        assert not await serving(proc.grpc_addr, None), "plaintext must not reach a TLS API"
        assert not await serving(proc.grpc_addr, trusts_second)

        replace_pair(served, renewed)  # cert-manager renews under another CA
        await eventually(
            lambda: serving(proc.grpc_addr, trusts_second),
            "the renewed certificate served",
            timeout=10,
            period=0.2,
        )
        assert not await serving(proc.grpc_addr, trusts_first)
    assert "tls_reloaded" in proc.log_text()


async def test_mtls_refuses_a_client_without_a_certificate(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    servers, clients, strangers = (
        CertificateAuthority("server CA"),
        CertificateAuthority("client CA"),
        CertificateAuthority("someone else's CA"),
    )
    served = servers.issue("localhost", tmp_path / "server")
    app = clients.issue("checkout-service", tmp_path / "app", client=True)
    stranger = strangers.issue("checkout-service", tmp_path / "stranger", client=True)
    env = {
        "WA_SIDECAR_TLS_CERT_FILE": str(served.cert),
        "WA_SIDECAR_TLS_KEY_FILE": str(served.key),
        "WA_SIDECAR_TLS_CLIENT_CA_FILE": str(clients.write(tmp_path / "clients.crt")),
    }
    with_cert = grpc.ssl_channel_credentials(servers.pem, app.key_pem, app.cert_pem)
    async with SidecarProcess(
        tmp_path, env, graph_url=simulator.url, credentials=with_cert
    ) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Send(otp("+16505550321"))).outcome == send_pb2.OUTCOME_SENT
        assert not await serving(proc.grpc_addr, grpc.ssl_channel_credentials(servers.pem))
        foreign = grpc.ssl_channel_credentials(servers.pem, stranger.key_pem, stranger.cert_pem)
        assert not await serving(proc.grpc_addr, foreign)
        assert await serving(proc.grpc_addr, with_cert)


async def test_webhook_ingress_over_https(tmp_path: Path, simulator: SimulatorHandle) -> None:
    ca = CertificateAuthority("ingress CA")
    pair = ca.issue("localhost", tmp_path / "ingress")
    env = {
        "WA_SIDECAR_WEBHOOK_INGRESS": "true",
        "WA_SIDECAR_INGRESS_TLS_CERT_FILE": str(pair.cert),
        "WA_SIDECAR_INGRESS_TLS_KEY_FILE": str(pair.key),
    }
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        base = "https://" + proc.env["WA_SIDECAR_ADMIN_ADDR"]
        trust = ssl.create_default_context(cadata=ca.pem.decode())
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": DEV_VERIFY_TOKEN,
            "hub.challenge": "42",
        }
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/webhook", params=query, ssl=trust) as r:
                assert (r.status, await r.text()) == (200, "42")
            async with http.get(base + "/readyz", ssl=trust) as r:
                assert r.status == 200
            with pytest.raises(aiohttp.ClientError):
                async with http.get(proc.admin_url + "/readyz") as r:  # plain HTTP
                    await r.read()
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with http.get(base + "/readyz", ssl=ssl.create_default_context()) as r:
                    await r.read()

            renewed = CertificateAuthority("renewing CA")
            replace_pair(pair, renewed.issue("localhost", tmp_path / "renewed"))
            trust_new = ssl.create_default_context(cadata=renewed.pem.decode())

            async def renewed_served() -> bool:
                try:
                    async with http.get(base + "/readyz", ssl=trust_new) as r:
                        assert r.status == 200
                        return True
                except aiohttp.ClientConnectorCertificateError:
                    return False

            await eventually(
                renewed_served, "the renewed ingress certificate", timeout=10.0, period=0.2
            )


def test_check_config_names_the_tls_variable_at_fault(tmp_path: Path) -> None:
    ca = CertificateAuthority("config CA")
    server, other = ca.issue("localhost", tmp_path / "a"), ca.issue("localhost", tmp_path / "b")
    env = {
        "PATH": "/usr/bin:/bin",
        "WA_SIDECAR_TLS_CERT_FILE": str(server.cert),
        "WA_SIDECAR_TLS_KEY_FILE": str(other.key),
    }
    run = subprocess.run(
        [sys.executable, "-m", "sidecar", "check-config"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert "WA_SIDECAR_TLS_KEY_FILE" in run.stderr and "does not match" in run.stderr
    assert "BEGIN" not in run.stderr  # no key material in the message
