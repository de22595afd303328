"""The guarantees of docs/ (consent.md, architecture.md, audit-log.md) with two replicas of every component, on the real local cluster
(`tests/cluster/conftest.py`): processes on one PostgreSQL behind HAProxy, called from outside.

- a rule change that has returned is never outlived by a cached decision, on either gateway
  replica, each subscribed to its own consent replica;
- a DPoP proof or a gateway assertion is accepted once across all replicas;
- a consent replica killed under read load costs no read (or names how many), and a revoke made
  while it is dead returns within the lease bound and holds at once;
- a capacity report on one replica reaches a watcher on the other, and a watch resumed on the
  other replica misses and repeats nothing;
- an audit replica killed (the checkpoint leader) leaves audited reads, `audit verify` and the
  checkpoint to the other.

One cluster serves the module; each test leaves the seeded patient without rules.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.token import Identity
from services.platform.dpop import grpc_target, make_proof
from services.platform.errors import error_info
from services.platform.settings import Settings
from tests.cluster.conftest import RunningCluster, start_cluster
from tests.fixtures import people
from tests.support import DEMO_EHR_ACTOR, BindsAssertions, asserted

pytestmark = pytest.mark.cluster

PATIENT = people.ESKIL  # Eskil: vital signs seeded, no rules
SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
OVERVIEW = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
REPORT = "/samhandling.capacity.v1.CapacityService/ReportCapacity"
WATCH = "/samhandling.capacity.v1.CapacityService/WatchCapacity"
VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
LEASE_SECONDS = 2.0  # the consent lease (docs/consent.md "The decision cache")
TIMEOUT = 30.0  # any single wait of this module; the waits are on conditions, not on time
READERS_PER_GATEWAY = 3


def settings_of(cluster: RunningCluster) -> Settings:
    """The settings every replica runs with (assertion key, databases, public URL)."""
    return Settings.from_env(cluster.cluster.env)


def until(condition, what: str, timeout: float = TIMEOUT, every: float = 0.05):
    """Polls `condition` until it returns something true; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(every)
    return result


