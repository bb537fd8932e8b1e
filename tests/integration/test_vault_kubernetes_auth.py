"""Vault's Kubernetes auth against a real OpenBao: the sidecar logs in with its
service-account JWT and role, reads its secrets, and logs in again when the
token it got is revoked. The one stand-in is the Kubernetes API's TokenReview
endpoint that OpenBao asks whether the JWT is genuine."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from support.certs import CertificateAuthority
from support.openbao import OpenBao

from sidecar.config import Secret
from sidecar.crypto.keys import Keyring
from sidecar.errors import SecretSourceUnavailable
from sidecar.secrets.vault import KubernetesAuth, TokenAuth, VaultSource

pytestmark = pytest.mark.integration

NAMESPACE, ACCOUNT = "payments", "wa-sidecar"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_jwt() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = {"alg": "RS256", "kid": "test", "typ": "JWT"}
    claims = {
        "iss": "kubernetes/serviceaccount",
        "sub": f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}",
        "kubernetes.io/serviceaccount/namespace": NAMESPACE,
        "kubernetes.io/serviceaccount/service-account.name": ACCOUNT,
        "kubernetes.io/serviceaccount/service-account.uid": "0d6d9b4e-uid",
        "iat": int(time.time()),
    }
    signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{b64(signature)}"


@pytest.fixture
async def token_review() -> AsyncIterator[tuple[str, list[str]]]:
    """The Kubernetes API's TokenReview: genuine for the JWTs in the list."""
    genuine: list[str] = []

    async def review(request: web.Request) -> web.Response:
        body = await request.json()
        ok = body.get("spec", {}).get("token") in genuine
        status: dict[str, object] = {"authenticated": ok}
        if ok:
            status["user"] = {
                "username": f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}",
                "uid": "0d6d9b4e-uid",
                "groups": ["system:serviceaccounts"],
            }
        return web.json_response(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}
        )

    app = web.Application()
    app.router.add_post("/apis/authentication.k8s.io/v1/tokenreviews", review)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", genuine
    finally:
        await runner.cleanup()


async def test_kubernetes_auth_logs_in_with_the_service_account_jwt(
    tmp_path: Path, token_review: tuple[str, list[str]]
) -> None:
    host, genuine = token_review
    jwt = service_account_jwt()
    jwt_file = tmp_path / "token"
    jwt_file.write_text(jwt)
    key = Keyring.generate()
    async with OpenBao.started(tmp_path) as bao:
        await bao.call("POST", "sys/auth/kubernetes", {"type": "kubernetes"})
        await bao.call(
            "POST",
            "auth/kubernetes/config",
            {
                "kubernetes_host": host,
                "disable_local_ca_jwt": True,
                # Required with disable_local_ca_jwt; unused over http://.
                "kubernetes_ca_cert": CertificateAuthority("cluster CA").pem.decode(),
            },
        )
        await bao.call(
            "PUT",
            "sys/policies/acl/wa-read",
            {"policy": 'path "secret/data/wa-sidecar/*" { capabilities = ["read"] }'},
        )
        await bao.call(
            "POST",
            "auth/kubernetes/role/wa-sidecar",
            {
                "bound_service_account_names": [ACCOUNT],
                "bound_service_account_namespaces": [NAMESPACE],
                "token_policies": ["wa-read"],
                "ttl": "1h",
            },
        )
        await bao.put("wa-sidecar/k8s", access_token="k8s-token", encryption_key=key)

        auth = KubernetesAuth("wa-sidecar", str(jwt_file))
        source = VaultSource(
            aiohttp.ClientSession(), bao.addr, "secret/wa-sidecar/k8s", auth, timeout=5
        )
        try:
            with pytest.raises(SecretSourceUnavailable) as refused:
                await source.read(None)  # the API server does not vouch for it yet
            assert jwt not in str(refused.value)
            genuine.append(jwt)
            reading = await source.read(None)
            assert reading is not None
            assert reading.values["access_token"].reveal() == "k8s-token"
            # The login's token revoked: the next look logs in again by itself.
            token = await auth.token(source)
            await bao.call("POST", "auth/token/revoke", {"token": token})
            await bao.put("wa-sidecar/k8s", access_token="k8s-token-2", encryption_key=key)
            again = await source.read(reading)
            assert again is not None and again.values["access_token"].reveal() == "k8s-token-2"
            assert await auth.token(source) != token
        finally:
            await source.close()

        # The same secret through token auth, and a wrong token refused by name.
        wrong = VaultSource(
            aiohttp.ClientSession(),
            bao.addr,
            "secret/wa-sidecar/k8s",
            TokenAuth(Secret("not-a-vault-token")),
            timeout=5,
        )
        try:
            with pytest.raises(SecretSourceUnavailable, match="refused"):
                await wrong.read(None)
        finally:
            await wrong.close()
