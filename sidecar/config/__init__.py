"""Typed, frozen settings: defaults, then an optional YAML file, then environment.

Every field has an environment variable ``WA_SIDECAR_<NAME>`` (the SPEC §10
names among them) and a YAML key ``<name>``. Secrets are read from the
variable or from a file named by ``WA_SIDECAR_<NAME>_FILE`` (a Kubernetes
Secret volume) — never from the YAML file in plain text.

    settings = load_settings(config_file="sidecar.yaml", environ=os.environ)
    settings.send_rate   # 80.0

``load_settings`` validates everything and raises ``ConfigError`` naming the
setting; ``wa-sidecar check-config`` runs exactly the same code offline.

    fields.py       Settings: a field per setting with its default, why and rules
    rules.py        the rules one setting's value must follow
    loading.py      YAML + environment + *_FILE secrets; unknown names refused
    validation.py   each field's rules, the rules joining fields, the prod guards
"""

from __future__ import annotations

from sidecar.config.fields import (
    DEFAULT_GRAPH_URL,
    ENV_PREFIX,
    FIELDS,
    Settings,
    env_name,
    reference_table,
)
from sidecar.config.loading import load_settings
from sidecar.config.rules import is_loopback
from sidecar.config.secret import Secret
from sidecar.config.validation import validate
from sidecar.errors import ConfigError

__all__ = [
    "DEFAULT_GRAPH_URL",
    "ENV_PREFIX",
    "FIELDS",
    "ConfigError",
    "Secret",
    "Settings",
    "env_name",
    "is_loopback",
    "load_settings",
    "reference_table",
    "validate",
]
