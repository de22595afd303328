"""The hops of a read (issue 15): what Python gRPC can carry on this machine, and how close the
summary service and the full gateway path come to it.

Three paths, each its own processes on loopback, loaded by Debian's `h2load` (one thread) with
GetPatientSummary for Eskil (22750884907) as demo-ehr with its Bearer token (demo-ehr needs no
DPoP), the same length-prefixed body and headers on every path (`load_h2`):

- **floor**: a bare grpc.aio proxy (`proxy`: a generic handler forwarding the request's bytes,
  nothing parsed) in front of a fixed-response backend (`backend`: answers every call with the
  bytes of one real summary of the patient, taken through the running suite once at the start);
- **bare proxy → summary**: the same proxy, now signing the internal assertion the backends
  require (as the gateway's `BackendChannels` does: ES256, bound to the request's bytes, a fresh `jti`
  per call), in front of the real summary service;
- **full gateway → summary**: the whole suite as `samhandling up` runs it (one process per
  component, SQLite, the decision cache on): token check, policy, consent from the cache,
  durable audit append, then the summary service.

Every cell is 1 or 32 requests in flight; the cells take turns, round by round (at each level
the three paths one after the other), so a machine that gets busier slows all alike. Before
every cell, a few real calls through the same address must answer OK with the patient's data
(h2load does not read gRPC status); an untimed warm-up at the same level sizes the measured run,
and the measured run must carry a full answer in every request (`load_h2.check`).

`python -m bench.hops backend|proxy ...` runs one of the two bench servers (the bench starts them
itself); `python -m bench.hops` runs the bench alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli import children
from services.cli.database_setup import migrate_all, seed_all
from services.cli.dev_postgres import free_port
from services.cli.health import component_status
from services.cli.token import Identity, obtain_token
from services.platform.actor_convert import actor_message
from services.platform.assertion import METADATA_KEY, Assertion, AssertionSigner, request_binding
from services.platform.keys import load_jwk
from services.platform.settings import COMPONENTS, DEFAULT_PORTS, Settings

from . import load_h2
from .cluster_reads import (
    CHECK_CALLS,
    H2LOAD_HINT,
    METHOD,
    WARM_UP_LEAST,
    WARM_UP_ROUNDS,
    Cell,
    combine,
    cpu_seconds,
    h2load_run,
    verified_answer_size,
)
from .consent_decisions import EHR, PATIENT
from .report import Machine, machine, ms, table, times

HEADING = "## The hops of a read: floor, bare proxy → summary, full gateway (issue 15)"
SERVICE = "samhandling.summary.v1.PatientSummaryService"
FLOOR, PROXY_SUMMARY, GATEWAY = "floor", "proxy-summary", "gateway"
PATHS = (FLOOR, PROXY_SUMMARY, GATEWAY)
TITLES = {
    FLOOR: "bare proxy → fixed-response backend (the floor)",
    PROXY_SUMMARY: "bare proxy (signing the assertion) → summary",
    GATEWAY: "full gateway → summary",
}
IN_FLIGHT = (1, 32)
SECONDS_PER_CELL = 4.0
ROUNDS = 3
STARTUP_TIMEOUT_SECONDS = 60.0
# What the gateway grants demo-ehr on this read (gateway/policy.py: both categories, to treat).
GRANTED = (common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES, common_pb2.DATA_CATEGORY_VITAL_SIGNS)
# The goals of issue 15, as ratios of the same run.
GOAL_THROUGHPUT = 0.5  # gateway ÷ floor, req/s at 32 in flight, at least
GOAL_P50 = 2.0  # gateway ÷ floor, median at 1 in flight, at most
GOAL_P99 = 3.0  # gateway ÷ floor, p99 at 1 in flight, at most
GOAL_BACKEND = 0.7  # summary behind the bare proxy ÷ floor, req/s at 32 in flight, at least


# -- the two bench servers ---------------------------------------------------------------


def bench_assertion(actor: common_pb2.Actor) -> Assertion:
    """What the gateway vouches for when demo-ehr reads the bench patient (a fresh `jti` each)."""
    return Assertion(
        method=METHOD,
        actor=actor,
        patient_id=PATIENT,
        data_categories=GRANTED,
        purpose_of_use=common_pb2.PURPOSE_OF_USE_TREAT,
        decision_id="bench-hops",
    )


EHR_ACTOR = actor_message(EHR)


def fixed_answer_handler(answer: bytes) -> grpc.GenericRpcHandler:
    """GetPatientSummary answering `answer` (the serialised response) to every request, unread."""

    async def get_patient_summary(_request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        return answer

    return grpc.method_handlers_generic_handler(
        SERVICE, {"GetPatientSummary": grpc.unary_unary_rpc_method_handler(get_patient_summary)}
    )


def forwarding_handler(
    channel: grpc.aio.Channel, signer: AssertionSigner | None, component: str = "summary"
) -> grpc.GenericRpcHandler:
    """GetPatientSummary forwarded as bytes over `channel`: no parse either way. With a `signer`,
    each call carries an internal assertion for `component` bound to the bytes forwarded, as the
    gateway signs it; without, no metadata at all. A failed call fails with the backend's status."""
    rpc = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)  # bytes in and out

    async def get_patient_summary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        metadata: tuple[tuple[str, str], ...] = ()
        if signer is not None:
            token = signer.sign(
                dataclasses.replace(bench_assertion(EHR_ACTOR), jti=uuid.uuid4().hex),
                component,
                request=request_binding(request),
            )
            metadata = ((METADATA_KEY, token),)
        try:
            answer: bytes = await rpc(request, metadata=metadata, timeout=10.0)
        except grpc.aio.AioRpcError as err:
            await context.abort(err.code(), err.details() or "", tuple(err.trailing_metadata() or ()))  # type: ignore[arg-type]
        return answer

    return grpc.method_handlers_generic_handler(
        SERVICE, {"GetPatientSummary": grpc.unary_unary_rpc_method_handler(get_patient_summary)}
    )


