"""The `samhandling cluster` command: start the local cluster (`services.cli.cluster`), say where
everything is, supervise it until Ctrl-C or SIGTERM, then stop it in order."""

from __future__ import annotations

import signal
import sys
import time

from services.platform.settings import Settings

from .cluster import Cluster
from .cluster_plan import DATABASES, ClusterPlan


def run(settings: Settings, plan: ClusterPlan) -> int:
    """The `samhandling cluster` command: start, report, supervise until Ctrl-C/SIGTERM, stop."""
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # a closed terminal: stop in order too
    cluster = Cluster(plan, var_dir=settings.var_dir, interrupted=lambda: stopping)
    try:
        cluster.start()
    except RuntimeError as exc:  # ClusterError, or PostgreSQL that would not start
        print(f"samhandling cluster: {exc}", file=sys.stderr)
        return 130 if stopping else 1
    try:
        _print_welcome(cluster)
        reported: set[str] = set()
        while not stopping:
            dead = set(cluster.exited()) - reported
            essential = dead & {"postgres", "haproxy", "sts"}
            if essential:
                print(f"{', '.join(sorted(essential))} stopped unexpectedly; see {cluster.log_dir}", file=sys.stderr)
                return 1
            for name in sorted(dead):
                print(
                    f"{name} stopped unexpectedly (its peers keep serving); see {cluster.log_dir / name}.log",
                    file=sys.stderr,
                )
            reported |= dead
            time.sleep(0.2)
        return 0
    finally:
        cluster.stop()
        print("cluster stopped", file=sys.stderr)


def _print_welcome(cluster: Cluster) -> None:
    plan = cluster.plan
    replicas = "\n".join(
        f"  {c:<9} "
        + "  ".join(r.address + (f" (http {r.http_address})" if r.http_address else "") for r in plan.replicas[c])
        for c in plan.replicas
    )
    pg = cluster.postgres
    print(
        f"""
Samhandling cluster is up (synthetic data only; logs in {cluster.log_dir}).

  load balancer  grpc://{plan.grpc_address}  http://{plan.http_address}/api/v1  (HAProxy)
                 statistics: http://{plan.stats_address}/stats
  sts            http://{plan.sts_address}
{replicas}
  postgresql     {pg.host if pg else "?"}:{pg.port if pg else "?"} (databases {", ".join(DATABASES)}; user postgres)

  .venv/bin/samhandling status --json   # every replica and the load balancer
  .venv/bin/samhandling call --client demo-ehr samhandling.summary.v1.PatientSummaryService/GetPatientSummary \\
    '{{"patient_id": "22750884907"}}'

Ctrl-C stops everything.
""",
        flush=True,
    )
