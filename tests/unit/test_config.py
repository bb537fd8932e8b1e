"""Settings: names, sources, validation and production guards (SPEC §10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.config import FIELDS, Secret, Settings, env_name, load_settings, reference_table
from sidecar.errors import ConfigError

pytestmark = pytest.mark.unit

PROD_OK = {
    "WA_SIDECAR_ENV": "prod",
    "WA_SIDECAR_ACCESS_TOKEN": "t",
    "WA_SIDECAR_APP_SECRET": "s",
    "WA_SIDECAR_VERIFY_TOKEN": "v",
    "WA_SIDECAR_ENCRYPTION_KEY": "k",
}


def test_defaults_match_the_operator_contract() -> None:
    s = load_settings(environ={})
    assert s.grpc_addr == "127.0.0.1:50051"
    assert s.admin_addr == "127.0.0.1:9464"
    assert s.health_addr == ""
    assert s.env == "dev"
    assert s.state_url == "sqlite:///./wa-sidecar.db"
    assert s.quota_url == "memory://"
    assert s.send_rate == 80.0
    assert s.effective_send_burst == 80.0
    assert s.log_level == "INFO"


@pytest.mark.parametrize(
    "name",
    [
        "WA_SIDECAR_GRPC_ADDR",
        "WA_SIDECAR_ADMIN_ADDR",
        "WA_SIDECAR_HEALTH_ADDR",
        "WA_SIDECAR_AUTH_FILE",
        "WA_SIDECAR_ENV",
        "WA_SIDECAR_GRAPH_BASE_URL",
        "WA_SIDECAR_GRAPH_API_VERSION",
        "WA_SIDECAR_PHONE_NUMBER_ID",
        "WA_SIDECAR_ACCESS_TOKEN",
        "WA_SIDECAR_APP_SECRET",
        "WA_SIDECAR_VERIFY_TOKEN",
        "WA_SIDECAR_STATE_URL",
        "WA_SIDECAR_QUOTA_URL",
        "WA_SIDECAR_SEND_RATE",
        "WA_SIDECAR_SEND_BURST",
        "WA_SIDECAR_ENCRYPTION_KEY",
        "WA_SIDECAR_LOG_LEVEL",
    ],
)
def test_every_contract_variable_exists(name: str) -> None:
    assert name in {env_name(f) for f in Settings.__dataclass_fields__}
    assert f"`{name}" in reference_table()


def test_environment_wins_over_the_yaml_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("send_rate: 10\nphone_number_id: '111'\n")
    s = load_settings(str(cfg), {"WA_SIDECAR_SEND_RATE": "20"})
    assert s.send_rate == 20.0
    assert s.phone_number_id == "111"


def test_negative_send_rate_names_the_setting() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_SEND_RATE": "-1"})
    assert err.value.setting == "WA_SIDECAR_SEND_RATE"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("WA_SIDECAR_SEND_RATE", "fast"),
        ("WA_SIDECAR_GRPC_ADDR", "nowhere"),
        ("WA_SIDECAR_ADMIN_ADDR", "127.0.0.1:99999"),
        ("WA_SIDECAR_ENV", "production"),
        ("WA_SIDECAR_STATE_URL", "mysql://x"),
        ("WA_SIDECAR_QUOTA_URL", "memcached://x"),
        ("WA_SIDECAR_LOG_LEVEL", "LOUD"),
        ("WA_SIDECAR_WEBHOOK_ALLOW_CIDRS", "10.0.0.0/8,not-a-cidr"),
        ("WA_SIDECAR_WEBHOOK_RATE_LIMIT", "lots"),
        ("WA_SIDECAR_UVLOOP", "maybe"),
        ("WA_SIDECAR_AUTH_FILE", "/does/not/exist.yaml"),
        ("WA_SIDECAR_RETENTION_DAYS", "3"),  # shorter than the 7-day dedup TTL
    ],
)
def test_bad_values_fail_naming_the_setting(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={var: value})
    assert err.value.setting == var


def test_secret_from_file_and_never_in_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("EAAsupersecret\n")
    s = load_settings(environ={"WA_SIDECAR_ACCESS_TOKEN_FILE": str(secret_file)})
    assert s.access_token.reveal() == "EAAsupersecret"
    assert "EAAsupersecret" not in repr(s)
    assert "EAAsupersecret" not in str(s.access_token)


def test_unreadable_secret_file_names_the_file_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_APP_SECRET_FILE": str(tmp_path / "missing")})
    assert err.value.setting == "WA_SIDECAR_APP_SECRET_FILE"


def test_secrets_in_the_yaml_file_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("access_token: EAAplain\n")
    with pytest.raises(ConfigError) as err:
        load_settings(str(cfg), {})
    assert err.value.setting == "WA_SIDECAR_ACCESS_TOKEN"
    assert "EAAplain" not in str(err.value)


def test_secret_file_paths_are_allowed_in_yaml(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("abc")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"app_secret_file: {tmp_path / 'secret'}\n")
    assert load_settings(str(cfg), {}).app_secrets == (b"abc",)


def test_unknown_yaml_key_is_an_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("send_rat: 10\n")
    with pytest.raises(ConfigError) as err:
        load_settings(str(cfg), {})
    assert err.value.setting == "send_rat"
    assert "did you mean send_rate?" in str(err.value)


@pytest.mark.parametrize(
    ("var", "suggestion"),
    [
        ("WA_SIDECAR_SEND_RATES", "WA_SIDECAR_SEND_RATE"),
        ("WA_SIDECAR_QUOTA_URI", "WA_SIDECAR_QUOTA_URL"),
        ("WA_SIDECAR_APP_SECRET_FLE", "WA_SIDECAR_APP_SECRET_FILE"),
        # ``_FILE`` exists for secrets only: a plain setting is not read from a file.
        ("WA_SIDECAR_SEND_RATE_FILE", "WA_SIDECAR_SEND_RATE"),
    ],
)
def test_unknown_environment_variable_is_refused_with_the_closest_name(
    var: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_SEND_RATE": "10", var: "1"})
    assert err.value.setting == var
    assert err.value.problem == f"unknown setting; did you mean {suggestion}?"


def test_every_declared_setting_and_secret_file_is_a_known_variable(tmp_path: Path) -> None:
    """The known names come from the field declarations: all of them at once load."""
    secret = tmp_path / "secret"
    secret.write_text("x")
    env: dict[str, str] = {}
    for name, spec in FIELDS.items():
        if spec.metadata["secret"]:
            env[env_name(name) + "_FILE"] = str(secret)
        elif isinstance(spec.default, tuple):
            env[env_name(name)] = ",".join(spec.default)
        else:
            env[env_name(name)] = str(spec.default)
    # A Vault token file needs a Vault to present it to.
    env.update(WA_SIDECAR_VAULT_ADDR="http://127.0.0.1:8200", WA_SIDECAR_VAULT_PATH="secret/wa")
    assert load_settings(environ=env).access_token == Secret("x")


def test_kubernetes_service_links_for_a_service_named_wa_sidecar_are_not_settings() -> None:
    links = {
        "WA_SIDECAR_SERVICE_HOST": "10.0.0.7",
        "WA_SIDECAR_SERVICE_PORT": "9464",
        "WA_SIDECAR_SERVICE_PORT_METRICS": "9464",
        "WA_SIDECAR_PORT": "tcp://10.0.0.7:9464",
        "WA_SIDECAR_PORT_9464_TCP": "tcp://10.0.0.7:9464",
        "WA_SIDECAR_PORT_9464_TCP_PROTO": "tcp",
        "WA_SIDECAR_PORT_9464_TCP_PORT": "9464",
        "WA_SIDECAR_PORT_9464_TCP_ADDR": "10.0.0.7",
        "WA_SIDECAR_METRICS_SERVICE_HOST": "10.0.0.8",
        "WA_SIDECAR_METRICS_PORT_80_TCP": "tcp://10.0.0.8:80",
    }
    assert load_settings(environ={**links, "WA_SIDECAR_SEND_RATE": "7"}).send_rate == 7.0


@pytest.mark.parametrize(
    "var",
    [
        "WA_SIDECAR_HEALTH_PORT",  # no WA_SIDECAR_HEALTH_SERVICE_HOST beside it: a typo
        "WA_SIDECAR_PORT_GRPC",  # not a shape Kubernetes writes
    ],
)
def test_link_shaped_names_without_their_service_are_still_refused(var: str) -> None:
    env = {var: "1"}
    if var == "WA_SIDECAR_PORT_GRPC":
        env["WA_SIDECAR_SERVICE_HOST"] = "10.0.0.7"
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert err.value.setting == var


def test_other_prefixes_and_a_far_typo_are_handled() -> None:
    assert load_settings(environ={"WA_SIDECARX": "1", "OTHER_SEND_RATE": "1"}).send_rate == 80.0
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_ZZZZZZZZZZZZZZZZZZZ": "1"})
    assert err.value.problem == "unknown setting"


def test_fractional_send_rate_gets_a_burst_of_one_message() -> None:
    s = load_settings(environ={"WA_SIDECAR_SEND_RATE": "0.5"})
    assert s.send_rate == 0.5
    assert s.effective_send_burst == 1.0
    assert load_settings(environ={"WA_SIDECAR_SEND_RATE": "5"}).effective_send_burst == 5.0


def test_burst_below_one_message_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_SEND_BURST": "0.5"})
    assert err.value.setting == "WA_SIDECAR_SEND_BURST"
    assert load_settings(environ={"WA_SIDECAR_SEND_BURST": "1"}).effective_send_burst == 1.0


def test_app_secret_rotation_list() -> None:
    s = load_settings(environ={"WA_SIDECAR_APP_SECRET": "new, old"})
    assert s.app_secrets == (b"new", b"old")
    assert isinstance(s.app_secret, Secret)


@pytest.mark.parametrize(
    "missing",
    [
        "WA_SIDECAR_ACCESS_TOKEN",
        "WA_SIDECAR_APP_SECRET",
        "WA_SIDECAR_VERIFY_TOKEN",
        "WA_SIDECAR_ENCRYPTION_KEY",
    ],
)
def test_prod_refuses_missing_secrets(missing: str) -> None:
    env = {k: v for k, v in PROD_OK.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert err.value.setting == missing


def test_prod_refuses_a_public_grpc_address_without_auth() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={**PROD_OK, "WA_SIDECAR_GRPC_ADDR": "0.0.0.0:50051"})
    assert err.value.setting == "WA_SIDECAR_GRPC_ADDR"


def test_prod_accepts_a_complete_configuration() -> None:
    assert load_settings(environ=PROD_OK).env == "prod"


def test_quota_fail_mode_defaults_closed_in_prod_open_in_dev() -> None:
    assert load_settings(environ=PROD_OK).effective_quota_fail_mode == "closed"
    assert load_settings(environ={}).effective_quota_fail_mode == "open"


def test_the_owner_heartbeat_must_beat_within_the_lease() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_OWNER_LEASE_TTL": "3"})  # heartbeat 10 s
    assert err.value.setting == "WA_SIDECAR_OWNER_HEARTBEAT_INTERVAL"
    s = load_settings(
        environ={"WA_SIDECAR_OWNER_LEASE_TTL": "3", "WA_SIDECAR_OWNER_HEARTBEAT_INTERVAL": "1"}
    )
    assert (s.owner_lease_ttl, s.owner_heartbeat_interval) == (3.0, 1.0)


def test_a_setting_is_pinned_only_when_the_operator_gave_it(tmp_path: Path) -> None:
    default = load_settings(environ={})
    assert not default.pinned("send_rate") and not default.pinned("messaging_limit")
    # Given at its default value still pins it: the account no longer moves it.
    assert load_settings(environ={"WA_SIDECAR_SEND_RATE": "80"}).pinned("send_rate")
    cfg = tmp_path / "sidecar.yaml"
    cfg.write_text("messaging_limit: 0\n")
    from_file = load_settings(str(cfg), {})
    assert from_file.pinned("messaging_limit") and not from_file.pinned("send_rate")


def test_the_record_of_given_settings_is_no_setting_itself() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"WA_SIDECAR_GIVEN": "send_rate"})
    assert err.value.setting == "WA_SIDECAR_GIVEN"
