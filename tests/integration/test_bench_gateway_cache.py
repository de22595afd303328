"""The gateway cache bench measures what it says (no timings asserted): with the cache on, the
timed calls hit the cache; the decision step alone is asked with exactly the two requests the
gateway asks for a GetPatientSummary, every timed hit is a cache hit, and every miss asks the
consent service (the cache's counters do not move for it)."""

from __future__ import annotations

from bench import gateway_cache
from samhandling.common.v1 import common_pb2


async def test_the_cache_on_run_hits_and_times_the_decision_step_as_hits_and_misses():
    run, step = await gateway_cache._run(True, calls=3, warmup=2, step_block=2, step_rounds=2)
    # Two decisions a call, from the cache once it holds them (a lapsed lease would make a miss).
    assert run.cached and run.hits + run.misses == 2 * 3 and run.hits > 0
    assert step is not None
    assert step.hit.latency.calls == step.miss.latency.calls == 4
    assert step.hit.cpu_ns > 0 and step.miss.cpu_ns > 0


async def test_the_decision_step_is_asked_what_the_gateway_asks(monkeypatch):
    seen = []
    original = gateway_cache._decision_step

    async def recording(suite, asked, block, rounds):
        seen.extend(asked)
        return await original(suite, asked, block, rounds)

    monkeypatch.setattr(gateway_cache, "_decision_step", recording)
    await gateway_cache._run(True, calls=1, warmup=1, step_block=1, step_rounds=1)
    assert [r.data_category for r in seen] == [
        common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES,
        common_pb2.DATA_CATEGORY_VITAL_SIGNS,
    ]
    assert {(r.patient_id, r.actor.client_id, r.purpose_of_use, r.write) for r in seen} == {
        (gateway_cache.PATIENT, "demo-ehr", common_pb2.PURPOSE_OF_USE_TREAT, False)
    }
