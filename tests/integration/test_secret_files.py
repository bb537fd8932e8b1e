"""Secret files rotated the way a Kubernetes Secret volume does it (a new
timestamped directory, then the ``..data`` symlink swapped), taken without a
restart (issue 15)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.simulator import SimulatorHandle
from sidecar.testing import SidecarProcess, inbound_text, signature

pytestmark = pytest.mark.integration

KEYS = ("access_token", "app_secret", "verify_token")


class SecretVolume:
    """The layout kubelet writes: ``<key> -> ..data/<key>``, ``..data -> ..<stamp>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self._generation = 0

    def write(self, **values: str) -> None:
        self._generation += 1
        stamp = self.root / f"..2026_12_04_{self._generation:06d}"
        stamp.mkdir()
        for key, value in values.items():
            (stamp / key).write_text(value)
        link = self.root / "..data_tmp"
        link.symlink_to(stamp.name)
        os.replace(link, self.root / "..data")  # the atomic swap
        for key in values:
            if not (self.root / key).is_symlink():
                (self.root / key).symlink_to(f"..data/{key}")

    def env(self) -> dict[str, str]:
        env = {f"WA_SIDECAR_{key.upper()}": "" for key in KEYS}
        env.update({f"WA_SIDECAR_{key.upper()}_FILE": str(self.root / key) for key in KEYS})
        return env


def otp(to: str) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


async def valid(proc: SidecarProcess, secret: str) -> bool:
    body = inbound_text("16505550200", "hi")
    reply = await verify_pb2_grpc.VerifyServiceStub(proc.channel).VerifyWebhook(
        verify_pb2.WebhookRequest(body=body, signature=signature(body, secret))
    )
    return reply.valid


async def test_a_swapped_secret_volume_is_taken_without_a_restart(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    simulator.state.issue_token(None, "EAAFILEFIRST0001")
    simulator.state.issue_token(None, "EAAFILESECOND0002")
    volume = SecretVolume(tmp_path / "secrets")
    volume.write(
        access_token="EAAFILEFIRST0001", app_secret="file-secret-one", verify_token="file-v1"
    )
    env = {
        **volume.env(),
        "WA_SIDECAR_SECRET_RELOAD_INTERVAL": "0.2",
        "WA_SIDECAR_APP_SECRET_OVERLAP": "60",
    }
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        assert (await send.Send(otp("+16505550201"))).outcome == send_pb2.OUTCOME_SENT
        assert await valid(proc, "file-secret-one")
        assert not await valid(proc, "file-secret-two")

        volume.write(
            access_token="EAAFILESECOND0002", app_secret="file-secret-two", verify_token="file-v2"
        )
        del simulator.state.tokens["EAAFILEFIRST0001"]
        await eventually(
            lambda: valid(proc, "file-secret-two"), "the new App Secret taken", timeout=5
        )
        assert await valid(proc, "file-secret-one"), "the old secret verifies during the overlap"
        assert (await send.Send(otp("+16505550202"))).outcome == send_pb2.OUTCOME_SENT
        expected = hashlib.sha256(b"EAAFILESECOND0002").hexdigest()
        assert simulator.state.messages[-1].token_sha256 == expected
        assert simulator.state.stats.rejected_by_code[190] == 0
        handshake = await verify_pb2_grpc.VerifyServiceStub(proc.channel).VerifySubscription(
            verify_pb2.SubscriptionRequest(mode="subscribe", verify_token="file-v2", challenge="c")
        )
        assert handshake.ok

        # A file that disappears keeps the last good values and says so in health.
        os.unlink(volume.root / "app_secret")
        health = health_pb2_grpc.HealthStub(proc.channel)
        secrets = health_pb2.HealthCheckRequest(service="wasidecar.secrets")

        async def reported() -> bool:
            status = (await health.Check(secrets)).status
            return bool(status == health_pb2.HealthCheckResponse.NOT_SERVING)

        await eventually(reported, "health reporting the unreadable file", timeout=5)
        assert await valid(proc, "file-secret-two")
