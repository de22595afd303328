"""The hop bench's report (issue 15): it fills every row and judges the goals from the ratios;
`--only hops` replaces its own section only (the bench's servers:
tests/integration/test_bench_hops_proxy.py). No timings asserted; h2load itself is exercised by
`python -m bench --only hops`."""

from __future__ import annotations

import pytest

from bench import hops
from bench.cluster_reads import Cell
from bench.report import Machine, replace_section

MACHINE = Machine("2026-12-05 04:00 UTC", "CPython 3.11.2", "Linux x86_64", 2, "Some CPU", "4.12")


def cell(per_second: float, latency_ms: float) -> Cell:
    requests = 100
    return Cell(requests, requests / per_second, [int(latency_ms * 1000)] * requests, cpu_seconds=requests * 0.002)


def test_render_fills_every_row_and_judges_the_goals() -> None:
    bench = hops.Hops(
        4.0,
        3,
        {
            1: {hops.FLOOR: cell(300, 3.0), hops.PROXY_SUMMARY: cell(80, 12.0), hops.GATEWAY: cell(100, 6.0)},
            32: {hops.FLOOR: cell(800, 40.0), hops.PROXY_SUMMARY: cell(600, 50.0), hops.GATEWAY: cell(80, 400.0)},
        },
    )
    text = "\n".join(hops.render(bench, MACHINE))
    assert text.startswith(hops.HEADING) and "2026-12-05 04:00 UTC" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 2 + 6 + 4  # two headers, six cells, four goals
    assert all("|  |" not in row for row in rows[1:7] + rows[8:])
    assert "| full gateway → summary | 1 | 100 | 100 | 33% | 6.00 | 6.00 | 2.00× | 2.00× | 2.0 |" in text
    assert (
        "| bare proxy (signing the assertion) → summary | 32 | 100 | 600 | 75% | 50.00 | 50.00 | 1.25× | 1.25× | 2.0 |"
        in text
    )
    judged = {
        g.name.split(":")[0] + (" p99" if "p99" in g.name else ""): (g.met, round(g.measured, 2))
        for g in hops.goals(bench)
    }
    assert judged == {
        "1. throughput": (False, 0.1),
        "2. latency": (True, 2.0),
        "2. latency p99": (True, 2.0),
        "3. backends": (True, 0.75),
    }
    assert "| 1. throughput: full gateway ÷ floor, req/s at 32 in flight | 10% | at least 50% | missed |" in text


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (
            "# R\n\n## A\n\na\n\n## The hops of a read: old\n\nold\n\n## B\n\nb\n",
            "# R\n\n## A\n\na\n\n## The hops of a read: new\n\nnew\n\n## B\n\nb\n",
        ),
        (
            "# R\n\n## A\n\na\n\n## The hops of a read: old\n\nold\n",
            "# R\n\n## A\n\na\n\n## The hops of a read: new\n\nnew\n",
        ),
        ("# R\n\n## A\n\na\n", "# R\n\n## A\n\na\n\n## The hops of a read: new\n\nnew\n"),
        ("", "## The hops of a read: new\n\nnew\n"),
    ],
)
def test_replace_section_keeps_every_other_section(report: str, expected: str) -> None:
    assert replace_section(report, "## The hops of a read", "## The hops of a read: new\n\nnew\n") == expected


# py-spy's raw output (collapsed stacks, root first), abridged from a profile of the summary service.
RAW = """\
<module> (services/cli/main.py:9);_worker (concurrent/futures/thread.py:81) 40
<module> (services/cli/main.py:9);Handle._run (asyncio/events.py:84);verify (services/platform/assertion.py:121);ESAlgorithm.verify (joserfc/_rfc7518/jws_algs.py:200) 30
<module> (services/cli/main.py:9);Handle._run (asyncio/events.py:88);Session.execute (sqlalchemy/orm/session.py:2300);Connection.execute (sqlalchemy/engine/base.py:1400) 50
<module> (services/cli/main.py:9);Handle._run (asyncio/events.py:84);MessageToDict (google/protobuf/json_format.py:120) 20
"""


def test_profile_shares_by_group_and_frame_without_idle_waits() -> None:
    stacks = hops.collapsed_stacks(RAW + "not a stack line\n")
    assert len(stacks) == 3  # the pool worker waiting on its queue is idle
    assert stacks[0] == (
        [
            "<module> (services/cli/main.py)",
            "Handle._run (asyncio/events.py)",
            "verify (services/platform/assertion.py)",
            "ESAlgorithm.verify (joserfc/_rfc7518/jws_algs.py)",
        ],
        30,
    )
    profile = hops.profile_of(stacks)
    assert profile.samples == 100
    groups = {name: (inclusive, own) for name, inclusive, own in profile.groups}
    assert groups["SQLAlchemy ORM"] == (0.5, 0.0)  # the ORM's execute calls Core's: Core is innermost
    assert groups["SQLAlchemy Core, engine, pool"] == (0.5, 0.5)
    assert groups["JOSE sign/verify (joserfc, cryptography)"] == (0.3, 0.3)
    assert groups["internal assertion (services/platform/assertion.py)"] == (0.3, 0.0)
    assert groups["protobuf"] == (0.2, 0.2) and groups["asyncio"] == (1.0, 0.0)
    assert groups["OpenTelemetry (interceptors, spans, metrics)"] == (0.0, 0.0)
    assert groups["other Samhandling code (services/, gateway/)"] == (1.0, 0.0)  # the root, services/cli/main.py
    assert sum(own for _, _, own in profile.groups) <= 1.0
    assert dict(profile.inclusive)["<module> (services/cli/main.py)"] == 1.0  # the root: on every sample, once
    assert dict(profile.inclusive)["Handle._run (asyncio/events.py)"] == 1.0
    assert profile.own[0] == ("Connection.execute (sqlalchemy/engine/base.py)", 0.5)
    text = hops.profile_text("summary", profile)
    assert (
        " 50.0%   0.0%  SQLAlchemy ORM" in text and " 30.0%  ESAlgorithm.verify (joserfc/_rfc7518/jws_algs.py)" in text
    )
