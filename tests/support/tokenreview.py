"""A stand-in for the one Kubernetes API call Vault's Kubernetes auth makes:
TokenReview, "is this service-account JWT genuine?". Everything else is real
(OpenBao, the sidecar's login, the JWT file it reads).

    async with TokenReview() as review:
        jwt = service_account_jwt("payments", "wa-sidecar", audience="openbao")
        review.genuine.append(jwt)          # the API server now vouches for it
        await kubernetes_auth(bao, review.url, role="wa-sidecar", namespace="payments",
                              account="wa-sidecar", paths=["secret/data/wa-sidecar/*"])

The review is audience-aware like the API server's: a JWT issued for other
audiences than the ones asked about is not authenticated.
"""

from __future__ import annotations

import base64
import json
import time
from types import TracebackType
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from support.certs import CertificateAuthority
from support.openbao import OpenBao

UID = "0d6d9b4e-uid"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(jwt: str) -> dict[str, Any]:
    body = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


def service_account_jwt(namespace: str, account: str, *, audience: str = "") -> str:
    """A signed JWT shaped like a (projected) service-account token."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = {"alg": "RS256", "kid": "test", "typ": "JWT"}
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "kubernetes/serviceaccount",
        "sub": f"system:serviceaccount:{namespace}:{account}",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": account,
        "kubernetes.io/serviceaccount/service-account.uid": UID,
        "iat": now,
        "exp": now + 3600,
    }
    if audience:
        claims["aud"] = [audience]
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{_b64(signature)}"


class TokenReview:
    """The Kubernetes API's TokenReview endpoint: genuine for the JWTs in ``genuine``."""

    def __init__(self) -> None:
        self.genuine: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _review(self, request: web.Request) -> web.Response:
        spec = (await request.json()).get("spec", {})
        token, asked = spec.get("token", ""), spec.get("audiences") or []
        status: dict[str, Any] = {"authenticated": False}
        if token in self.genuine:
            audiences = _claims(token).get("aud", [])
            matched = [a for a in asked if a in audiences]
            if not asked or matched:
                claims = _claims(token)
                namespace = claims["kubernetes.io/serviceaccount/namespace"]
                account = claims["kubernetes.io/serviceaccount/service-account.name"]
                status = {
                    "authenticated": True,
                    "audiences": matched,
                    "user": {
                        "username": f"system:serviceaccount:{namespace}:{account}",
                        "uid": UID,
                        "groups": ["system:serviceaccounts"],
                    },
                }
        return web.json_response(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}
        )

    async def __aenter__(self) -> TokenReview:
        app = web.Application()
        app.router.add_post("/apis/authentication.k8s.io/v1/tokenreviews", self._review)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp keeps the bound socket private
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def kubernetes_auth(
    bao: OpenBao,
    review_url: str,
    *,
    role: str,
    namespace: str,
    account: str,
    paths: list[str],
    audience: str = "",
    mount: str = "kubernetes",
) -> None:
    """Enable Kubernetes auth in OpenBao against the stand-in, with a role that
    may read ``paths`` (KV v2 data paths, globs allowed)."""
    await bao.call("POST", f"sys/auth/{mount}", {"type": "kubernetes"})
    await bao.call(
        "POST",
        f"auth/{mount}/config",
        {
            "kubernetes_host": review_url,
            "disable_local_ca_jwt": True,
            # Required with disable_local_ca_jwt; unused over http://.
            "kubernetes_ca_cert": CertificateAuthority("cluster CA").pem.decode(),
        },
    )
    rules = "\n".join(f'path "{p}" {{ capabilities = ["read"] }}' for p in paths)
    await bao.call("PUT", f"sys/policies/acl/{role}-read", {"policy": rules})
    body: dict[str, Any] = {
        "bound_service_account_names": [account],
        "bound_service_account_namespaces": [namespace],
        "token_policies": [f"{role}-read"],
        "ttl": "1h",
    }
    if audience:
        body["audience"] = audience
    await bao.call("POST", f"auth/{mount}/role/{role}", body)
