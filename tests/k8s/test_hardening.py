"""Issue 14 point 3 over the rendered YAML of every overlay: every workload (Deployment,
StatefulSet, DaemonSet, Job, CronJob), whichever component or overlay added it, is hardened;
so a new one cannot forget a rule. Point 4's network rules are in test_network_policies.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.worker_supervisor import STOP_MARGIN_SECONDS
from services.platform.server import GRACE_SECONDS
from services.platform.settings import Settings
from tests.k8s.rendered import (
    LONG_RUNNING_KINDS,
    OVERLAYS,
    WORKLOAD_KINDS,
    Doc,
    config,
    container_port,
    containers,
    environment,
    is_suite_image,
    named,
    of_kind,
    pod_labels,
    pod_spec,
    pod_template,
    render,
    secret_files,
    selects,
    suite_containers,
    with_secret_files,
)

WORKLOADS = [
    pytest.param(overlay, w["kind"], w["metadata"]["name"], id=f"{overlay}-{w['kind']}-{w['metadata']['name']}")
    for overlay in OVERLAYS
    for w in of_kind(render(overlay), *WORKLOAD_KINDS)
]
LONG_RUNNING = [p for p in WORKLOADS if p.values[1] in LONG_RUNNING_KINDS]
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def workload_claims(workload: Doc) -> list[Doc]:
    claims: list[Doc] = workload["spec"].get("volumeClaimTemplates", [])
    return claims


def _workload(overlay: str, kind: str, name: str) -> Doc:
    return named(render(overlay), kind, name)


def test_every_overlay_has_workloads():
    assert {p.values[0] for p in WORKLOADS} == set(OVERLAYS)


@pytest.mark.parametrize(("overlay", "kind", "name"), WORKLOADS)
def test_the_pod_runs_as_nobody_in_particular(overlay: str, kind: str, name: str):
    docs = render(overlay)
    spec = pod_spec(named(docs, kind, name))
    assert spec.get("automountServiceAccountToken") is False
    account = spec.get("serviceAccountName")
    assert account and account != "default"
    assert named(docs, "ServiceAccount", account).get("automountServiceAccountToken") is False
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert isinstance(pod["runAsUser"], int) and pod["runAsUser"] > 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(host_namespace)
    # The volume types Pod Security's "restricted" profile allows (the namespace enforces it).
    for volume in spec.get("volumes", []):
        (source,) = set(volume) - {"name"}
        assert source in RESTRICTED_VOLUME_TYPES, f"{name}: volume {volume['name']} is {source}"
    for claim in workload_claims(named(docs, kind, name)):
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


@pytest.mark.parametrize(("overlay", "kind", "name"), WORKLOADS)
def test_every_container_is_locked_down_and_bounded(overlay: str, kind: str, name: str):
    workload = _workload(overlay, kind, name)
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    for container in containers(workload):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert not context.get("privileged")
        assert context.get("runAsNonRoot", True) is True
        assert context.get("seccompProfile", {"type": "RuntimeDefault"}) == {"type": "RuntimeDefault"}
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) >= {"cpu", "memory"}, f"{container['name']} {bound}"
        if is_suite_image(container["image"]):
            # The one writable path of the image: /tmp, an emptyDir of bounded size.
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1
            assert volumes[tmp[0]["name"]]["emptyDir"]["sizeLimit"]
            writable = [
                m["mountPath"]
                for m in container["volumeMounts"]
                if not m.get("readOnly") and "emptyDir" not in volumes[m["name"]]
            ]
            assert writable == [], "only emptyDirs are writable"


@pytest.mark.parametrize(("overlay", "kind", "name"), LONG_RUNNING)
def test_a_server_is_probed_spread_and_drained(overlay: str, kind: str, name: str):
    docs = render(overlay)
    workload = named(docs, kind, name)
    spec = pod_spec(workload)
    for container in containers(workload):
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{container['name']} has no {probe}"
        assert "preStop" in container.get("lifecycle", {}), f"{container['name']} has no preStop"
    labels = pod_labels(workload)
    spread = {c["topologyKey"]: c for c in spec["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        assert all(labels.get(k) == v for k, v in constraint["labelSelector"]["matchLabels"].items())
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"


SERVERS = [
    p
    for p in LONG_RUNNING
    if any(
        is_suite_image(c["image"]) and c["args"][:1] == ["serve"] and c["args"][1] != "sts"
        for c in containers(_workload(*p.values))
    )
]


def test_every_component_is_a_server_in_every_overlay():
    for overlay in OVERLAYS:
        assert sorted(p.values[2] for p in SERVERS if p.values[0] == overlay) == sorted(
            ["gateway", "consent", "audit", "summary", "capacity"]
        )


@pytest.mark.parametrize(("overlay", "kind", "name"), SERVERS)
def test_a_component_has_native_grpc_probes_and_outlasts_its_drain(overlay: str, kind: str, name: str, tmp_path: Path):
    """Probes ask grpc.health.v1 on the component's own port: "liveness" while the process
    answers, "readiness" while it can serve (its database; the gateway's consent lease and
    audit) and not while it drains. The pod's grace period covers the preStop sleep, the drain
    (SAMHANDLING_DRAIN_SECONDS, when the server is NOT_SERVING but serving) and the calls in
    flight (GRACE_SECONDS) and the time to exit that the worker supervisor allows before it
    kills its workers (STOP_MARGIN_SECONDS), so the kubelet never kills a draining server. The
    drain is what the container's own environment makes of it (ConfigMap, then its variables,
    then the settings' defaults), as `samhandling serve` reads it."""
    docs = render(overlay)
    workload = named(docs, kind, name)
    (container,) = pod_spec(workload)["containers"]
    assert container["args"] == ["serve", name]
    port = container_port(container, "grpc")
    assert container["startupProbe"]["grpc"] == {"port": port, "service": "liveness"}
    assert container["livenessProbe"]["grpc"] == {"port": port, "service": "liveness"}
    assert container["readinessProbe"]["grpc"] == {"port": port, "service": "readiness"}
    placeholders = {"samhandling-log-pseudonym/key": "k" * 44, "samhandling-db-app/password": "p"}
    env = with_secret_files(workload, container, environment(docs, container), placeholders, tmp_path)
    drain = Settings.from_env(env).drain_seconds
    assert drain > 0, "a server that stops at once drops the calls its balancers still send"
    sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod_spec(workload)["terminationGracePeriodSeconds"]
    assert grace >= sleep + drain + GRACE_SECONDS + STOP_MARGIN_SECONDS
    if kind == "Deployment":
        rolling = workload["spec"]["strategy"]["rollingUpdate"]
        assert rolling["maxUnavailable"] == 0, (
            "a rollout never takes a serving replica away before its successor is ready"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_suite_container_binds_the_port_it_declares(overlay: str):
    docs = render(overlay)
    for workload, container in suite_containers(docs):
        if container["args"][:1] != ["serve"]:
            continue
        env = {v["name"]: v.get("value") for v in container.get("env", [])}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        main_port = ports.get("grpc", ports.get("http"))
        assert env["SAMHANDLING_LISTEN"] == f"0.0.0.0:{main_port}", workload["metadata"]["name"]
        if container["args"] == ["serve", "gateway"]:
            assert env["SAMHANDLING_GATEWAY_HTTP_ADDR"] == f"0.0.0.0:{ports['http']}"
        assert pod_template(workload)["metadata"]["labels"]["app.kubernetes.io/part-of"] == "samhandling"


def _secret_references(workload: Doc) -> set[str]:
    """Secrets reach a pod only as volumes (test_no_container_takes_a_secret_through_its_environment)."""
    return {v["secret"]["secretName"] for v in pod_spec(workload).get("volumes", []) if "secret" in v}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_container_takes_a_secret_through_its_environment(overlay: str):
    """Issue 14 point 5: every secret is a file from a Secret volume. A variable would be shown
    by anything that reads the pod or /proc/<pid>/environ, inherited by child processes, and
    never updated on rotation; so no container of any workload, the suite's or another's, may
    take a value from a Secret through `env` or `envFrom`."""
    for workload in of_kind(render(overlay), *WORKLOAD_KINDS):
        for container in containers(workload):
            where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']} {container['name']}"
            assert [s for s in container.get("envFrom", []) if "secretRef" in s] == [], where
            assert [v["name"] for v in container.get("env", []) if "secretKeyRef" in v.get("valueFrom", {})] == [], (
                where
            )
            assert not {"PGPASSWORD", "SAMHANDLING_LOG_PSEUDONYM_KEY"} & {
                v["name"] for v in container.get("env", [])
            }, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_suite_process_reads_its_secrets_from_files_of_its_own_secrets(overlay: str):
    """The log pseudonym key (servers) and the database password (everything that connects)
    are files of the Secrets the workload mounts, named by their *_FILE settings."""
    docs = render(overlay)
    expected = {
        "SAMHANDLING_LOG_PSEUDONYM_KEY_FILE": "samhandling-log-pseudonym/key",
        "SAMHANDLING_DATABASE_PASSWORD_FILE": "samhandling-db-app/password",
    }
    for workload, container in suite_containers(docs):
        env, files = environment(docs, container), secret_files(workload, container)
        wanted = (
            expected
            if container["args"][0] == "serve"
            else {"SAMHANDLING_DATABASE_PASSWORD_FILE": expected["SAMHANDLING_DATABASE_PASSWORD_FILE"]}
        )
        if container["args"] == ["serve", "sts"]:
            wanted = {}  # the development STS has no database
        assert {v: files.get(env.get(v, "")) for v in wanted} == wanted, workload["metadata"]["name"]


def test_the_dev_overlay_brings_every_secret_it_uses():
    """Development needs no Secret made by hand (production renders none: test_production)."""
    docs = render("dev")
    used = set().union(*(_secret_references(w) for w in of_kind(docs, *WORKLOAD_KINDS)))
    assert used == {s["metadata"]["name"] for s in of_kind(docs, "Secret")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_suite_process_gets_settings_it_accepts(overlay: str, tmp_path: Path):
    """With the Secrets' files in place (Settings.from_env reads the key and password files)."""
    docs = render(overlay)
    placeholders = {
        f"{secret}/{key}": "x" * 44
        for w in of_kind(docs, *WORKLOAD_KINDS)
        for secret in _secret_references(w)
        for key in ("key", "password")
    }
    for workload, container in suite_containers(docs):
        root = tmp_path / workload["metadata"]["name"]
        settings = Settings.from_env(
            with_secret_files(workload, container, environment(docs, container), placeholders, root)
        )
        assert settings.production is (overlay == "production"), workload["metadata"]["name"]
        assert set(settings.database_urls) == {"consent", "audit", "summary", "capacity", "gateway"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_address_in_the_settings_names_a_service_that_selects_its_pods(overlay: str):
    """The gateway's backend targets are `dns:///` names of headless Services (one address per
    ready pod, for its replica sets); every Service a setting names exists, on that
    port, and selects the pods of the component that listens there."""
    docs = render(overlay)
    settings = config(docs)
    deployments = {w["metadata"]["name"]: w for w in of_kind(docs, "Deployment")}
    for component in ("consent", "audit", "summary", "capacity"):
        target = settings[f"SAMHANDLING_{component.upper()}_ADDR"]
        assert target.startswith("dns:///"), target
        service = _service_for(docs, target.removeprefix("dns:///"), deployments[component])
        assert service["spec"]["clusterIP"] == "None"
    _service_for(docs, settings["SAMHANDLING_GATEWAY_ADDR"], deployments["gateway"])
    collector = settings["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
    _service_for(docs, collector, deployments["otel-collector"])
    if overlay == "dev":
        _service_for(docs, settings["SAMHANDLING_STS_ADDR"], deployments["sts"])
        assert settings["SAMHANDLING_TOKEN_ISSUER"] == f"http://{settings['SAMHANDLING_STS_ADDR']}"
        postgres = named(docs, "StatefulSet", "postgres")
        for database in ("consent", "audit", "summary", "capacity", "gateway"):
            url = settings[f"SAMHANDLING_{database.upper()}_DATABASE_URL"]
            _service_for(docs, url.split("@", 1)[1].split("/", 1)[0], postgres)


def _service_for(docs: tuple[Doc, ...], address: str, workload: Doc) -> Doc:
    host, _, port = address.rpartition(":")
    service = named(docs, "Service", host)
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(workload)), address
    (exposed,) = [p for p in service["spec"]["ports"] if p["port"] == int(port)]
    ports = {p["name"]: p["containerPort"] for c in containers(workload) for p in c.get("ports", [])}
    assert ports[exposed["targetPort"]] == int(port), address
    return service


@pytest.mark.parametrize(("overlay", "kind", "name"), SERVERS)
def test_a_component_names_its_pod_in_its_telemetry(overlay: str, kind: str, name: str):
    """Replicas export the same metric names: each pod's series carry its own name
    (service.instance.id, from the downward API), so one replica's lag or errors can be told apart."""
    (container,) = pod_spec(named(render(overlay), kind, name))["containers"]
    env = {e["name"]: e for e in container.get("env", [])}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["OTEL_RESOURCE_ATTRIBUTES"]["value"] == "service.instance.id=$(POD_NAME)"
    names = list(env)
    assert names.index("POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES")  # $(VAR) sees only earlier entries