@contextmanager
def engine_for(cluster: RunningCluster, component: str) -> Iterator[Engine]:
    engine = create_engine(cluster.postgres_urls[component], pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


# --- reads, and the patient's rules ------------------------------------------------------


@dataclass(frozen=True)
class Read:
    gateway: str  # the address read through
    started: float
    answered: float
    vitals: bool | None  # None: refused
    withheld: tuple[int, ...] = ()
    refusal: tuple[str, str] | None = None  # (status code, reason)


class Readers:
    """Callers reading the patient's summary in a loop, each through its own address, until
    stopped; every read is kept with when it started and what it saw."""

    def __init__(self, addresses: list[str], token: str) -> None:
        self.reads: list[Read] = []
        self._addresses = addresses
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._stopped = False
        self._progress = asyncio.Condition()

    async def run(self) -> None:
        await asyncio.gather(*(self._read(index, address) for index, address in enumerate(self._addresses)))

    async def _read(self, reader: int, address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
            request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
            while not self._stopped:
                started = time.monotonic()
                try:
                    answer = await stub.GetPatientSummary(request, metadata=self._metadata, timeout=TIMEOUT)
                    read = Read(
                        address,
                        started,
                        time.monotonic(),
                        answer.HasField("latest_vital_signs"),
                        tuple(answer.withheld_categories),
                    )
                except grpc.aio.AioRpcError as exc:
                    read = Read(address, started, time.monotonic(), None, refusal=(exc.code().name, error_info(exc)[0]))
                async with self._progress:
                    self.reads.append(read)
                    self._progress.notify_all()

    async def each_read(self, count: int, since: float) -> None:
        """Waits until every caller has had `count` reads that started after `since`."""

        def done() -> bool:
            per_caller = Counter(r.gateway for r in self.reads if r.started > since)
            callers = Counter(self._addresses)  # an address may have several callers
            return all(per_caller[a] >= count * n for a, n in callers.items())

        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(done), TIMEOUT)

    def started_after(self, moment: float) -> list[Read]:
        return [r for r in self.reads if r.started > moment]

    def stop(self) -> None:
        self._stopped = True


@asynccontextmanager
async def reading(addresses: list[str], token: str) -> AsyncIterator[Readers]:
    readers = Readers(addresses, token)
    task = asyncio.create_task(readers.run())
    try:
        yield readers
    finally:
        readers.stop()
        await asyncio.wait_for(task, TIMEOUT)


class Rules:
    """The patient's own rule calls (their login token), through one address."""

    def __init__(self, cluster: RunningCluster) -> None:
        self._metadata = (("authorization", f"Bearer {cluster.token(patient=PATIENT)}"),)

    async def restrict(self, address: str) -> str:
        async with grpc.aio.insecure_channel(address) as channel:
            return (
                await consent_pb2_grpc.ConsentServiceStub(channel).CreateRule(
                    consent_pb2.CreateRuleRequest(
                        patient_id=PATIENT, rule_type=consent_pb2.RULE_TYPE_RESTRICTION, data_categories=[VITALS]
                    ),
                    metadata=self._metadata,
                    timeout=TIMEOUT,
                )
            ).rule.rule_id

    async def lift(self, address: str, rule_id: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            await consent_pb2_grpc.ConsentServiceStub(channel).RevokeRule(
                consent_pb2.RevokeRuleRequest(patient_id=PATIENT, rule_id=rule_id),
                metadata=self._metadata,
                timeout=TIMEOUT,
            )


def assert_withheld(reads: list[Read], what: str) -> None:
    assert reads, what
    assert not [r for r in reads if r.vitals is not False], f"{what}: read on the old rules or refused"
    assert all(r.withheld == (VITALS,) for r in reads), what


def assert_served(reads: list[Read], what: str) -> None:
    assert reads, what
    assert all(r.vitals is True for r in reads), f"{what}: {[r for r in reads if r.vitals is not True][:3]}"


# --- which consent replica each gateway's policy watch is on -----------------------------


def live_subscriptions(cluster: RunningCluster) -> dict[str, str]:
    """Subscriber name (one per gateway process) -> the consent process serving its watch, for
    every lease in the consent database's lease book that has not run out."""
    with engine_for(cluster, "consent") as engine, engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT name, replica_id FROM policy_subscribers"
                " WHERE granted_until > extract(epoch FROM clock_timestamp())"
            )
        ).all()
    return {name: replica for name, replica in rows}


def watch_each_gateway_on_its_own_consent_replica(cluster: RunningCluster, attempts: int = 8) -> dict[str, str]:
    """Both gateways leased, on different consent replicas. A gateway's watch goes where its
    round_robin channel picks, which the test cannot steer; so gateway-1 is restarted until
    its new watch lands on the other consent replica (each start is a fresh pick: with a random
    start index, all `attempts` failing is a 1 in 2**attempts event)."""
    for attempt in range(attempts):
        current = until(
            lambda: s if len(s := live_subscriptions(cluster)) == 2 else None, "a lease for each of the two gateways"
        )
        if len(set(current.values())) == 2:
            print(f"gateways on different consent replicas after {attempt} gateway restarts")
            return current
        cluster.kill("gateway", 1)
        cluster.restart("gateway", 1)
        until(
            lambda before=current: len(s := live_subscriptions(cluster)) == 2 and set(s) != set(before),
            "the restarted gateway's watch leased, the old lease run out",
        )
    pytest.fail(f"both gateways' watches stayed on one consent replica through {attempts} restarts")


# --- 1. the revocation race ---------------------------------------------------------------


def test_no_read_started_after_a_rule_change_returned_sees_the_old_rules_on_either_gateway(
    cluster: RunningCluster,
) -> None:
    """Readers call both gateway replicas directly (each with its own decision cache), each
    gateway's policy watch on a different consent replica; the patient restricts through one
    gateway and lifts through the other, twice."""
    subscriptions = watch_each_gateway_on_its_own_consent_replica(cluster)
    gateways = [r.address for r in cluster.replicas("gateway")]
    rules = Rules(cluster)
    ehr = cluster.token("demo-ehr")

    async def race() -> list[Read]:
        async with reading([g for g in gateways for _ in range(READERS_PER_GATEWAY)], ehr) as readers:
            await readers.each_read(2, since=0.0)  # warm: both caches hold the permit
            assert_served(readers.reads, "before any rule")
            for round_ in range(2):
                rule_id = await rules.restrict(gateways[round_ % 2])
                restricted = time.monotonic()
                await readers.each_read(3, since=restricted)
                assert_withheld(readers.started_after(restricted), f"round {round_}, after the restriction")
                await rules.lift(gateways[(round_ + 1) % 2], rule_id)
                lifted = time.monotonic()
                await readers.each_read(3, since=lifted)
                assert_served(readers.started_after(lifted), f"round {round_}, after the lift")
            return readers.reads

    reads = asyncio.run(race())
    # The caches were leased all along (no watch broke, so decisions were cached on both sides
    # of every change) and the watches stayed on their two consent replicas.
    assert live_subscriptions(cluster) == subscriptions
    assert len(reads) >= len(gateways) * READERS_PER_GATEWAY * (2 + 2 * 2 * 3)


