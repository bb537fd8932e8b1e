"""Where settings come from: defaults, then an optional YAML file, then environment.

Values are converted to each field's type here; ``*_FILE`` variables (and
``<name>_file`` YAML keys) name files holding secrets; a ``WA_SIDECAR_*``
variable or YAML key no setting reads is refused with the closest name.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sidecar.config.fields import ENV_PREFIX, FIELDS, Settings, env_name
from sidecar.config.secret import Secret
from sidecar.config.validation import validate
from sidecar.errors import ConfigError

_HINTS = typing.get_type_hints(Settings)


def load_settings(
    config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults ← YAML file ← environment; validated. Raises ConfigError."""
    env = os.environ if environ is None else environ
    _refuse_unknown_env(env)
    values: dict[str, Any] = _from_yaml(config_file) if config_file else {}
    for name, spec in FIELDS.items():
        var = env_name(name)
        if spec.metadata["secret"] and env.get(var + "_FILE") and not env.get(var):
            # A secret file wins over an empty variable (a template that
            # always sets both, one of them blank).
            values[name] = _read_secret_file(name, env[var + "_FILE"])
        elif var in env:
            values[name] = _convert(name, env[var])
    settings = Settings(**values, given=frozenset(values))
    validate(settings)
    return settings


def _convert(name: str, raw: Any) -> Any:
    """Turn a YAML or environment value into the field's type, or raise ConfigError."""
    hint = _HINTS[name]
    setting = env_name(name)
    try:
        if hint is Secret:
            return Secret(str(raw).strip())
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("expected true or false")
        if hint is int:
            if isinstance(raw, bool):
                raise ValueError("expected an integer")
            return int(str(raw).strip())
        if hint is float:
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            return float(str(raw).strip())
        if typing.get_origin(hint) is tuple:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        if isinstance(raw, dict | list):
            raise ValueError("expected a string")
        return str(raw).strip()
    except ValueError as exc:
        raise ConfigError(setting, f"invalid value ({exc})") from None


def _read_secret_file(name: str, path: str) -> Secret:
    setting = env_name(name) + "_FILE"
    try:
        return Secret(Path(path).read_text().strip(), file=path)
    except OSError as exc:
        raise ConfigError(setting, f"cannot read secret file: {exc.strerror}") from None


def _from_yaml(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError("--config", f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{path} must hold a mapping of settings")
    values: dict[str, Any] = {}
    for raw_key, raw in data.items():
        key = str(raw_key)
        if key.endswith("_file") and key[:-5] in FIELDS and FIELDS[key[:-5]].metadata["secret"]:
            values[key[:-5]] = _read_secret_file(key[:-5], str(raw))
            continue
        if key not in FIELDS:
            raise ConfigError(key, f"unknown setting in {path}" + _suggest(key, _YAML_KEYS))
        if FIELDS[key].metadata["secret"]:
            raise ConfigError(
                env_name(key),
                f"secrets may not be written in the config file; use {env_name(key)}_FILE "
                f"or {key}_file",
            )
        values[key] = _convert(key, raw)
    return values


# Every name the loader reads, derived from the field declarations, so a
# setting added there is known here without a second list.
_ENV_NAMES = frozenset(
    [env_name(name) for name in FIELDS]
    + [env_name(name) + "_FILE" for name, spec in FIELDS.items() if spec.metadata["secret"]]
)
_YAML_KEYS = frozenset(
    [*FIELDS, *(name + "_file" for name, spec in FIELDS.items() if spec.metadata["secret"])]
)


def _suggest(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _refuse_unknown_env(env: Mapping[str, str]) -> None:
    """A ``WA_SIDECAR_*`` variable no setting reads is a typo (a Helm value
    that would otherwise be ignored in silence): refuse it, with the closest name.

    Kubernetes' own service links are not ours: a Service named ``wa-sidecar…``
    gives every container ``WA_SIDECAR…_SERVICE_HOST`` and its ``_PORT…``
    siblings. Those are skipped, but only for a prefix whose ``_SERVICE_HOST``
    is present, so a mistyped ``WA_SIDECAR_HEALTH_PORT`` is still refused."""
    services = {
        var.removesuffix(_SERVICE_HOST)
        for var in env
        if var.startswith(ENV_PREFIX) and var.endswith(_SERVICE_HOST)
    }
    for var in sorted(env):
        if var.startswith(ENV_PREFIX) and var not in _ENV_NAMES:
            if _service_link(var, services):
                continue
            raise ConfigError(var, "unknown setting" + _suggest(var, _ENV_NAMES))


_SERVICE_HOST = "_SERVICE_HOST"
_LINK_TAIL = re.compile(
    r"SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?"
)


def _service_link(var: str, services: set[str]) -> bool:
    """``var`` is one of the variables Kubernetes writes for a Service in ``services``."""
    return any(
        var.startswith(service + "_") and _LINK_TAIL.fullmatch(var[len(service) + 1 :])
        for service in services
    )
