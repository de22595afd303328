"""The cost of a patient-data call through the gateway, with the decision cache off and on.

The whole suite runs in this process (tests/support.py `running_suite`: the STS, the four
backends on SQLite and the gateway, each on port 0), once per setting of
`Settings.decision_cache` (SAMHANDLING_DECISION_CACHE). The client demo-ehr calls
GetPatientSummary for a patient it may read (no rules: care relationship), sequentially, so
each call is one request's latency: token check, two consent decisions (cached or one
BatchCheckAccess), the audit write, the summary backend. With the cache on, measuring starts
only once the cache holds its lease, and the cache's own hit count is reported; a cache
that never hit stops the bench. For scale, the same two decisions are also timed
in-process with `decide(...)` in the same run."""
from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.consent.decision import AccessDecision, Policy, decide
from services.consent.domain import AccessRequest
from services.platform.vocabulary import DataCategory, PurposeOfUse
from tests.support import running_suite

from .consent_decisions import EHR, NOW, PATIENT, ask
from .timing import DEFAULT_BUDGET, Budget, Timing, measure, summarise

CALLS = 300
WARMUP_CALLS = 20
LEASE_TIMEOUT_SECONDS = 10.0
# What GetPatientSummary asks consent about (gateway/policy.py).
CATEGORIES = (DataCategory.MUNICIPAL_SERVICES, DataCategory.VITAL_SIGNS)


@dataclass(frozen=True)
class GatewayRun:
    cached: bool
    per_call: Timing  # nanoseconds per GetPatientSummary call
    hits: int  # decisions answered from the cache while measuring
    misses: int


@dataclass(frozen=True)
class GatewayBench:
    in_process: Timing  # the call's two decisions by decide(), in-process, both per sample
    off: GatewayRun
    on: GatewayRun


def _decide_all(policy: Policy, requests: tuple[AccessRequest, ...]) -> list[AccessDecision]:
    return [decide(policy, r, NOW) for r in requests]


async def _run(cached: bool, calls: int, warmup: int) -> GatewayRun:
    with tempfile.TemporaryDirectory(prefix="samhandling-bench-") as tmp:
        async with running_suite(Path(tmp), decision_cache=cached) as suite:
            if cached:
                await asyncio.wait_for(suite.app.watch.leased(), LEASE_TIMEOUT_SECONDS)
            stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
            metadata = await suite.auth("demo-ehr")
            request = summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)
            for _ in range(warmup):
                await stub.GetPatientSummary(request, metadata=metadata)
            stats = suite.app.decisions.stats
            hits, misses = stats.hits, stats.misses
            gc.collect()
            samples = []
            for _ in range(calls):
                start = time.perf_counter_ns()
                response = await stub.GetPatientSummary(request, metadata=metadata)
                samples.append(time.perf_counter_ns() - start)
                if response.withheld_categories:
                    raise RuntimeError("the bench patient's data was withheld; the bench measures permitted reads")
            run = GatewayRun(cached, summarise(samples), stats.hits - hits, stats.misses - misses)
    if cached and not run.hits:
        raise RuntimeError("the decision cache never hit; the cache-on numbers would be the cache-off ones")
    return run


def run(calls: int = CALLS, warmup: int = WARMUP_CALLS, budget: Budget = DEFAULT_BUDGET) -> GatewayBench:
    asked = tuple(ask(EHR, category, PurposeOfUse.TREAT) for category in CATEGORIES)
    in_process = measure([partial(_decide_all, Policy(PATIENT), asked)], budget)
    off = asyncio.run(_run(False, calls, warmup))
    on = asyncio.run(_run(True, calls, warmup))
    return GatewayBench(in_process, off, on)
