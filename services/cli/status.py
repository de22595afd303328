"""`samhandling status [--json]`: every replica of every component with its health, and the load
balancer's public ports when a local cluster runs; with `--gateway URL`, a deployment checked
through its public gateway only (services/cli/gateway_status.py).

Where the replicas are: if `var/cluster/cluster.json` belongs to a running `samhandling cluster`
(its pid is alive), its targets; otherwise the settings' addresses (`make run`, or targets given in
the environment). Each target is expanded into its replicas (`services.cli.health.replica_addresses`)
and each replica asked on its own address. A target that names no replica (its DNS name does not
resolve, or resolves to nothing) is listed itself, UNREACHABLE: a component is never missing
from the answer, so `serving` cannot be true without it. In production mode the development STS
is not listed (production does not run it).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from services.platform.settings import COMPONENTS, Settings

from .children import alive
from .cluster import manifest_path
from .health import grpc_status, http_status, replica_addresses, replica_status, tls_name


@dataclass(frozen=True)
class Entry:
    component: str  # a component, or `load_balancer`
    address: str
    status: str
    protocol: str = "grpc"  # grpc, or http (the STS, the load balancer's JSON API port)
    check: str | None = None  # through the gateway: health, readiness (gRPC) or http readiness
    detail: str | None = None  # through the gateway: why it is not SERVING, in one line


def running_cluster(var_dir: Path) -> dict | None:
    """The manifest of the cluster running from `var_dir`, if one does."""
    try:
        manifest = json.loads(manifest_path(var_dir).read_text())
    except (OSError, ValueError):
        return None
    pid = manifest.get("pid") if isinstance(manifest, dict) else None
    return manifest if isinstance(pid, int) and alive(pid) else None


def listed_components(settings: Settings) -> tuple[str, ...]:
    """Every component, but the development STS only outside production mode."""
    return tuple(c for c in COMPONENTS if not (c == "sts" and settings.production))


async def collect(settings: Settings) -> list[Entry]:
    manifest = running_cluster(settings.var_dir)
    targets = dict(settings.addresses)
    if manifest is not None:
        targets |= manifest["targets"] | {"sts": manifest["sts"]}
    # (component, replica address or, if the target named none, the target itself, TLS name)
    wanted: list[tuple[str, str, str | None]] = []
    unresolved: set[str] = set()
    for c in listed_components(settings):
        found = replica_addresses(targets[c])
        if not found:
            unresolved.add(c)
        wanted += [(c, a, tls_name(targets[c])) for a in found] or [(c, targets[c], None)]

    async def ask(component: str, address: str, name: str | None) -> str:
        if component in unresolved:
            return "UNREACHABLE"
        return await replica_status(component, address, settings, name)

    answers = await asyncio.gather(*(ask(c, a, n) for c, a, n in wanted))
    entries = [Entry(c, a, s, "http" if c == "sts" else "grpc") for (c, a, _), s in zip(wanted, answers, strict=True)]
    if manifest is not None:
        lb = manifest["load_balancer"]
        entries += [
            Entry("load_balancer", lb["grpc"], await grpc_status(lb["grpc"]), "grpc"),
            Entry("load_balancer", lb["http"], await http_status(f"http://{lb['http']}/api/v1/openapi.json"), "http"),
        ]
    return entries


def serving(entries: list[Entry]) -> bool:
    return bool(entries) and all(e.status == "SERVING" for e in entries)


def _fields(entry: Entry) -> dict[str, str]:
    return {k: v for k, v in asdict(entry).items() if v is not None}


def as_json(entries: list[Entry]) -> str:
    replicas = [_fields(e) for e in entries if e.component != "load_balancer"]
    balancer = [_fields(e) for e in entries if e.component == "load_balancer"]
    return json.dumps({"serving": serving(entries), "replicas": replicas, "load_balancer": balancer}, indent=2)


def gateway_as_json(entries: list[Entry], notes: list[str]) -> str:
    return json.dumps({"serving": serving(entries), "gateway": [_fields(e) for e in entries], "notes": notes}, indent=2)


def gateway_as_text(entries: list[Entry], notes: list[str]) -> str:
    lines = [
        f"gateway {e.check or '':<15} {e.address:<40} {e.status}" + (f" ({e.detail})" if e.detail else "")
        for e in entries
    ]
    return "\n".join([*lines, *(f"note: {n}" for n in notes)])


def as_text(entries: list[Entry]) -> str:
    lines = []
    for e in entries:
        name = e.component if e.component != "load_balancer" else f"lb {e.protocol}"
        lines.append(f"{name:<9} {e.address:<22} {e.status}")
    return "\n".join(lines)


def status(settings: Settings, *, as_json_output: bool) -> int:
    entries = asyncio.run(collect(settings))
    print(as_json(entries) if as_json_output else as_text(entries))
    return 0 if serving(entries) else 1


def gateway_status(
    gateway_url: str, http_url: str | None, *, ca_file: Path | None, timeout: float, as_json_output: bool
) -> int:
    """`status --gateway`: exit 0 only when every check is SERVING; each check that reaches
    nothing is also one line on stderr, naming the cause; 2 for unusable arguments."""
    from .gateway_status import GatewayUrlError, check_gateway, parse_public_url

    try:
        if not timeout > 0:
            raise GatewayUrlError(f"--timeout must be a positive number of seconds, not {timeout:g}")
        grpc_target = parse_public_url(gateway_url, grpc_target=True)
        http_target = parse_public_url(http_url, grpc_target=False) if http_url is not None else None
        if ca_file is not None and not ca_file.is_file():
            raise GatewayUrlError(f"--ca {ca_file}: no such file")
        report = asyncio.run(check_gateway(grpc_target, http_target, ca_file, timeout))
    except GatewayUrlError as exc:
        print(f"samhandling: {exc}", file=sys.stderr)
        return 2
    entries = [
        Entry("gateway", c.address, c.answer.status, c.protocol, c.check, c.answer.detail) for c in report.checks
    ]
    for e in entries:
        if e.status == "UNREACHABLE":
            print(f"samhandling: {e.address}: {e.detail}", file=sys.stderr)
    print(gateway_as_json(entries, report.notes) if as_json_output else gateway_as_text(entries, report.notes))
    return 0 if serving(entries) else 1
