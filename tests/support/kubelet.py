"""Run a rendered container as a local process, doing what kubelet would do
before it starts one: mount the pod's volumes (under a temporary directory),
resolve ``valueFrom`` (Secret keys, ConfigMap keys, the downward API), expand
``$(VAR)`` references, add the Services' link variables (unless the pod
turns them off), and resolve Service names to this machine.

    local = LocalContainer.prepare(container, pod, docs, tmp, secrets={"wa-sidecar-dev": {...}})
    subprocess.Popen(local.argv, env=local.env, cwd=local.cwd)

A projected service-account token volume gets the JWT passed as
``service_account_token`` (what kubelet would request from the API server).

Nothing is rewritten but what a cluster would supply: mount paths become
directories under ``tmp``, ``<service>`` host names become 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# $(VAR) is replaced when VAR is known; $$(VAR) is an escaped literal.
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
POD_NAME = "demo-7d9f8b6c5-x2x9q"


def expand(text: str, known: Mapping[str, str]) -> str:
    """Kubernetes' dependent-variable expansion (unknown references are kept)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return known.get(name, match.group(0))

    return _REFERENCE.sub(one, text)


@dataclass
class LocalContainer:
    """A rendered container turned into argv, env and working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    mounts: dict[str, Path]

    @classmethod
    def prepare(
        cls,
        container: Mapping[str, Any],
        pod: Mapping[str, Any],
        docs: Sequence[Mapping[str, Any]],
        tmp: Path,
        *,
        secrets: Mapping[str, Mapping[str, str]],
        namespace: str = "demo",
        service_account_token: str = "",
    ) -> LocalContainer:
        tmp.mkdir(parents=True, exist_ok=True)
        mounts = _mount_volumes(container, pod, docs, tmp, secrets, service_account_token)
        config_maps = {
            d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"
        }
        fields = {"metadata.name": POD_NAME, "metadata.namespace": namespace}
        services = [d["metadata"]["name"] for d in docs if d["kind"] == "Service"]
        env: dict[str, str] = {}
        if pod.get("enableServiceLinks", True):
            env.update(_service_links(docs))
        for entry in container.get("env", []):
            if "value" in entry:
                value = expand(str(entry["value"]), env)
            else:
                value = _value_from(entry["valueFrom"], secrets, config_maps, fields)
            env[entry["name"]] = _localise(value, mounts, services, namespace)
        argv = [
            _localise(expand(str(part), env), mounts, services, namespace)
            for part in [*container.get("command", []), *container.get("args", [])]
        ]
        # The image's PATH puts the sidecar's venv first; here it is this interpreter's.
        base = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(tmp),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if "/tmp" in mounts:
            base["TMPDIR"] = str(mounts["/tmp"])
        workdir = mounts.get("/var/lib/wa-sidecar", tmp)
        return cls(argv, {**base, **env}, workdir, mounts)


def _service_links(docs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The docker-link style variables Kubernetes adds for each Service of the
    namespace unless the pod sets enableServiceLinks: false."""
    links: dict[str, str] = {}
    for doc in docs:
        if doc["kind"] != "Service":
            continue
        prefix = doc["metadata"]["name"].upper().replace("-", "_")
        ports = doc["spec"]["ports"]
        links[f"{prefix}_SERVICE_HOST"] = "127.0.0.1"
        links[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        links[f"{prefix}_PORT"] = f"tcp://127.0.0.1:{ports[0]['port']}"
        for port in ports:
            proto = port.get("protocol", "TCP")
            if "name" in port:
                named = port["name"].upper().replace("-", "_")
                links[f"{prefix}_SERVICE_PORT_{named}"] = str(port["port"])
            base = f"{prefix}_PORT_{port['port']}_{proto}"
            links[base] = f"{proto.lower()}://127.0.0.1:{port['port']}"
            links[f"{base}_PROTO"] = proto.lower()
            links[f"{base}_PORT"] = str(port["port"])
            links[f"{base}_ADDR"] = "127.0.0.1"
    return links


def _mount_volumes(
    container: Mapping[str, Any],
    pod: Mapping[str, Any],
    docs: Sequence[Mapping[str, Any]],
    tmp: Path,
    secrets: Mapping[str, Mapping[str, str]],
    service_account_token: str,
) -> dict[str, Path]:
    """Each volumeMount as a directory under ``tmp``, filled as kubelet fills it."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        target = tmp / "volumes" / mount["name"]
        target.mkdir(parents=True, exist_ok=True)
        if "secret" in volume:
            data = secrets[volume["secret"]["secretName"]]
            _write_items(target, data, volume["secret"].get("items"))
        elif "configMap" in volume:
            data = config_maps[volume["configMap"]["name"]].get("data", {})
            _write_items(target, data, volume["configMap"].get("items"))
        elif "projected" in volume:
            _project_tokens(target, volume["projected"], service_account_token)
        elif "emptyDir" not in volume:
            raise AssertionError(f"volume type not emulated: {sorted(volume)}")
        mounts[mount["mountPath"]] = target
    return mounts


def _project_tokens(target: Path, projected: Mapping[str, Any], token: str) -> None:
    """A projected volume of service-account tokens: each source's path holds the JWT."""
    for source in projected["sources"]:
        if "serviceAccountToken" not in source:
            raise AssertionError(f"projected source not emulated: {sorted(source)}")
        if not token:
            raise AssertionError("the pod projects a service-account token: pass one")
        (target / source["serviceAccountToken"]["path"]).write_text(token)


def _write_items(target: Path, data: Mapping[str, str], items: Any) -> None:
    chosen = items or [{"key": key, "path": key} for key in data]
    for item in chosen:
        # A key the Secret lacks fails the pod's start, as in a cluster.
        (target / item["path"]).write_text(data[item["key"]])


def _value_from(
    source: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
    fields: Mapping[str, str],
) -> str:
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return secrets[ref["name"]][ref["key"]]
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return config_maps[ref["name"]][ref["key"]]
    if "fieldRef" in source:
        return fields[source["fieldRef"]["fieldPath"]]
    raise AssertionError(f"valueFrom not emulated: {sorted(source)}")


def _localise(value: str, mounts: Mapping[str, Path], services: Sequence[str], ns: str) -> str:
    """Mount paths → their local directories; Service host names → 127.0.0.1."""
    if mounts:
        # One pass, longest first: a local directory is never rewritten again.
        paths = "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
        value = re.sub(rf"(?<![\w.-])({paths})(?=/|$)", lambda m: str(mounts[m.group(1)]), value)
    for service in services:
        for host in (f"{service}.{ns}.svc.cluster.local", f"{service}.{ns}.svc", service):
            # A host name: before a port, or between // and a path.
            name = re.escape(host)
            pattern = rf"(?<![\w.-]){name}(?=:\d)|(?<=//){name}(?=/|$)"
            value = re.sub(pattern, "127.0.0.1", value)
    return value