# --- 2. replays across replicas -----------------------------------------------------------


def refusal(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), error_info(err.value)[0]


def test_a_dpop_proof_accepted_by_one_gateway_replica_is_refused_by_the_other(cluster: RunningCluster) -> None:
    token = cluster.token_for(Identity(user=people.LARS, purpose="TREAT"), dpop=True)
    htu = grpc_target(settings_of(cluster).gateway_public_url, SUMMARY)  # every replica's public URL
    gateways = [r.address for r in cluster.replicas("gateway")]
    request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
    for first, second in (gateways, gateways[::-1]):
        proof = make_proof(token.dpop_key, "POST", htu, access_token=token.access_token)
        metadata = (("authorization", f"DPoP {token.access_token}"), ("dpop", proof))
        with grpc.insecure_channel(first) as a, grpc.insecure_channel(second) as b:
            answer = summary_pb2_grpc.PatientSummaryServiceStub(a).GetPatientSummary(
                request, metadata=metadata, timeout=TIMEOUT
            )
            assert answer.patient_id == PATIENT
            replayed = summary_pb2_grpc.PatientSummaryServiceStub(b).GetPatientSummary
            assert refusal(lambda call=replayed, m=metadata: call(request, metadata=m, timeout=TIMEOUT)) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "DPOP_REPLAYED",
            )


def test_a_gateway_assertion_accepted_by_one_backend_replica_is_refused_by_the_other(
    cluster: RunningCluster,
) -> None:
    """An assertion signed with the gateway's (dev) key and bound to one request, as a captured
    one would be: the first capacity replica accepts it, the second refuses it, and so in turn."""
    settings = settings_of(cluster)
    request = capacity_pb2.GetCapacityOverviewRequest()
    replicas = [r.address for r in cluster.replicas("capacity")]
    for first, second in (replicas, replicas[::-1]):
        metadata = BindsAssertions(settings).bind(asserted(settings, "capacity", OVERVIEW), request)
        with grpc.insecure_channel(first) as a, grpc.insecure_channel(second) as b:
            assert (
                capacity_pb2_grpc.CapacityServiceStub(a)
                .GetCapacityOverview(request, metadata=metadata, timeout=TIMEOUT)
                .units
            )
            replayed = capacity_pb2_grpc.CapacityServiceStub(b).GetCapacityOverview
            assert refusal(lambda call=replayed, m=metadata: call(request, metadata=m, timeout=TIMEOUT)) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "ASSERTION_REPLAYED",
            )


# --- 3. a consent replica killed under read load ------------------------------------------


def kill_a_consent_replica_under_reads(cluster: RunningCluster) -> tuple[list[Read], float, float]:
    """Six callers read through HAProxy; consent replica 0 is SIGKILLed and at once the patient
    restricts (reads started after it returned must all withhold), then lifts. Returns the
    reads, when the kill returned, and how long the restriction took from then."""
    rules = Rules(cluster)
    ehr = cluster.token("demo-ehr")
    moments: dict[str, float] = {}

    async def under_load() -> list[Read]:
        async with reading([cluster.grpc_address] * 6, ehr) as readers:
            await readers.each_read(3, since=0.0)
            cluster.kill("consent", 0)  # SIGKILL; returns once it has exited
            moments["killed"] = time.monotonic()
            # At once: the dead replica's subscriber may still hold a lease of up to LEASE_SECONDS.
            rule_id = await rules.restrict(cluster.grpc_address)
            restricted = time.monotonic()
            moments["restricted"] = restricted
            try:
                await readers.each_read(3, since=restricted)
                assert_withheld(
                    readers.started_after(restricted), "after a restriction made while a consent replica was dead"
                )
            finally:
                await rules.lift(cluster.grpc_address, rule_id)
            lifted = time.monotonic()
            await readers.each_read(3, since=lifted)
            assert_served(readers.started_after(lifted), "after the lift")
            return readers.reads

    reads = asyncio.run(under_load())
    refused = [r for r in reads if r.vitals is None]
    print(
        f"consent replica killed: {len(reads)} reads, refused {Counter(r.refusal for r in refused)}"
        f" ({sum(r.started < moments['killed'] for r in refused)} of them started before the kill returned),"
        f" restriction returned {moments['restricted'] - moments['killed']:.2f} s after the kill"
    )
    return reads, moments["killed"], moments["restricted"] - moments["killed"]


