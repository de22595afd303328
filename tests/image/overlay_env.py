"""The rendered production overlay (k8s/overlays/production) as processes on this machine: for each
suite container, its command and the environment it starts with (the ConfigMap, its own
variables, the pod's name), with only what a cluster provides and a test machine cannot rewritten.

The rewrites are a closed list (REWRITTEN below), each keeping the form of the value it replaces:

- the places the cluster names: every Service address `host:port` becomes a loopback port of
  this run, keeping its form (`dns:///consent:50051` stays a `dns:///` target, resolved by DNS
  to loopback); a listen address `0.0.0.0:port` becomes that loopback port;
- the database URLs name this run's PostgreSQL server (one database per component, as the
  overlay's URLs do; without the operator's TLS, which the test server does not serve);
- the files of Secrets (`*_FILE` settings) are keys made here, at paths under `root`;
- what the overlay marks "set" for the platform team: the audit log's pinned verifier key;
- the var dir (the pod's emptyDir) and the OTLP endpoint (the in-cluster collector).

Every other variable reaches the process exactly as rendered: production mode, the HelseID
issuer and audience, the public URLs (DPoP htu), TLS left to the mesh, the pinned pool sizes,
the drain, the OTEL_* exporters and resource attributes. So a setting the overlay adds runs here
before it runs in a cluster."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey

from services.audit.checkpoints import NoteSigner
from tests.k8s.rendered import Doc, environment, secret_files, suite_containers, with_secret_files

SECRET_VALUES = {
    "samhandling-log-pseudonym/key": "k" * 44,
    "samhandling-db-app/password": "ignored-by-the-trusting-test-server",
}
REWRITTEN = re.compile(
    r"SAMHANDLING_(LISTEN|GATEWAY_HTTP_ADDR|(CONSENT|AUDIT|SUMMARY|CAPACITY|GATEWAY)_ADDR|[A-Z]+_DATABASE_URL"
    r"|VAR_DIR|AUDIT_LOG_VKEY|[A-Z_]+_FILE)|OTEL_EXPORTER_OTLP_ENDPOINT"
)
_HOST_PORT = re.compile(r"(?P<prefix>dns:///|http://)?(?P<host>[a-z0-9.-]+):(?P<port>\d+)")


@dataclass(frozen=True)
class OverlayProcess:
    workload: str  # kind/name
    args: list[str]  # the container's args: `samhandling <args>`
    env: dict[str, str]  # as rendered, with REWRITTEN values replaced
    rendered: dict[str, str]  # as rendered


@dataclass(frozen=True)
class Machine:
    """What this machine puts where the cluster has its Services, databases, collector and files."""

    port_of: Callable[[str, int], int]  # (a Service's or a listen address's host, its port) -> a loopback port
    database_url: Callable[[str], str]  # the overlay's database name -> this run's URL
    otlp_endpoint: str
    root: Path


def _keys(root: Path, origin: str) -> tuple[dict[str, bytes], str]:
    """Key files by setting, and the audit log's verifier key for them."""
    assertion = ECKey.generate_key("P-256", parameters={"kid": "gateway-assertion"}, private=True)
    signer = NoteSigner.generate(origin)
    by_setting = {
        "SAMHANDLING_ASSERTION_KEY_FILE": json.dumps(assertion.as_dict(private=True)).encode(),
        "SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE": json.dumps(assertion.as_dict(private=False)).encode(),
        "SAMHANDLING_AUDIT_LOG_KEY_FILE": signer.to_pem(),
    }
    for setting in (
        "SAMHANDLING_CONSENT_RECEIPT_KEY_FILE",
        "SAMHANDLING_WEB_PATIENT_CLIENT_KEY_FILE",
        "SAMHANDLING_WEB_PERSONNEL_CLIENT_KEY_FILE",
        "SAMHANDLING_WEB_DPOP_KEY_FILE",
    ):
        key = ECKey.generate_key("P-256", parameters={"kid": setting.lower()}, private=True)
        by_setting[setting] = json.dumps(key.as_dict(private=True)).encode()
    return by_setting, signer.verifier.vkey


def _address(value: str, machine: Machine) -> str:
    match = _HOST_PORT.fullmatch(value)
    assert match, f"not an address: {value}"
    prefix, host, port = match.group("prefix") or "", match.group("host"), int(match.group("port"))
    new_port = machine.port_of(host, port)
    # A dns:/// target must still go through DNS: localhost resolves, an IP literal would not.
    new_host = "localhost" if prefix == "dns:///" else "127.0.0.1"
    return f"{prefix}{new_host}:{new_port}"


def processes(docs: tuple[Doc, ...], machine: Machine) -> list[OverlayProcess]:
    """Every suite container of the rendered overlay, as a process of this machine."""
    origin = next(environment(docs, c) for _, c in suite_containers(docs))["SAMHANDLING_AUDIT_LOG_ORIGIN"]
    keys, vkey = _keys(machine.root / "keys", origin)
    found = []
    for workload, container in suite_containers(docs):
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        rendered = environment(docs, container)
        root = machine.root / workload["metadata"]["name"]
        env = with_secret_files(workload, container, rendered, SECRET_VALUES, root)
        mounts = secret_files(workload, container)
        for variable, value in rendered.items():
            if not REWRITTEN.fullmatch(variable):
                continue
            if variable.endswith("_FILE"):
                if env[variable] != value:
                    continue  # with_secret_files placed it
                assert value in mounts or f"{Path(value).parent}/*" in mounts, (
                    f"{name}: {variable}={value} is no Secret's file"
                )
                local = root / value.lstrip("/")
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(keys[variable])
                env[variable] = str(local)
            elif variable.endswith("_DATABASE_URL"):
                database = value.split("?", 1)[0].rsplit("/", 1)[1]
                env[variable] = machine.database_url(database)
            elif variable == "SAMHANDLING_VAR_DIR":
                env[variable] = str(root / "var")
            elif variable == "SAMHANDLING_AUDIT_LOG_VKEY":
                env[variable] = vkey
            elif variable == "OTEL_EXPORTER_OTLP_ENDPOINT":
                env[variable] = machine.otlp_endpoint
            else:
                env[variable] = _address(value, machine)
        found.append(OverlayProcess(name, list(container["args"]), env, rendered))
    return found
