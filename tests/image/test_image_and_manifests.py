"""The Dockerfile and the manifests under k8s/ agree about the image: every container of the
suite's image runs as the image's numeric user, the var dir (the only place the code writes to)
lies on a writable volume wherever the root filesystem is read-only, a command (if any) runs the
image's `samhandling`, and the dev overlay's image is a target the Dockerfile builds with seeds.
So a change to one that the other does not follow fails here, not in a cluster."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from tests.k8s.rendered import OVERLAYS, environment, pod_spec, render, suite_containers

REPO_DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def stages() -> dict[str, list[tuple[str, str]]]:
    """The Dockerfile's stages by name (`AS name`; the last one also as ""), each a list of
    (INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", REPO_DOCKERFILE.read_text())
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            current = [("FROM", arguments.strip())]
            name = re.search(r"\bAS\s+(\S+)", arguments, re.IGNORECASE)
            found[name.group(1) if name else f"#{len(found)}"] = current
            found[""] = current
        else:
            current.append((instruction.upper(), arguments.strip()))
    return found


def image_settings(target: str) -> tuple[str, dict[str, str]]:
    """The USER and ENV of a target, following `FROM <stage>` to the stages it builds on."""
    all_stages = stages()
    chain = []
    stage = all_stages[target]
    while True:
        chain.insert(0, stage)
        base = stage[0][1].split()[0]
        if base not in all_stages:
            break
        stage = all_stages[base]
    user, env = "", {}
    for instructions in chain:
        for instruction, arguments in instructions:
            if instruction == "USER":
                user = arguments
            elif instruction == "ENV":
                env |= dict(re.findall(r"(\w+)=(\S+)", arguments))
    return user, env


def test_the_production_image_is_the_default_target_and_the_dev_target_carries_the_seeds() -> None:
    user, env = image_settings("")
    assert user == "10001:10001" and env["SAMHANDLING_ENV"] == "production"
    assert stages()[""][0][1].split()[0] == "runtime"  # the default target adds nothing to the runtime stage
    _, dev = image_settings("dev")
    assert dev["SAMHANDLING_ENV"] == "dev" and dev["SAMHANDLING_SEEDS_DIR"] == "/opt/samhandling/seeds"
    assert ("COPY", "seeds /opt/samhandling/seeds") in stages()["dev"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_suite_container_runs_as_the_image_user_and_writes_only_to_a_volume(overlay: str) -> None:
    docs = render(overlay)
    user, image_env = image_settings("")
    uid, gid = (int(n) for n in user.split(":"))
    checked = 0
    for workload, container in suite_containers(docs):
        where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']} {container['name']}"
        context = pod_spec(workload).get("securityContext", {}) | container.get("securityContext", {})
        assert (context.get("runAsUser"), context.get("runAsGroup")) == (uid, gid), where
        command = container.get("command")
        assert command is None or command[0] in ("samhandling", "/opt/samhandling/bin/samhandling"), where
        env = image_env | environment(docs, container)
        if context.get("readOnlyRootFilesystem"):
            volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
            writable = [
                PurePosixPath(m["mountPath"])
                for m in container.get("volumeMounts", [])
                if "emptyDir" in volumes[m["name"]] and not m.get("readOnly")
            ]
            var_dir = PurePosixPath(env["SAMHANDLING_VAR_DIR"])
            assert any(var_dir.is_relative_to(w) for w in writable), f"{where}: {var_dir} not on a writable volume"
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_runs_a_program_in_the_image_but_samhandling(overlay: str) -> None:
    """Issue 14 point 1, no shell needed at run time: no probe or lifecycle hook of a suite
    container execs anything (probes are native gRPC or HTTP, preStop is the kubelet's sleep),
    so an image without a shell or coreutils runs the same manifests."""
    for workload, container in suite_containers(render(overlay)):
        where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']} {container['name']}"
        handlers = {
            name: container[name] for name in ("startupProbe", "livenessProbe", "readinessProbe") if name in container
        }
        handlers |= {f"lifecycle.{hook}": handler for hook, handler in container.get("lifecycle", {}).items()}
        assert {name: handler for name, handler in handlers.items() if "exec" in handler} == {}, where
        assert set(container.get("command") or ["samhandling"]) <= {
            "samhandling",
            "/opt/samhandling/bin/samhandling",
        }, where
