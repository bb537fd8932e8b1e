"""Vault's Kubernetes auth against a real OpenBao: the sidecar logs in with its
service-account JWT and role, reads its secrets, and logs in again when the
token it got is revoked. The one stand-in is the Kubernetes API's TokenReview
endpoint that OpenBao asks whether the JWT is genuine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.openbao import OpenBao
from support.tokenreview import TokenReview, kubernetes_auth, service_account_jwt

from sidecar.config import Secret
from sidecar.crypto.keys import Keyring
from sidecar.errors import SecretSourceUnavailable
from sidecar.secrets.vault import KubernetesAuth, TokenAuth, VaultSource

pytestmark = pytest.mark.integration

NAMESPACE, ACCOUNT = "payments", "wa-sidecar"


@pytest.fixture
async def token_review() -> AsyncIterator[TokenReview]:
    async with TokenReview() as review:
        yield review


async def test_kubernetes_auth_logs_in_with_the_service_account_jwt(
    tmp_path: Path, token_review: TokenReview
) -> None:
    genuine = token_review.genuine
    jwt = service_account_jwt(NAMESPACE, ACCOUNT)
    jwt_file = tmp_path / "token"
    jwt_file.write_text(jwt)
    key = Keyring.generate()
    async with OpenBao.started(tmp_path) as bao:
        await kubernetes_auth(
            bao,
            token_review.url,
            role="wa-sidecar",
            namespace=NAMESPACE,
            account=ACCOUNT,
            paths=["secret/data/wa-sidecar/*"],
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