def test_a_consent_replica_killed_under_reads_and_a_restriction_made_while_it_is_dead(
    cluster: RunningCluster,
) -> None:
    """With the decision cache on (the default). One gateway's watch is on the replica killed,
    so the restriction must reckon with a subscriber whose consent replica is gone: it returns
    once that lease has run out in the book (at most LEASE_SECONDS)."""
    watch_each_gateway_on_its_own_consent_replica(cluster)
    reads, _, restrict_seconds = kill_a_consent_replica_under_reads(cluster)
    assert restrict_seconds < LEASE_SECONDS + 2.0
    assert not [r for r in reads if r.vitals is None]


def test_a_consent_replica_killed_under_uncached_reads(tmp_path: Path) -> None:
    """Without the decision cache every read asks consent (CheckAccess): six callers over two
    gateways keep several checks in flight at each, which its least-request pick spreads over
    both consent replicas, so reads are in flight to the replica at the moment it dies."""
    with start_cluster(tmp_path / "var", env={"SAMHANDLING_DECISION_CACHE": "off"}) as uncached:
        reads, killed, restrict_seconds = kill_a_consent_replica_under_reads(uncached)
    refused = [r for r in reads if r.vitals is None]
    assert restrict_seconds < 2.0  # no subscriber to wait for
    assert not refused


# --- 4. capacity across replicas ----------------------------------------------------------


class Capacity:
    """One capacity replica, called directly as the gateway would (a fresh bound assertion per call)."""

    def __init__(self, channel: grpc.aio.Channel, settings: Settings) -> None:
        self.stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        self.settings = settings

    async def report(self, unit_id: str, available: int) -> int:
        request = capacity_pb2.ReportCapacityRequest(
            unit_id=unit_id,
            resource_type="bed",
            total=100,
            available=available,
            occupied=100 - available,
            status=capacity_pb2.CAPACITY_STATUS_NORMAL,
        )
        await self.stub.ReportCapacity(
            request, metadata=asserted(self.settings, "capacity", REPORT, actor=DEMO_EHR_ACTOR), timeout=TIMEOUT
        )
        return available

    def watch(self, resume_after: int = 0) -> grpc.aio.UnaryStreamCall:
        return self.stub.WatchCapacity(
            capacity_pb2.WatchCapacityRequest(resume_after=resume_after),
            metadata=asserted(self.settings, "capacity", WATCH),
        )


async def next_message(call: grpc.aio.UnaryStreamCall) -> capacity_pb2.WatchCapacityResponse:
    message = await asyncio.wait_for(call.read(), TIMEOUT)
    assert message is not grpc.aio.EOF
    return message


async def next_change(call: grpc.aio.UnaryStreamCall) -> tuple[int, str, int]:
    message = await next_message(call)
    assert message.WhichOneof("event") == "change"
    return message.position, message.change.unit_id, message.change.resource.available


@asynccontextmanager
async def capacity_replicas(cluster: RunningCluster) -> AsyncIterator[list[Capacity]]:
    settings = settings_of(cluster)
    async with (
        grpc.aio.insecure_channel(
            cluster.replicas("capacity")[0].address, interceptors=BindsAssertions(settings).interceptors()
        ) as a,
        grpc.aio.insecure_channel(
            cluster.replicas("capacity")[1].address, interceptors=BindsAssertions(settings).interceptors()
        ) as b,
    ):
        yield [Capacity(a, settings), Capacity(b, settings)]


