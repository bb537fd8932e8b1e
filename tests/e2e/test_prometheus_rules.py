"""The shipped Prometheus rules and Grafana dashboard: promtool's unit tests
pass, every alert is tested firing and not firing, and every metric they name
is one the sidecar exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.telemetry.metrics import Metrics

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "rules_test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "wa-policy-sidecar.json"
_METRIC = re.compile(r"\b(?:namespace[a-z_]*:)?wa_sidecar[a-z0-9_:]*")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing on CI: `make test` runs tools/ensure_promtool.sh")
        pytest.skip("promtool not installed (tools/ensure_promtool.sh installs it)")
    return found


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_promtool_checks_and_unit_tests_pass() -> None:
    promtool = _promtool()
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULES_TEST)]):
        done = subprocess.run(
            [promtool, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert {
        "WaSidecarWebhookSignatureFailures",
        "WaSidecarSendFailureRate",
        "WaSidecarWebhookSlow",
        "WaSidecarDeadLetters",
        "WaSidecarQuotaStoreDown",
        "WaSidecarTemplateRejectedOrPaused",
        "WaSidecarQualityDropped",
        "WaSidecarMessagingLimitLowered",
    } <= alerts
    cases = [
        case
        for test in yaml.safe_load(RULES_TEST.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    firing = {c["alertname"] for c in cases if c.get("exp_alerts")}
    silent = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - silent == set(), "alerts never tested staying silent"


def _exported_names() -> set[str]:
    metrics = Metrics()
    metrics.watch_send_rates(dict)
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gauge": ("",),
    }
    return {
        family.name + suffix
        for family in metrics.registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


def test_rules_and_dashboard_name_only_exported_metrics() -> None:
    exported = _exported_names()
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    rule_text = "\n".join(rule["expr"] for rule in _rules())
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 15
    named = set(_METRIC.findall(rule_text + "\n" + "\n".join(exprs)))
    unknown = named - exported - recorded
    assert not unknown, f"not exported by the sidecar: {sorted(unknown)}"
    assert {"wa_sidecar_rpc_server_call_duration_seconds_bucket", "wa_sidecar_store_up"} <= named
