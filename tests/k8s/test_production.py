"""The production overlay runs what tests/cluster runs as processes, no more: every component as
two or more replicas, each database migrated by `samhandling migrate`, PostgreSQL (here run by
CloudNativePG, with a synchronous standby), and besides them only the OpenTelemetry collector,
which is off the request path (an export that fails never fails a call). Its servers start in
production mode: the real start-up checks (services/platform/production.py) pass on the
rendered settings with keys in place of the Secrets' files. Keys, the log pseudonym key and the
database password come only from Secrets, as files; the overlay renders no Secret and no
ConfigMap holds one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from joserfc.jwk import ECKey

from services.audit.checkpoints import NoteSigner
from services.audit.signer import load_log_signer
from services.cli.cluster_plan import DATABASES
from services.platform.db import database_password
from services.platform.keys import load_jwk
from services.platform.production import HELSEID_ISSUERS, check_backend_production, production_problems
from services.platform.settings import BACKENDS, Settings
from tests.k8s.rendered import (
    REPO,
    WORKLOAD_KINDS,
    Doc,
    config,
    containers,
    environment,
    is_suite_image,
    named,
    of_kind,
    pod_labels,
    pod_spec,
    render,
    selects,
    suite_containers,
    with_secret_files,
)

COMPONENTS = ("gateway", *BACKENDS)
DOCS = render("production")
SECRET_VALUES = {
    "samhandling-log-pseudonym/key": "k" * 44,
    "samhandling-db-app/password": "not-the-password",
}


def test_every_component_runs_and_nothing_else_of_the_suite():
    served = sorted(c["args"][1] for _, c in suite_containers(DOCS) if c["args"][0] == "serve")
    migrated = sorted(c["args"][1] for _, c in suite_containers(DOCS) if c["args"][0] == "migrate")
    commands = {c["args"][0] for _, c in suite_containers(DOCS)}
    assert served == sorted(COMPONENTS)  # no sts
    assert migrated == sorted(DATABASES)
    assert commands == {"serve", "migrate"}  # no seed
    others = [
        (w["kind"], w["metadata"]["name"])
        for w in of_kind(DOCS, *WORKLOAD_KINDS)
        if not all(is_suite_image(c["image"]) for c in containers(w))
    ]
    assert others == [("Deployment", "otel-collector")]
    assert of_kind(DOCS, "StatefulSet", "DaemonSet", "CronJob") == []  # PostgreSQL is the operator's


def test_every_component_has_two_replicas_or_more_and_a_disruption_budget():
    autoscalers = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(DOCS, "HorizontalPodAutoscaler")}
    budgets = of_kind(DOCS, "PodDisruptionBudget")
    for deployment in of_kind(DOCS, "Deployment"):
        name = deployment["metadata"]["name"]
        if name in autoscalers:
            assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
            assert autoscalers[name]["spec"]["minReplicas"] >= 2
            assert autoscalers[name]["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        else:
            assert deployment["spec"]["replicas"] >= 2, name
        covering = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert len(covering) == 1, name
        assert covering[0]["spec"] == {**covering[0]["spec"], "maxUnavailable": 1}
    assert set(autoscalers) == {"gateway"}


def test_postgresql_is_a_cloudnativepg_cluster_with_a_synchronous_standby():
    cluster = named(DOCS, "Cluster", "samhandling-db")["spec"]
    assert cluster["instances"] >= 2
    synchronous = cluster["postgresql"]["synchronous"]
    assert synchronous["number"] >= 1
    assert synchronous["dataDurability"] == "required"  # no commit acknowledged by the primary alone
    databases = {cluster["bootstrap"]["initdb"]["database"]} | {
        d["spec"]["name"] for d in of_kind(DOCS, "Database") if d["spec"]["cluster"]["name"] == "samhandling-db"
    }
    assert databases == set(DATABASES)
    settings = config(DOCS)
    for database in DATABASES:
        url = urlsplit(settings[f"SAMHANDLING_{database.upper()}_DATABASE_URL"])
        assert (url.scheme, url.hostname, url.path) == ("postgresql+psycopg", "samhandling-db-rw", f"/{database}")
        assert url.password is None
        assert "sslmode=verify-full" in url.query.split("&")


def test_every_image_is_pinned_by_digest():
    for workload in of_kind(DOCS, *WORKLOAD_KINDS):
        for container in containers(workload):
            assert re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", container["image"]), container["image"]


def test_the_public_urls_are_the_ingress_hosts_and_tls_ends_there():
    settings = Settings.from_env(config(DOCS))
    assert settings.token_issuer in HELSEID_ISSUERS
    assert settings.gateway_http_public_url is not None
    grpc_url, http_url = urlsplit(settings.gateway_public_url), urlsplit(settings.gateway_http_public_url)
    gateway = named(DOCS, "Gateway", "samhandling")["spec"]
    listeners = {listener["name"]: listener for listener in gateway["listeners"]}
    service_ports = {p["port"]: p["name"] for p in named(DOCS, "Service", "gateway")["spec"]["ports"]}
    for kind, url, port_name in (("GRPCRoute", grpc_url, "grpc"), ("HTTPRoute", http_url, "http")):
        (route,) = of_kind(DOCS, kind)
        assert route["spec"]["hostnames"] == [url.hostname]
        (parent,) = route["spec"]["parentRefs"]
        listener = listeners[parent["sectionName"]]
        assert listener["hostname"] == url.hostname
        # DPoP htu is scheme, host and port as the client calls them: the listener's, over TLS.
        assert url.scheme == "https" and (url.port or 443) == listener["port"], url.geturl()
        assert url.path in ("", "/") and not url.query, url.geturl()
        assert listener["protocol"] == "HTTPS"
        assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "samhandling-public-tls"}]
        backends = [b for rule in route["spec"]["rules"] for b in rule["backendRefs"]]
        assert [(b["name"], service_ports[b["port"]]) for b in backends] == [("gateway", port_name)]


def test_the_overlay_renders_no_secret_and_no_configmap_holds_one():
    assert of_kind(DOCS, "Secret") == []
    for config_map in of_kind(DOCS, "ConfigMap"):
        for key, value in config_map.get("data", {}).items():
            assert not re.search(r"PASSWORD|SECRET|PSEUDONYM_KEY|PRIVATE", key), key
            assert "-----BEGIN" not in value and '"d":' not in value, key


def _secret_mounts(workload: Doc) -> dict[str, str]:
    """mount path -> Secret name, for every Secret volume of the pod."""
    volumes = {v["name"]: v["secret"]["secretName"] for v in pod_spec(workload)["volumes"] if "secret" in v}
    return {
        m["mountPath"]: volumes[m["name"]]
        for c in containers(workload)
        for m in c.get("volumeMounts", [])
        if m["name"] in volumes
    }


def test_every_key_file_setting_names_a_file_in_a_mounted_secret():
    for workload, container in suite_containers(DOCS):
        mounts = _secret_mounts(workload)
        files = {v["name"]: v["value"] for v in container.get("env", []) if v["name"].endswith("_FILE")}
        files |= {k: v for k, v in config(DOCS).items() if k.endswith("_FILE")}
        for variable, path in files.items():
            assert str(Path(path).parent) in mounts, f"{workload['metadata']['name']}: {variable}={path}"


def test_the_deploying_guide_names_every_secret_the_manifests_use():
    guide = (REPO / "docs" / "deploying.md").read_text()
    used = {"samhandling-public-tls"}
    for workload in of_kind(DOCS, *WORKLOAD_KINDS):
        used |= set(_secret_mounts(workload).values())  # the only way (test_hardening)
    assert len(used) >= 8
    assert {name for name in used if f"`{name}`" not in guide} == set()


def test_the_guides_smoke_test_calls_the_public_urls():
    """docs/deploying.md's `samhandling status --gateway` names the hosts the ingress serves."""
    settings = Settings.from_env(config(DOCS))
    guide = (REPO / "docs" / "deploying.md").read_text()
    command = f"samhandling status --gateway {settings.gateway_public_url} --http {settings.gateway_http_public_url}\n"
    assert command in guide


