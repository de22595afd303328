"""`python -m bench`: every bench in one run (a few minutes on two cores: 271 s under load for
the committed sample), the report printed and written to bench/reports/latest.md.
`python -m bench --only hops`: the hops of a read alone (bench/hops.py), its section of the
report replaced and every other section kept as it is; likewise `--only consent` (the
decision in-process and Cedar, sections 1 and 2), `--only gateway-cache` (section 3),
`--only audit` (the durable appends, bench/audit_appends.py: SQLite and, unless --no-postgres,
PostgreSQL) and `--only escalation` (the sweeper among 10,000 open episodes and RecordVitalSigns'
overhead, bench/escalation.py)."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from . import (
    audit_appends,
    audit_latency,
    cedar_policies,
    cluster_reads,
    consent_decisions,
    escalation,
    gateway_cache,
    hops,
)
from .report import (
    DECISIONS_HEADING,
    GATEWAY_HEADING,
    machine,
    machine_line,
    render,
    render_decisions,
    render_gateway,
    replace_section,
)
from .timing import Budget, measure_all

REPORT = Path(__file__).parent / "reports" / "latest.md"
# decide() and cedarpy are measured together, taking turns in rounds, for at most 12 seconds.
IN_PROCESS = Budget(seconds=12.0, rounds=4, min_passes=8, max_passes=1000)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--report", type=Path, default=REPORT, help=f"where to write the report ({REPORT})")
    parser.add_argument(
        "--calls",
        type=int,
        default=gateway_cache.CALLS,
        help="GetPatientSummary calls through the gateway per cache setting",
    )
    parser.add_argument("--no-gateway", action="store_true", help="no bench that runs the whole suite")
    parser.add_argument("--no-audit", action="store_true", help="leave out the audit log benches")
    parser.add_argument(
        "--no-postgres",
        action="store_true",
        help="audit appends on SQLite only, and no cluster (it runs on PostgreSQL)",
    )
    parser.add_argument(
        "--no-cluster", action="store_true", help="leave out gateway reads through a cluster of 1 and 2 replicas"
    )
    parser.add_argument(
        "--no-hops",
        action="store_true",
        help="leave out the hops of a read (floor, bare proxy → summary, full gateway)",
    )
    parser.add_argument(
        "--no-escalation", action="store_true", help="leave out the escalation sweeper and RecordVitalSigns"
    )
    parser.add_argument(
        "--only",
        choices=["hops", "consent", "gateway-cache", "audit", "escalation"],
        help="run this bench alone and replace only its section of the report",
    )
    args = parser.parse_args()
    started = time.monotonic()
    if args.only == "audit":
        old = args.report.read_text(encoding="utf-8") if args.report.exists() else ""
        new, shown = old, []
        for bench in audit_appends.run(postgres=not args.no_postgres):
            section = "\n".join(audit_appends.render([bench])).rstrip("\n") + "\n"
            new = replace_section(new, audit_appends.heading(bench), section)
            shown.append(section)
        _finish("\n".join(shown), new, args.report, started)
        return
    if args.only:
        heading, lines = {
            "hops": (hops.HEADING, _hops),
            "consent": (DECISIONS_HEADING, _decisions_alone),
            "gateway-cache": (GATEWAY_HEADING, lambda: _gateway_alone(args.calls)),
            "escalation": (escalation.HEADING, lambda: _escalation(not args.no_postgres)),
        }[args.only]
        section = "\n".join(lines()).rstrip("\n") + "\n"
        old = args.report.read_text(encoding="utf-8") if args.report.exists() else ""
        _finish(section, replace_section(old, heading, section), args.report, started)
        return
    decisions, cedar = _in_process()
    gateway = None if args.no_gateway else gateway_cache.run(calls=args.calls)
    text = render(machine(), decisions, cedar, gateway)
    if not args.no_audit:
        audit = audit_appends.render(audit_appends.run(postgres=not args.no_postgres))
        if not args.no_gateway:
            audit += audit_latency.render(audit_latency.run())
        text += "\n" + "\n".join(audit).rstrip("\n") + "\n"
    if not (args.no_cluster or args.no_postgres):
        missing = cluster_reads.missing()
        reads = (
            [f"(Gateway reads through a cluster left out: {missing}.)", ""]
            if missing
            else cluster_reads.render(cluster_reads.run())
        )
        text += "\n" + "\n".join(reads).rstrip("\n") + "\n"
    if not (args.no_hops or args.no_gateway):
        text += "\n" + "\n".join(_hops()).rstrip("\n") + "\n"
    if not args.no_escalation:
        text += "\n" + "\n".join(_escalation(not args.no_postgres)).rstrip("\n") + "\n"
    _finish(text, text, args.report, started)


def _in_process() -> tuple[consent_decisions.DecisionBench, dict[int, cedar_policies.CedarSize]]:
    timings = measure_all({**consent_decisions.operations(), **cedar_policies.operations()}, IN_PROCESS)
    return consent_decisions.result(timings), cedar_policies.result(timings)


def _decisions_alone() -> list[str]:
    lines = render_decisions(*_in_process())
    return [lines[0], "", f"(Measured alone: {machine_line(machine())}.)", *lines[1:]]


def _gateway_alone(calls: int) -> list[str]:
    lines = render_gateway(gateway_cache.run(calls=calls))
    return [lines[0], "", f"(Measured alone: {machine_line(machine())}.)", *lines[1:]]


def _hops() -> list[str]:
    if shutil.which("h2load") is None:
        return [hops.HEADING, "", f"(Left out: {cluster_reads.H2LOAD_HINT}.)", ""]
    return hops.render(hops.run(), machine())


def _escalation(postgres: bool) -> list[str]:
    return escalation.render(*escalation.run(postgres=postgres))


def _finish(shown: str, report: str, path: Path, started: float) -> None:
    print(shown, end="")
    print(f"\n({time.monotonic() - started:.0f} s; written to {path})")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
