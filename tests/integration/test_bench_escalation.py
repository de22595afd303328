"""The escalation bench runs, checks and reports what it measures (no timings asserted): the
episodes it builds in bulk are the ones the core and the store would make; with a few episodes on
SQLite the sweep that finds nothing fires nothing, each proportion's sweep fires exactly its batch
of the due timers, the claim's plan is read from the statement the store sent, and
RecordVitalSigns' three ways each make every call."""

from __future__ import annotations

from datetime import timedelta

from bench import escalation
from bench.report import replace_section
from services.platform.db import make_engine, make_sessions
from services.summary.escalation_rules import AcknowledgeWithin
from services.summary.escalation_store import EscalationStore
from services.summary.main import BACKEND
from tests.support import settings_for


def test_each_episode_built_in_bulk_is_the_first_opened_seconds_later(tmp_path):
    settings = settings_for(tmp_path)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    engine = make_engine(settings.database_url("summary"))
    try:
        store = EscalationStore(make_sessions(engine), AcknowledgeWithin())
        escalation.build_episodes(make_sessions(engine), 3)
        made = escalation.opened_episode(2)
        assert store.get("esc-bench-00002") == made.episode
        assert [t.due_at for t in store.timers("esc-bench-00002")] == [escalation.T0 + timedelta(seconds=2)]
        assert [store.open_episode(escalation.bench_patient(i)) is not None for i in range(3)] == [True] * 3
        assert len(store.deliveries("esc-bench-00002")) == len(store.deliveries("esc-bench-00000")) > 0
    finally:
        engine.dispose()


def test_a_tiny_run_fills_every_row_and_the_report():
    [sweep], [recorded] = escalation.run(postgres=False, episodes=30, batch=5, record_calls=2, record_rounds=1)
    assert sweep.episodes == 30 and sweep.database.startswith("SQLite")
    # 1 %, 10 %, 100 % of 30: 1, 3 and 30 due in all; each sweep fires its batch of what is left.
    assert [(a.due, a.fired) for a in sweep.at] == [(1, 1), (2, 2), (27, 5)]
    assert sweep.empty.wall.calls == sweep.empty_baseline.wall.calls == escalation.EMPTY_SWEEPS
    assert all(a.per_timer.cpu_ns > 0 and a.per_timer.driver_ns > 0 for a in sweep.at)
    # SQLite reads the due_at index for the claim, due or not.
    assert sweep.empty_uses_index and all(a.uses_index for a in sweep.at)
    assert escalation.DUE_INDEX in sweep.empty_plan
    assert (recorded.database, recorded.calls) == (escalation.SQLITE, 2)
    assert recorded.escalates.wall.calls == recorded.below_trigger.wall.calls == recorded.store_write.wall.calls == 2
    text = "\n".join(escalation.render([sweep], [recorded]))
    assert text.startswith(escalation.HEADING) and "30 open episodes" in text
    assert "| 100% due (27): sweep_once, per fired timer | 5 |" in text
    assert "A call that opens an episode costs" in text
    # --only escalation replaces this section alone.
    new = replace_section("## Earlier\n\nkept\n\n" + text + "\n", escalation.HEADING, "## Escalation\n\nnew\n")
    assert new == "## Earlier\n\nkept\n\n## Escalation\n\nnew\n"