def _write_keys(mounts: dict[str, str], env: dict[str, str], root: Path) -> dict[str, str]:
    """Test keys where the Secrets' files would be; the environment rewritten to find them
    (the key and password files, with_secret_files has already placed under `root`)."""
    gateway_key = ECKey.generate_key("P-256", parameters={"kid": "gateway-assertion-test"})
    rewritten = dict(env)
    for variable, path in env.items():
        if not variable.endswith("_FILE") or path.startswith(str(root)):
            continue
        assert str(Path(path).parent) in mounts
        local = root / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        if variable == "SAMHANDLING_AUDIT_LOG_KEY_FILE":
            local.write_bytes(NoteSigner.generate(env["SAMHANDLING_AUDIT_LOG_ORIGIN"]).to_pem())
        elif variable == "SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE":
            local.write_text(json.dumps(gateway_key.as_dict(private=False)))
        else:
            local.write_text(
                json.dumps(ECKey.generate_key("P-256", parameters={"kid": variable.lower()}).as_dict(private=True))
            )
        rewritten[variable] = str(local)
    return rewritten


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_passes_the_production_start_up_checks(component: str, tmp_path: Path):
    (deployment,) = [w for w, c in suite_containers(DOCS) if c["args"] == ["serve", component]]
    (container,) = pod_spec(deployment)["containers"]
    env = with_secret_files(deployment, container, environment(DOCS, container), SECRET_VALUES, tmp_path)
    settings = Settings.from_env(_write_keys(_secret_mounts(deployment), env, tmp_path))
    assert settings.production
    # The two secrets once taken from the environment, now read from their Secrets' files.
    assert settings.log_pseudonym_key == SECRET_VALUES["samhandling-log-pseudonym/key"]
    assert settings.database.password_file is not None
    assert database_password(settings.database.password_file) == SECRET_VALUES["samhandling-db-app/password"]
    if component == "gateway":
        assert production_problems(settings) == []
    else:
        check_backend_production(settings)
    if component == "consent":
        load_jwk(settings.consent_receipt_key(), settings)
    if component == "audit":
        assert load_log_signer(settings).origin == settings.audit_log_origin


