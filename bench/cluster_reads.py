"""Gateway reads through the load balancer of a local cluster, with 1 and with 2 replicas of every
component on one PostgreSQL: requests/s, p50 and p99 at 1 and 32 requests in flight, and two
replicas against one.

Both clusters run side by side (`services.cli.cluster.Cluster`, the engine of `samhandling
cluster`: every component in its own processes, one throwaway PostgreSQL, HAProxy balancing each
gRPC request), each on free ports in its own var dir. The load is Debian's `h2load`, one thread,
sending GetPatientSummary for Eskil (22750884907) as demo-ehr with its Bearer token (demo-ehr
needs no DPoP), as a length-prefixed protobuf body with gRPC's headers (see `load_h2`). The
cells take turns, round by round, at each level first the one-replica cluster, then the
two-replica one, so a machine that gets busier slows both alike. h2load does not read gRPC
status; before every cell a few real calls through the same balancer must answer OK with the
patient's data, and the cell's DATA bytes must hold a full answer per request (`load_h2.check`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.cluster import HAPROXY_HINT, Cluster, find_haproxy
from services.cli.cluster_plan import make_plan
from services.cli.dev_postgres import INSTALL_HINT, find_bin_dir, free_port
from services.cli.token import Identity, obtain_token
from services.platform.settings import Settings

from . import load_h2
from .audit_appends import process_cpu_seconds
from .consent_decisions import EHR, PATIENT
from .report import ms, table, times

REPLICAS = (1, 2)
IN_FLIGHT = (1, 32)
SECONDS_PER_CELL = 4.0
WARM_UP_ROUNDS = 3  # untimed requests before every cell: this many times the number in flight,
WARM_UP_LEAST = 20  # and at least this many
H2LOAD_TIMEOUT_SECONDS = 300.0
ROUNDS = 2
CHECK_CALLS = 5  # real gRPC calls before every cell, each must answer OK with the patient's data
METHOD = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
H2LOAD_HINT = "h2load not found; install it with `sudo apt-get install nghttp2-client` (Debian/Ubuntu)"


@dataclass(frozen=True)
class Cell:
    """One measured load at one level on one cluster (all rounds together)."""

    requests: int
    seconds: float
    latencies_us: list[int]
    cpu_seconds: float = 0.0  # of the cluster's replicas while it ran

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        """The latency (ns) below which p of the requests finished (nearest rank)."""
        ordered = sorted(self.latencies_us)
        return ordered[max(1, math.ceil(len(ordered) * p)) - 1] * 1000.0


@dataclass(frozen=True)
class ClusterReads:
    seconds_per_cell: float
    rounds: int
    cells: dict[int, dict[int, Cell]]  # in flight -> replicas -> cell


def public_env(var_dir: Path) -> dict[str, str]:
    """This process's environment with the cluster's var dir and free public ports (as the
    cluster test harness does)."""
    env = {**os.environ, "SAMHANDLING_VAR_DIR": str(var_dir)}
    env.pop("OTEL_TRACES_EXPORTER", None)
    for name in ("GATEWAY", "GATEWAY_HTTP", "STS"):
        env[f"SAMHANDLING_{name}_ADDR"] = f"127.0.0.1:{free_port()}"
    return env


@contextlib.contextmanager
def running_cluster(var_dir: Path, replicas: int) -> Iterator[Cluster]:
    env = public_env(var_dir)
    plan = make_plan(Settings.from_env(env).addresses, replicas, free_port=free_port)
    with Cluster(plan, var_dir=var_dir, base_env=env, say=lambda _line: None) as cluster:
        yield cluster


def cluster_pids(cluster: Cluster) -> list[int]:
    """The cluster's server processes: every replica (PostgreSQL's and HAProxy's own work not counted)."""
    return [cluster.pid(r.component, r.index) for r in cluster.plan.all_replicas()]


async def verified_answer_size(address: str, authorization: str, calls: int = CHECK_CALLS) -> int:
    """Makes `calls` real GetPatientSummary calls through the balancer; each must answer OK with
    nothing withheld. Returns the smallest answer's size in bytes."""
    request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
    sizes = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        for _ in range(calls):
            answer = await stub.GetPatientSummary(request, metadata=(("authorization", authorization),))
            if answer.withheld_categories or answer.patient_id != PATIENT:
                raise RuntimeError("the bench patient's data was withheld; the bench measures permitted reads")
            sizes.append(answer.ByteSize())
    return min(sizes)