async def start_server(handler: grpc.GenericRpcHandler, address: str = "127.0.0.1:0") -> tuple[grpc.aio.Server, int]:
    """A plain grpc.aio server of `handler` (no interceptors, no options), started; and its port."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(address)
    await server.start()
    return server, port


async def _serve(address: str, handler: grpc.GenericRpcHandler, upstream: grpc.aio.Channel | None = None) -> None:
    """Serves `handler` on `address` until SIGTERM or SIGINT; closes `upstream` after."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server, _port = await start_server(handler, address)
    await stop.wait()
    await server.stop(grace=0)
    if upstream is not None:
        await upstream.close(None)


def serve_backend(address: str, answer_file: Path) -> None:
    asyncio.run(_serve(address, fixed_answer_handler(answer_file.read_bytes())))


def serve_proxy(address: str, to: str, sign: bool) -> None:
    """With `sign`, the gateway's assertion key from this process's settings (SAMHANDLING_VAR_DIR)."""
    signer = None
    if sign:
        settings = Settings.from_env()
        signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))

    async def main() -> None:
        channel = grpc.aio.insecure_channel(to)
        await _serve(address, forwarding_handler(channel, signer), channel)

    asyncio.run(main())


# -- the three paths, started and loaded -------------------------------------------------


@dataclass(frozen=True)
class Hops:
    seconds_per_cell: float
    rounds: int
    cells: dict[int, dict[str, Cell]]  # in flight -> path -> cell (all rounds together)


@dataclass(frozen=True)
class Setup:
    """The running paths: where h2load sends each, whose CPU it costs, and the bearer token."""

    addresses: Mapping[str, str]  # path -> host:port
    pids: Mapping[str, Sequence[int]]  # path -> the processes serving it
    component_pids: Mapping[str, int]  # the suite's components, and "backend", "floor", "signing"
    authorization: str
    body: Path  # the gRPC request body h2load sends