REPORTS = 5
WATCH_BOUND_SECONDS = 1.0  # report returned -> watcher on the other replica has it


def test_a_report_on_one_capacity_replica_reaches_a_watcher_on_the_other_and_a_resume_there(
    cluster: RunningCluster,
) -> None:
    async def scenario() -> tuple[list[float], list[tuple[int, str, int]], list[tuple[int, str, int]], int]:
        async with capacity_replicas(cluster) as (a, b):
            watcher = b.watch()
            start = (await next_message(watcher)).position  # the snapshot
            delays, seen = [], []
            for i in range(REPORTS):
                await a.report("bodo-kad", 10 + i)
                returned = time.monotonic()
                seen.append(await next_change(watcher))
                delays.append(time.monotonic() - returned)
            watcher.cancel()  # the watcher goes away; more is reported meanwhile ...
            for i in range(3):
                await b.report("bodo-legevakt", 20 + i)
            resumed = a.watch(resume_after=seen[-1][0])  # ... and it resumes on the other replica
            after = [await next_change(resumed) for _ in range(3)]
            await a.report("bodo-kad", 30)  # and hears what is reported after it resumed
            after.append(await next_change(resumed))
            resumed.cancel()
            return delays, seen, after, start

    delays, seen, after, start = asyncio.run(scenario())
    print(f"capacity report -> watcher on the other replica: {', '.join(f'{d:.3f}' for d in delays)} s")
    # Nothing else reports in this module: every position once, in order, across the resume.
    assert seen == [(start + 1 + i, "bodo-kad", 10 + i) for i in range(REPORTS)]
    assert after == [(start + REPORTS + 1 + i, "bodo-legevakt", 20 + i) for i in range(3)] + [
        (start + REPORTS + 4, "bodo-kad", 30)
    ]
    assert max(delays) < WATCH_BOUND_SECONDS, delays


# --- 5. an audit replica killed -----------------------------------------------------------


def audit_leader(cluster: RunningCluster) -> int:
    """The index of the audit replica holding the checkpoint leader's advisory lock: the
    PostgreSQL backend holding it, its client port, and the replica process owning that socket."""
    with engine_for(cluster, "audit") as engine, engine.connect() as connection:
        port = connection.scalar(
            text(
                "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
            )
        )
    assert port, "no audit replica leads"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for replica in (r for r in cluster.replicas("audit") if r.pid is not None):
        fds = f"/proc/{replica.pid}/fd"
        if any(os.readlink(os.path.join(fds, fd)) in inodes for fd in os.listdir(fds)):
            return replica.index
    raise AssertionError(f"no audit replica owns the leader's connection (port {port})")


def audit_sizes(cluster: RunningCluster) -> tuple[int, int]:
    """(events appended, events the latest checkpoint covers)."""
    with engine_for(cluster, "audit") as engine, engine.connect() as connection:
        appended = connection.scalar(text("SELECT size FROM audit_log_head")) or 0
        checkpointed = connection.scalar(text("SELECT max(size) FROM audit_checkpoints")) or 0
    return appended, checkpointed


def test_an_audit_replica_killed_leaves_reads_verify_and_checkpoints_to_the_other(cluster: RunningCluster) -> None:
    ehr = cluster.token("demo-ehr")
    leader = audit_leader(cluster)
    cluster.kill("audit", leader)
    reads = 10
    with grpc.insecure_channel(cluster.grpc_address) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        for _ in range(reads):  # each read is audited before it is answered
            stub.GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT),
                metadata=(("authorization", f"Bearer {ehr}"),),
                timeout=TIMEOUT,
            )
    read = time.monotonic()
    appended = audit_sizes(cluster)[0]
    until(lambda: audit_sizes(cluster)[1] >= appended, "the other replica checkpoints every event", timeout=10)
    caught_up = time.monotonic() - read
    print(f"audit leader {leader} killed: checkpoint caught up {caught_up:.2f} s after the last read")
    assert caught_up < 2.5
    assert audit_leader(cluster) == 1 - leader
    verified = cluster.samhandling("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    verified_size = int(verified.stdout.split("checkpoint: ", 1)[1].split(" events", 1)[0].rsplit(" ", 1)[1])
    assert verified_size >= appended, verified.stdout