def h2load_run(
    h2load: str,
    address: str,
    authorization: str,
    body: Path,
    in_flight: int,
    requests: int,
    smallest_answer: int,
    log_file: Path,
) -> Cell:
    """One checked h2load run of GetPatientSummary against `address` (host:port)."""
    log_file.unlink(missing_ok=True)  # h2load appends
    done = subprocess.run(
        load_h2.command(h2load, f"http://{address}{METHOD}", body, authorization, in_flight, requests, log_file),
        capture_output=True,
        text=True,
        timeout=H2LOAD_TIMEOUT_SECONDS,
    )
    if done.returncode:
        raise RuntimeError(f"h2load failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary = load_h2.parse_summary(done.stdout)
    logged = load_h2.parse_log(log_file.read_text())
    load_h2.check(summary, logged, smallest_answer)
    return Cell(summary.done, summary.done / summary.per_second, [us for _, us in logged])


def load(
    h2load: str, cluster: Cluster, authorization: str, body: Path, in_flight: int, seconds: float, work: Path
) -> Cell:
    """Real calls checked, an untimed warm-up at the same level (it also gives the rate that sizes
    the measured run to about `seconds`), then the measured run."""
    smallest = asyncio.run(verified_answer_size(cluster.plan.grpc_address, authorization))
    log_file = work / "h2load.log"
    warm = h2load_run(
        h2load,
        cluster.plan.grpc_address,
        authorization,
        body,
        in_flight,
        max(WARM_UP_LEAST, WARM_UP_ROUNDS * in_flight),
        smallest,
        log_file,
    )
    requests = load_h2.requests_for(seconds, warm.per_second, in_flight)
    pids = cluster_pids(cluster)
    before = cpu_seconds(pids)
    cell = h2load_run(h2load, cluster.plan.grpc_address, authorization, body, in_flight, requests, smallest, log_file)
    return replace(cell, cpu_seconds=cpu_seconds(pids) - before)


def cpu_seconds(pids: Sequence[int]) -> float:
    return sum(process_cpu_seconds(pid) or 0.0 for pid in pids)


def missing() -> str | None:
    """What this bench needs and the machine lacks (h2load, HAProxy, PostgreSQL), or None."""
    hints = [
        hint
        for found, hint in (
            (shutil.which("h2load"), H2LOAD_HINT),
            (find_haproxy(), HAPROXY_HINT),
            (find_bin_dir(), INSTALL_HINT),
        )
        if not found
    ]
    return "; ".join(hints) or None


def run(in_flight: Sequence[int] = IN_FLIGHT, seconds: float = SECONDS_PER_CELL, rounds: int = ROUNDS) -> ClusterReads:
    h2load = shutil.which("h2load")
    if h2load is None or (lacking := missing()):
        raise RuntimeError(lacking or H2LOAD_HINT)
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        clusters = {n: stack.enter_context(running_cluster(work / f"var-{n}", n)) for n in REPLICAS}
        body = work / "request.bin"
        body.write_bytes(
            load_h2.grpc_frame(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT).SerializeToString())
        )
        tokens = {
            n: f"Bearer {asyncio.run(obtain_token(Settings.from_env(c.env), Identity(EHR.client_id))).access_token}"
            for n, c in clusters.items()
        }  # each cluster has its own STS
        measured: dict[int, dict[int, list[Cell]]] = {level: {n: [] for n in REPLICAS} for level in in_flight}
        for _ in range(rounds):
            for level in in_flight:
                for n, cluster in clusters.items():
                    measured[level][n].append(load(h2load, cluster, tokens[n], body, level, seconds, work))
    cells = {level: {n: combine(cs) for n, cs in by_n.items()} for level, by_n in measured.items()}
    return ClusterReads(seconds, rounds, cells)


def combine(cells: Sequence[Cell]) -> Cell:
    """The rounds of one cell together: all requests over all their time."""
    return Cell(
        sum(c.requests for c in cells),
        sum(c.seconds for c in cells),
        [us for c in cells for us in c.latencies_us],
        sum(c.cpu_seconds for c in cells),
    )


def render(bench: ClusterReads) -> list[str]:
    one, two = REPLICAS
    rows = []
    for level, by_n in bench.cells.items():
        for n, cell in by_n.items():
            base = by_n[one]
            rows.append(
                [
                    str(level),
                    str(n),
                    f"{cell.requests:,}",
                    f"{cell.per_second:,.0f}",
                    times(cell.per_second / base.per_second),
                    ms(cell.percentile(0.5)),
                    ms(cell.percentile(0.99)),
                    times(cell.percentile(0.5) / base.percentile(0.5)),
                    times(cell.percentile(0.99) / base.percentile(0.99)),
                    f"{cell.cpu_seconds / cell.seconds:.2f}",
                    f"{cell.cpu_seconds / cell.requests * 1000:.1f}",
                ]
            )
    return [
        "## Gateway reads through the load balancer: 1 and 2 replicas of every component on PostgreSQL",
        "",
        "GetPatientSummary for one patient by demo-ehr (Bearer), sent by h2load through HAProxy to a local "
        f"cluster (`samhandling cluster`); {bench.rounds} rounds of about {bench.seconds_per_cell:g} s per cell, "
        f"each after {WARM_UP_ROUNDS} untimed requests per request in flight (at least {WARM_UP_LEAST}), the two clusters taking turns. Before every cell, {CHECK_CALLS} real "
        "calls through the same balancer answered OK with the patient's data, and every request of the cell "
        "received a full answer (h2load does not read gRPC status). × 1 replica: the two-replica cluster against "
        "the one-replica cluster at the same number in flight.",
        "",
        *table(
            [
                "in flight",
                "replicas",
                "requests",
                "req/s",
                "× 1 replica",
                "p50 ms",
                "p99 ms",
                "p50 × 1 replica",
                "p99 × 1 replica",
                "CPU, cores",
                "CPU ms per read",
            ],
            rows,
        ),
        "",
        f"CPU: the CPU time of the cluster's replicas (every component's processes; not PostgreSQL, HAProxy or "
        f"h2load) over the measured time, and per read. The machine has {_cpus()} CPUs.",
        "",
    ]


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.cluster_reads", description=__doc__)
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_CELL)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(IN_FLIGHT))
    args = parser.parse_args(argv)
    print("\n".join(render(run(args.in_flight, args.seconds, args.rounds))))


if __name__ == "__main__":
    main()