def test_the_guides_apply_steps_pick_what_they_say():
    """docs/deploying.md applies, by label selector: first everything that is no workload
    (`!app.kubernetes.io/component`), then the migration Jobs alone, then the rest."""

    def labels(doc: Doc) -> dict[str, str]:
        found: dict[str, str] = doc["metadata"].get("labels") or {}
        return found

    first = {f"{d['kind']}/{d['metadata']['name']}" for d in DOCS if "app.kubernetes.io/component" not in labels(d)}
    assert {
        "Namespace/samhandling",
        "ConfigMap/samhandling-config",
        "ServiceAccount/samhandling-migrate",
        "Cluster/samhandling-db",
        "NetworkPolicy/default-deny-all",
    } <= first
    assert not any(d["kind"] in WORKLOAD_KINDS for d in DOCS if "app.kubernetes.io/component" not in labels(d))
    migrations = [d for d in DOCS if labels(d).get("samhandling.no/role") == "migration"]
    assert sorted(f"{d['kind']}/{d['metadata']['name']}" for d in migrations) == sorted(
        f"Job/migrate-{database}" for database in DATABASES
    )


def test_every_replica_at_its_maximum_fits_in_postgresqls_connections():
    """docs/operations.md "Storage": a backend replica holds at most 2 x (P + O) + 1 connections (its store,
    its replay claims, one LISTEN or leader lock), a gateway P + O, a migration 2 (the lock's and
    the upgrade's). P must be pinned: its default follows the node's CPUs, not the pod's limit."""
    settings = Settings.from_env(config(DOCS))
    assert "SAMHANDLING_DB_POOL_SIZE" in config(DOCS)
    per_engine = settings.database.effective_pool_size() + settings.database.max_overflow
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"] for h in of_kind(DOCS, "HorizontalPodAutoscaler")
    }
    total = 0
    for workload, container in suite_containers(DOCS):
        name = workload["metadata"]["name"]
        replicas = autoscalers.get(name) or workload["spec"].get("replicas", 1)
        if container["args"] == ["serve", "gateway"]:
            total += replicas * per_engine
        elif container["args"][0] == "serve":
            total += replicas * (2 * per_engine + 1)
        else:
            total += 2
    cluster = named(DOCS, "Cluster", "samhandling-db")["spec"]["postgresql"]["parameters"]
    reserved = 3 + 10  # superuser_reserved_connections, and room for the operator's own sessions
    assert total <= int(cluster["max_connections"]) - reserved, total
