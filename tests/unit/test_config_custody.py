"""Settings of secret custody and transport: checked offline, naming the variable."""

from __future__ import annotations

import pytest
from support.certs import CertificateAuthority

from sidecar.config import load_settings
from sidecar.errors import ConfigError

pytestmark = pytest.mark.unit

PROD = {
    "WA_SIDECAR_ENV": "prod",
    "WA_SIDECAR_ACCESS_TOKEN": "t",
    "WA_SIDECAR_APP_SECRET": "s",
    "WA_SIDECAR_VERIFY_TOKEN": "v",
    "WA_SIDECAR_ENCRYPTION_KEY": "k",
}
VAULT = {
    "WA_SIDECAR_VAULT_ADDR": "http://127.0.0.1:8200",
    "WA_SIDECAR_VAULT_PATH": "secret/wa-sidecar",
    "WA_SIDECAR_VAULT_TOKEN": "vault-token",
}


def refused(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    return err.value


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("certs")
    ca = CertificateAuthority("config CA")
    server, other = ca.issue("localhost", root / "server"), ca.issue("localhost", root / "other")
    (root / "junk.pem").write_text("not a certificate\n")
    return {
        "cert": str(server.cert),
        "key": str(server.key),
        "other_key": str(other.key),
        "ca": str(ca.write(root / "ca.crt")),
        "junk": str(root / "junk.pem"),
    }


def test_a_unix_socket_address_is_accepted_and_must_be_absolute() -> None:
    assert load_settings(environ={"WA_SIDECAR_GRPC_ADDR": "unix:///run/wa/api.sock"}).grpc_addr
    assert refused({"WA_SIDECAR_GRPC_ADDR": "unix://run/api.sock"}).setting == (
        "WA_SIDECAR_GRPC_ADDR"
    )


def test_a_tls_pair_must_be_complete_parse_and_match(certs: dict[str, str]) -> None:
    ok = {"WA_SIDECAR_TLS_CERT_FILE": certs["cert"], "WA_SIDECAR_TLS_KEY_FILE": certs["key"]}
    assert load_settings(environ=ok).tls_cert_file == certs["cert"]
    assert refused({"WA_SIDECAR_TLS_CERT_FILE": certs["cert"]}).setting == (
        "WA_SIDECAR_TLS_KEY_FILE"
    )
    mismatch = refused({**ok, "WA_SIDECAR_TLS_KEY_FILE": certs["other_key"]})
    assert mismatch.setting == "WA_SIDECAR_TLS_KEY_FILE" and "does not match" in mismatch.problem
    junk = refused({**ok, "WA_SIDECAR_TLS_CERT_FILE": certs["junk"]})
    assert junk.setting == "WA_SIDECAR_TLS_CERT_FILE"
    not_a_key = refused({**ok, "WA_SIDECAR_TLS_KEY_FILE": certs["cert"]})
    assert not_a_key.setting == "WA_SIDECAR_TLS_KEY_FILE"
    assert refused({"WA_SIDECAR_INGRESS_TLS_KEY_FILE": certs["key"]}).setting == (
        "WA_SIDECAR_INGRESS_TLS_CERT_FILE"
    )


def test_mtls_needs_tls_and_a_readable_ca(certs: dict[str, str]) -> None:
    assert refused({"WA_SIDECAR_TLS_CLIENT_CA_FILE": certs["ca"]}).setting == (
        "WA_SIDECAR_TLS_CLIENT_CA_FILE"
    )
    pair = {"WA_SIDECAR_TLS_CERT_FILE": certs["cert"], "WA_SIDECAR_TLS_KEY_FILE": certs["key"]}
    assert load_settings(environ={**pair, "WA_SIDECAR_TLS_CLIENT_CA_FILE": certs["ca"]})
    junk = refused({**pair, "WA_SIDECAR_TLS_CLIENT_CA_FILE": certs["junk"]})
    assert junk.setting == "WA_SIDECAR_TLS_CLIENT_CA_FILE"
    missing = refused({**pair, "WA_SIDECAR_TLS_CLIENT_CA_FILE": "/nonexistent/ca.crt"})
    assert missing.setting == "WA_SIDECAR_TLS_CLIENT_CA_FILE"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WA_SIDECAR_VAULT_PATH": "secret/x"}, "WA_SIDECAR_VAULT_PATH"),
        ({"WA_SIDECAR_VAULT_ROLE": "wa"}, "WA_SIDECAR_VAULT_ROLE"),
        ({"WA_SIDECAR_VAULT_TOKEN": "t"}, "WA_SIDECAR_VAULT_TOKEN"),
        ({**VAULT, "WA_SIDECAR_VAULT_PATH": ""}, "WA_SIDECAR_VAULT_PATH"),
        ({**VAULT, "WA_SIDECAR_VAULT_PATH": "secret"}, "WA_SIDECAR_VAULT_PATH"),
        ({**VAULT, "WA_SIDECAR_VAULT_ROLE": "wa"}, "WA_SIDECAR_VAULT_TOKEN"),
        ({**VAULT, "WA_SIDECAR_VAULT_TOKEN": ""}, "WA_SIDECAR_VAULT_TOKEN"),
        ({**VAULT, "WA_SIDECAR_VAULT_ADDR": "vault:8200"}, "WA_SIDECAR_VAULT_ADDR"),
        ({**VAULT, "WA_SIDECAR_SECRET_RELOAD_INTERVAL": "0"}, "WA_SIDECAR_SECRET_RELOAD_INTERVAL"),
        ({**VAULT, "WA_SIDECAR_APP_SECRET_OVERLAP": "-1"}, "WA_SIDECAR_APP_SECRET_OVERLAP"),
        ({**VAULT, "WA_SIDECAR_VAULT_CA_FILE": "/nonexistent"}, "WA_SIDECAR_VAULT_CA_FILE"),
    ],
)
def test_vault_settings_are_checked_offline(env: dict[str, str], named: str) -> None:
    assert refused(env).setting == named


def test_kubernetes_auth_needs_no_token() -> None:
    env = {**VAULT, "WA_SIDECAR_VAULT_TOKEN": "", "WA_SIDECAR_VAULT_ROLE": "wa-sidecar"}
    settings = load_settings(environ=env)
    assert settings.vault_role == "wa-sidecar"
    assert settings.vault_jwt_file.endswith("serviceaccount/token")


def test_prod_with_vault_reads_the_secrets_at_start_not_from_the_settings() -> None:
    env = {"WA_SIDECAR_ENV": "prod", **VAULT}
    assert load_settings(environ=env).vault_addr  # no secret in the environment needed
    plain = refused({**env, "WA_SIDECAR_VAULT_ADDR": "http://vault.internal:8200"})
    assert plain.setting == "WA_SIDECAR_VAULT_ADDR" and "https" in plain.problem
    assert load_settings(environ={**env, "WA_SIDECAR_VAULT_ADDR": "https://vault.internal:8200"})


def test_prod_takes_a_public_grpc_address_only_with_tls_or_caller_auth(
    certs: dict[str, str],
) -> None:
    public = {**PROD, "WA_SIDECAR_GRPC_ADDR": "0.0.0.0:50051"}
    assert refused(public).setting == "WA_SIDECAR_GRPC_ADDR"
    tls = {"WA_SIDECAR_TLS_CERT_FILE": certs["cert"], "WA_SIDECAR_TLS_KEY_FILE": certs["key"]}
    assert load_settings(environ={**public, **tls}).env == "prod"
    unix = {**PROD, "WA_SIDECAR_GRPC_ADDR": "unix:///run/wa/api.sock"}
    assert load_settings(environ=unix).env == "prod"