def suite_env(var_dir: Path) -> dict[str, str]:
    """This process's environment with its own var dir and a free port for every component."""
    env = {**os.environ, "SAMHANDLING_VAR_DIR": str(var_dir)}
    env.pop("OTEL_TRACES_EXPORTER", None)
    for name in DEFAULT_PORTS:
        env[f"SAMHANDLING_{name.upper()}_ADDR"] = f"127.0.0.1:{free_port()}"
    return env


REPO = Path(__file__).resolve().parents[1]


def _spawn(argv: Sequence[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return children.spawn([sys.executable, *argv], log_path=log, env=env, cwd=REPO)


def _wait_serving(component: str, settings: Settings, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while asyncio.run(component_status(component, settings)) != "SERVING":
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{component} did not start; see {log}")
        time.sleep(0.1)


async def _ready(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        await asyncio.wait_for(channel.channel_ready(), STARTUP_TIMEOUT_SECONDS)


async def real_answer(gateway: str, authorization: str) -> bytes:
    """The bench patient's summary through the full gateway, serialised once: what the floor's
    fixed-response backend answers."""
    async with grpc.aio.insecure_channel(gateway) as channel:
        answer = await summary_pb2_grpc.PatientSummaryServiceStub(channel).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=(("authorization", authorization),)
        )
    if answer.withheld_categories or answer.patient_id != PATIENT or not answer.municipal_services:
        raise RuntimeError("the bench patient's summary came back without its data")
    return answer.SerializeToString()


@contextlib.contextmanager
def running_paths(work: Path) -> Iterator[Setup]:
    """The suite (migrated, seeded, one process per component as `samhandling up` starts it),
    the fixed-response backend and the two bare proxies, all on free ports; stopped on the way out."""
    env = suite_env(work / "var")
    settings = Settings.from_env(env)
    migrate_all(settings)
    seed_all(settings)
    logs = work / "log"
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for component in COMPONENTS:
            log = logs / f"{component}.log"
            started[component] = _spawn(["-m", "services.cli.main", "serve", component], log, env)
            _wait_serving(component, settings, started[component], log)
        token = asyncio.run(obtain_token(settings, Identity(EHR.client_id))).access_token
        authorization = f"Bearer {token}"
        answer = work / "answer.bin"
        answer.write_bytes(asyncio.run(real_answer(settings.addresses["gateway"], authorization)))
        backend, floor, signing = (f"127.0.0.1:{free_port()}" for _ in range(3))
        servers = {
            "backend": (backend, ["backend", "--address", backend, "--answer", str(answer)]),
            "floor": (floor, ["proxy", "--address", floor, "--to", backend]),
            "signing": (signing, ["proxy", "--address", signing, "--to", settings.addresses["summary"], "--sign"]),
        }
        for name, (address, args) in servers.items():
            started[name] = _spawn(["-m", "bench.hops", *args], logs / f"{name}.log", env)
            asyncio.run(_ready(address))
        body = work / "request.bin"
        body.write_bytes(
            load_h2.grpc_frame(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT).SerializeToString())
        )
        pids = {name: p.pid for name, p in started.items()}
        yield Setup(
            addresses={FLOOR: floor, PROXY_SUMMARY: signing, GATEWAY: settings.addresses["gateway"]},
            pids={
                FLOOR: [pids["backend"], pids["floor"]],
                PROXY_SUMMARY: [pids["signing"], pids["summary"]],
                GATEWAY: [pids[c] for c in COMPONENTS],
            },
            component_pids=pids,
            authorization=authorization,
            body=body,
        )
    finally:
        children.stop_all(list(reversed(started.values())))


def warmed_up(
    h2load: str, setup: Setup, path: str, in_flight: int, warm_up: int, seconds: float, work: Path
) -> tuple[int, Callable[[int], Cell]]:
    """Real calls checked, then an untimed warm-up of `warm_up` requests at `in_flight`: how many
    requests last about `seconds` at its rate, and the run of a number of requests on `path` at
    that level (answers checked as the warm-up's)."""
    address = setup.addresses[path]
    smallest = asyncio.run(verified_answer_size(address, setup.authorization))
    log_file = work / "h2load.log"

    def run(requests: int) -> Cell:
        return h2load_run(h2load, address, setup.authorization, setup.body, in_flight, requests, smallest, log_file)

    return load_h2.requests_for(seconds, run(warm_up).per_second, in_flight), run


def load(h2load: str, setup: Setup, path: str, in_flight: int, seconds: float, work: Path) -> Cell:
    """Real calls checked, an untimed warm-up at the same level (it sizes the measured run to
    about `seconds`), then the measured run, with the CPU time of the path's processes."""
    warm_up = max(WARM_UP_LEAST, WARM_UP_ROUNDS * in_flight)
    requests, run = warmed_up(h2load, setup, path, in_flight, warm_up, seconds, work)
    before = cpu_seconds(setup.pids[path])
    cell = run(requests)
    return dataclasses.replace(cell, cpu_seconds=cpu_seconds(setup.pids[path]) - before)


def measure(
    h2load: str,
    setup: Setup,
    work: Path,
    in_flight: Sequence[int] = IN_FLIGHT,
    seconds: float = SECONDS_PER_CELL,
    rounds: int = ROUNDS,
) -> Hops:
    """Every cell `rounds` times, taking turns: at each level the floor, the summary, the gateway."""
    measured: dict[int, dict[str, list[Cell]]] = {level: {p: [] for p in PATHS} for level in in_flight}
    for _ in range(rounds):
        for level in in_flight:
            for path in PATHS:
                measured[level][path].append(load(h2load, setup, path, level, seconds, work))
    return Hops(
        seconds, rounds, {level: {p: combine(cs) for p, cs in by_path.items()} for level, by_path in measured.items()}
    )


def find_h2load() -> str:
    h2load = shutil.which("h2load")
    if h2load is None:
        raise RuntimeError(H2LOAD_HINT)
    return h2load


def run(in_flight: Sequence[int] = IN_FLIGHT, seconds: float = SECONDS_PER_CELL, rounds: int = ROUNDS) -> Hops:
    h2load = find_h2load()
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp, running_paths(Path(tmp)) as setup:
        return measure(h2load, setup, Path(tmp), in_flight, seconds, rounds)


# -- profiles under load (py-spy) ---------------------------------------------------------

PROFILE_SECONDS = 12
PROFILE_IN_FLIGHT = 32
# What a profile's samples are grouped by, matched on py-spy's frame text `function (file)`; py-spy
# shortens file names, dropping namespace packages (opentelemetry's `sdk/trace/__init__.py` shows as
# `trace/__init__.py`, its gRPC instrumentation as `grpc/_aio_server.py`, google's protobuf as
# `protobuf/...`). A frame is in the first group that names it. Inclusive: samples with a frame
# of the group anywhere on the stack (groups overlap: the ORM inside the summary store). Own:
# samples whose innermost grouped frame is the group's (they add up to at most 100 %; the last
# group catches the project's other code, so "own" is the group's own work, not its callees').
GROUPS: dict[str, tuple[str, ...]] = {
    "SQLAlchemy ORM": ("(sqlalchemy/orm/",),
    "SQLAlchemy Core, engine, pool": ("(sqlalchemy/",),
    "JOSE sign/verify (joserfc, cryptography)": ("(joserfc/", "(cryptography/"),
    "protobuf": ("(protobuf/", "(google/protobuf/"),
    "OpenTelemetry (interceptors, spans, metrics)": (
        "OpenTelemetry",
        "(opentelemetry/",
        "(trace/",
        "(sdk/",
        "(attributes/",
        "(context/",
        "(metrics/",
        "(propagate/",
        "(_decorator.py",
        "(grpc/_aio_server.py",
        "(grpc/_aio_client.py",
        "(grpc/_server.py",
        "(grpc/_client.py",
    ),
    "gRPC Python (grpc.aio)": ("(grpc/",),
    "JSON": ("(json/",),
    "internal assertion (services/platform/assertion.py)": ("(services/platform/assertion.py",),
    "replay store (jti claims)": ("(services/platform/replay_store.py",),
    "access token check (gateway/tokens.py, authentication.py)": ("(gateway/tokens.py", "(gateway/authentication.py"),
    "audit append client (gateway/audit_client.py)": ("(gateway/audit_client.py",),
    "consent client and decision cache (gateway)": ("(gateway/consent_client.py", "(gateway/decision_cache.py"),
    "summary store (services/summary/store.py)": ("(services/summary/store.py",),
    "audit service (services/audit/)": ("(services/audit/",),
    "asyncio": ("(asyncio/",),
    # Last, so a sample inside the project's own code is its, not the interceptor's around it.
    "other Samhandling code (services/, gateway/)": ("(services/", "(gateway/"),
}


def group_of(frame: str) -> str | None:
    return next((name for name, marks in GROUPS.items() if any(m in frame for m in marks)), None)


# py-spy passes per target: the GIL holder's stacks (the Python work, which one core bounds),
# every running thread's (also native waits: SQLite, gRPC core), and a flame graph of the first.
PASSES: dict[str, list[str]] = {
    "GIL holder": ["--gil", "--rate", "200", "--format", "raw"],
    "all running threads": ["--rate", "200", "--format", "raw"],
    "flame graph": ["--gil", "--rate", "200", "--format", "flamegraph"],
}
# Leaves that are waiting, not working, when py-spy still counts the thread as running: the
# thread pool's workers on their queue, the event loop in epoll.
IDLE_LEAVES = frozenset({"_worker (concurrent/futures/thread.py)", "EpollSelector.select (selectors.py)"})


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy not found; `.venv/bin/pip install py-spy` (it needs ptrace: run as root)")
    return found


def collapsed_stacks(text: str) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: `frame;frame;... count` per line, the root first; each frame
    `function (file:line)`, here without the line so a function is one frame. Stacks ending in
    an IDLE_LEAVES frame are left out."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = [_without_line(f) for f in stack.split(";")]
            if frames[-1] not in IDLE_LEAVES:
                stacks.append((frames, int(count)))
    return stacks


def _without_line(frame: str) -> str:
    head, sep, tail = frame.rpartition(":")
    return head + ")" if sep and tail.rstrip(")").isdigit() else frame


@dataclass(frozen=True)
class Profile:
    samples: int
    groups: list[tuple[str, float, float]]  # group, inclusive share, own share; by inclusive share
    inclusive: list[tuple[str, float]]  # frames by share of samples they are on, largest first
    own: list[tuple[str, float]]  # frames by share of samples they are the leaf of


def profile_of(stacks: Sequence[tuple[list[str], int]], top: int = 40) -> Profile:
    total = sum(count for _, count in stacks) or 1
    inside = {name: 0 for name in GROUPS}
    innermost = {name: 0 for name in GROUPS}
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    for frames, count in stacks:
        grouped = [group_of(frame) for frame in frames]
        for name in set(grouped) - {None}:
            inside[name] += count  # type: ignore[index]
        if last := next((g for g in reversed(grouped) if g is not None), None):
            innermost[last] += count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count

    def ranked(counts: Mapping[str, int]) -> list[tuple[str, float]]:
        return [(k, v / total) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]

    groups = [(name, share, innermost[name] / total) for name, share in ranked(inside)]
    return Profile(total, groups, ranked(inclusive), ranked(own))


def profile_text(name: str, profile: Profile) -> str:
    lines = [f"# {name}: {profile.samples} samples", "", "## groups: inclusive, own (innermost)"]
    lines += [f"{share:6.1%} {innermost:6.1%}  {group}" for group, share, innermost in profile.groups]
    lines += ["", "## frames, inclusive"] + [f"{share:6.1%}  {frame}" for frame, share in profile.inclusive]
    lines += ["", "## frames, own (leaf)"] + [f"{share:6.1%}  {frame}" for frame, share in profile.own]
    return "\n".join(lines) + "\n"


def profile(setup: Setup, out: Path, work: Path, seconds: int = PROFILE_SECONDS) -> None:
    """Under load at PROFILE_IN_FLIGHT: the summary service behind the signing proxy, then the
    gateway, the audit and the summary service on the full path; every pass of PASSES on all of
    a path's targets at once, one load per pass. Writes DIR/<target>-<path>.txt (shares of
    samples by group and by frame) and .svg (the GIL holder's flame graph)."""
    h2load, spy = find_h2load(), py_spy()
    out.mkdir(parents=True, exist_ok=True)
    plan = {PROXY_SUMMARY: ["summary"], GATEWAY: ["gateway", "audit", "summary"]}
    for path, targets in plan.items():
        warm_up = WARM_UP_ROUNDS * PROFILE_IN_FLIGHT
        requests, run = warmed_up(h2load, setup, path, PROFILE_IN_FLIGHT, warm_up, seconds + 3, work)
        texts: dict[str, list[str]] = {target: [] for target in targets}
        for kind, options in PASSES.items():
            spies = []
            for target in targets:
                stem = f"{target}-{path}"
                written = out / (f"{stem}.svg" if kind == "flame graph" else f"{stem}-{len(texts[target])}.collapsed")
                spies.append(
                    (
                        target,
                        written,
                        subprocess.Popen(
                            [
                                spy,
                                "record",
                                "--pid",
                                str(setup.component_pids[target]),
                                "--duration",
                                str(seconds),
                                *options,
                                "-o",
                                str(written),
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        ),
                    )
                )
            run(requests)
            for target, written, child in spies:
                if child.wait(timeout=seconds + 30):
                    raise RuntimeError(f"py-spy failed on {target} ({kind})")
                if kind != "flame graph":
                    stacks = collapsed_stacks(written.read_text(encoding="utf-8"))
                    texts[target].append(profile_text(f"{target} under the {path} load, {kind}", profile_of(stacks)))
        for target, parts in texts.items():
            text = "\n".join(parts)
            (out / f"{target}-{path}.txt").write_text(text, encoding="utf-8")
            print(text)


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    name: str
    measured: float  # a ratio of the same run
    limit: float
    at_least: bool  # the ratio must be at least `limit` (else: at most)

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit


def goals(bench: Hops) -> list[Goal]:
    """Issue 15's goals 1–3: at the most requests in flight for throughput, at one (the fewest)
    for latency."""
    many, one = bench.cells[max(bench.cells)], bench.cells[min(bench.cells)]
    return [
        Goal(
            f"1. throughput: full gateway ÷ floor, req/s at {max(bench.cells)} in flight",
            many[GATEWAY].per_second / many[FLOOR].per_second,
            GOAL_THROUGHPUT,
            at_least=True,
        ),
        Goal(
            f"2. latency: full gateway ÷ floor, median at {min(bench.cells)} in flight",
            one[GATEWAY].percentile(0.5) / one[FLOOR].percentile(0.5),
            GOAL_P50,
            at_least=False,
        ),
        Goal(
            f"2. latency: full gateway ÷ floor, p99 at {min(bench.cells)} in flight",
            one[GATEWAY].percentile(0.99) / one[FLOOR].percentile(0.99),
            GOAL_P99,
            at_least=False,
        ),
        Goal(
            f"3. backends: summary behind the bare proxy ÷ floor, req/s at {max(bench.cells)} in flight",
            many[PROXY_SUMMARY].per_second / many[FLOOR].per_second,
            GOAL_BACKEND,
            at_least=True,
        ),
    ]


def _ratio(goal: Goal) -> str:
    return f"{goal.measured:.0%}" if goal.at_least else times(goal.measured)


def _limit(goal: Goal) -> str:
    return f"at least {goal.limit:.0%}" if goal.at_least else f"at most {times(goal.limit)}"


def render(bench: Hops, m: Machine) -> list[str]:
    rows = []
    for level, by_path in bench.cells.items():
        floor = by_path[FLOOR]
        for path, cell in by_path.items():
            rows.append(
                [
                    TITLES[path],
                    str(level),
                    f"{cell.requests:,}",
                    f"{cell.per_second:,.0f}",
                    f"{cell.per_second / floor.per_second:.0%}",
                    ms(cell.percentile(0.5)),
                    ms(cell.percentile(0.99)),
                    times(cell.percentile(0.5) / floor.percentile(0.5)),
                    times(cell.percentile(0.99) / floor.percentile(0.99)),
                    f"{cell.cpu_seconds / cell.requests * 1000:.1f}",
                ]
            )
    goal_rows = [[g.name, _ratio(g), _limit(g), "met" if g.met else "missed"] for g in goals(bench)]
    return [
        HEADING,
        "",
        f"Measured {m.when} · {m.python} · {m.system} · {m.cpus} CPUs ({m.cpu_model}).",
        "",
        "GetPatientSummary for one patient by demo-ehr (Bearer), sent by h2load (one thread) straight to each "
        "path's first server, every component in its own process on loopback: the floor is a bare grpc.aio proxy "
        "(bytes forwarded, nothing parsed) in front of a backend answering the patient's real summary, serialised "
        "once; the second path the same proxy signing the internal assertion in front of the real summary service "
        "(SQLite); the third the whole suite as `samhandling up` runs it (decision cache on, durable audit on "
        f"SQLite). {bench.rounds} rounds of about {bench.seconds_per_cell:g} s per cell, each after "
        f"{WARM_UP_ROUNDS} untimed requests per request in flight (at least {WARM_UP_LEAST}), the paths taking "
        f"turns. Before every cell, {CHECK_CALLS} real calls through the same server answered OK with the "
        "patient's data, and every request of the cell received a full answer (h2load does not read gRPC "
        "status). × floor: against the floor at the same number in flight. CPU: of the path's processes (the "
        "floor: proxy and backend; the second: proxy and summary; the gateway: every component, STS included), "
        "per read; not h2load's.",
        "",
        *table(
            [
                "path",
                "in flight",
                "requests",
                "req/s",
                "of floor req/s",
                "p50 ms",
                "p99 ms",
                "p50 × floor",
                "p99 × floor",
                "CPU ms per read",
            ],
            rows,
        ),
        "",
        "The goals of issue 15, as ratios of this run:",
        "",
        *table(["goal", "measured", "goal", ""], goal_rows),
        "",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command")
    backend = commands.add_parser("backend", help="serve the fixed-response backend")
    backend.add_argument("--address", required=True)
    backend.add_argument("--answer", type=Path, required=True, help="the serialised GetPatientSummaryResponse")
    proxy = commands.add_parser("proxy", help="serve the bare proxy")
    proxy.add_argument("--address", required=True)
    proxy.add_argument("--to", required=True, help="the backend's host:port")
    proxy.add_argument("--sign", action="store_true", help="sign the internal assertion (keys from the settings)")
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_CELL)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--in-flight", type=int, nargs="+", default=list(IN_FLIGHT))
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="no measurement: profile the summary service and the gateway under load with py-spy "
        "(needs ptrace, i.e. root) and write flame graphs and findings to DIR",
    )
    parser.add_argument("--profile-seconds", type=int, default=PROFILE_SECONDS)
    args = parser.parse_args(argv)
    if args.command == "backend":
        serve_backend(args.address, args.answer)
    elif args.command == "proxy":
        serve_proxy(args.address, args.to, args.sign)
    elif args.profile:
        with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp, running_paths(Path(tmp)) as setup:
            profile(setup, args.profile, Path(tmp), args.profile_seconds)
    else:
        print("\n".join(render(run(args.in_flight, args.seconds, args.rounds), machine())))


if __name__ == "__main__":
    main()
