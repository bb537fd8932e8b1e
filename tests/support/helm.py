"""The wa-sidecar chart rendered by a real ``helm``: the scenarios the tests and
``make helm-golden`` share, and the committed renderings they are diffed against.

    scenario = scenario_named("prod")
    docs = manifests(render(helm_binary(), scenario))   # list of dicts

Scenarios: each environment file, each ``ci/*-values.yaml`` and the example
app chart ``helm/examples/shop-api`` that carries the sidecar as a dependency.

Usage: python tests/support/helm.py --write   (rewrites helm/rendered/*.yaml)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "wa-sidecar"
APP_CHART = ROOT / "helm" / "examples" / "shop-api"
RENDERED = ROOT / "helm" / "rendered"
RELEASE = "demo"
NAMESPACE = "demo"
# The oldest Kubernetes with native sidecars on by default, and the newest
# kubernetes-validate knows; the plain-container scenario also the chart's floor.
KUBE_VERSIONS = ("1.29.0", "1.37.0")
PLAIN_KUBE_VERSION = "1.27.0"


@dataclass(frozen=True)
class Scenario:
    """One rendering: a chart and the values files given to it, in order."""

    name: str
    chart: Path
    values: tuple[str, ...] = ()

    @property
    def golden(self) -> Path:
        return RENDERED / f"{self.name}.yaml"


def scenarios() -> list[Scenario]:
    envs = [Scenario(env, CHART, (f"values-{env}.yaml",)) for env in ("dev", "staging", "prod")]
    ci = [
        Scenario(path.name.removesuffix("-values.yaml"), CHART, (f"ci/{path.name}",))
        for path in sorted((CHART / "ci").glob("*-values.yaml"))
    ]
    return [*envs, *ci, Scenario("shop-api", APP_CHART)]


def scenario_named(name: str) -> Scenario:
    (found,) = [s for s in scenarios() if s.name == name]
    return found


def helm_binary() -> str | None:
    """The helm ``make tools`` caches (tools/ensure_helm.sh), else one on PATH."""
    cached = ROOT / ".tools" / "bin" / "helm"
    if cached.exists() and os.access(cached, os.X_OK):
        return str(cached)
    return shutil.which("helm")


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    # A private HOME-like state: no user repositories or plugins leak in.
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "HELM_CACHE_HOME": f"{state}/cache",
            "HELM_CONFIG_HOME": f"{state}/config",
            "HELM_DATA_HOME": f"{state}/data",
        }
        return subprocess.run(
            [helm, *args], capture_output=True, text=True, timeout=60, check=False, env=env
        )


def chart_dir(scenario: Scenario, work: Path) -> Path:
    """The chart to render; the app chart gets the sidecar chart as its
    unpacked dependency (what `helm dependency build` would put there)."""
    if scenario.chart != APP_CHART:
        return scenario.chart
    app = work / APP_CHART.name
    shutil.copytree(APP_CHART, app, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    shutil.copytree(CHART, app / "charts" / CHART.name)
    return app


def render(helm: str, scenario: Scenario, *overrides: str, strings: Sequence[str] = ()) -> str:
    """``helm template`` of the scenario; ``overrides`` are extra ``--set``
    items, ``strings`` extra ``--set-string`` items."""
    with tempfile.TemporaryDirectory() as work:
        chart = chart_dir(scenario, Path(work))
        args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE]
        args += ["--kube-version", KUBE_VERSIONS[0]]
        for values in scenario.values:
            args += ["--values", str(scenario.chart / values)]
        for item in overrides:
            args += ["--set", item]
        for item in strings:
            args += ["--set-string", item]
        done = run_helm(helm, *args)
    if done.returncode != 0:
        raise RenderError(done.stderr.strip())
    # Where the chart was copied to is no part of the rendering.
    return done.stdout


class RenderError(Exception):
    """helm refused to render (its message)."""


def manifests(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(docs: Sequence[dict[str, Any]], kind: str, name: str = "") -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (not name or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_templates(docs: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every pod spec rendered: Deployments' templates and bare Pods."""
    for doc in docs:
        if doc["kind"] == "Deployment":
            yield doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            yield doc["spec"]


def sidecar_container(pod: dict[str, Any]) -> dict[str, Any]:
    """The wa-sidecar container of a pod spec, native or plain."""
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        if container["name"] == "wa-sidecar":
            return container
    raise AssertionError("no wa-sidecar container in the pod")


def write_golden(helm: str) -> list[Path]:
    RENDERED.mkdir(exist_ok=True)
    written = []
    for scenario in scenarios():
        scenario.golden.write_text(render(helm, scenario))
        written.append(scenario.golden)
    for stale in set(RENDERED.glob("*.yaml")) - set(written):
        stale.unlink()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite helm/rendered/*.yaml")
    args = parser.parse_args()
    helm = helm_binary()
    if helm is None:
        sys.stderr.write("helm not found: run `make tools` (tools/ensure_helm.sh)\n")
        return 1
    if args.write:
        for path in write_golden(helm):
            sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")
    return 0


def require_helm() -> str:
    """The helm binary; a skip on a machine without it, a failure under CI."""
    import pytest

    helm = helm_binary()
    if helm is None:
        if os.environ.get("CI") == "true":
            pytest.fail("helm missing on CI: `make test` runs tools/ensure_helm.sh")
        pytest.skip("helm not installed (make tools: tools/ensure_helm.sh)")
    return helm


if __name__ == "__main__":
    sys.exit(main())
