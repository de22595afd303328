"""The benchmark report: the machine it ran on and one table per bench, as Markdown (plain
text that reads as well in a terminal as on a web page)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

from .cedar_policies import CedarSize
from .consent_decisions import REQUESTS, DecisionBench
from .gateway_cache import DecisionStep, GatewayBench, GatewayRun
from .timing import Timing


@dataclass(frozen=True)
class Machine:
    when: str
    python: str
    system: str
    cpus: int  # logical CPUs this process may run on
    cpu_model: str
    cedarpy: str


def machine() -> Machine:
    return Machine(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        system=f"{platform.system()} {platform.machine()}",
        cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0,
        cpu_model=_cpu_model(),
        cedarpy=metadata.version("cedarpy"),
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _us(ns: float) -> str:
    us = ns / 1000
    return f"{us:,.2f}" if us < 10 else f"{us:,.1f}" if us < 1000 else f"{us:,.0f}"


def ms(ns: float) -> str:
    return f"{ns / 1e6:,.2f}"


def times(ratio: float) -> str:
    return f"{ratio:,.2f}×" if ratio < 10 else f"{ratio:,.0f}×"


def _cell(t: Timing) -> str:
    return f"{_us(t.median_ns)} ({_us(t.p95_ns)})"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def replace_section(report: str, heading: str, section: str) -> str:
    """`report` with its section under the `## ` heading starting with `heading` (up to the next
    `## ` heading) replaced by `section`; appended at the end when it has none. Every other
    section stays as it is, byte for byte."""
    lines = report.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return report.rstrip("\n") + ("\n\n" if report.strip() else "") + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + rest if rest else "")


def machine_line(m: Machine) -> str:
    return f"{m.when} · {m.python} · {m.system} · {m.cpus} CPUs ({m.cpu_model}) · cedarpy {m.cedarpy}"


DECISIONS_HEADING = "## Consent decision in-process"
GATEWAY_HEADING = "## Through the gateway"


def render(m: Machine, decisions: DecisionBench, cedar: dict[int, CedarSize], gateway: GatewayBench | None) -> str:
    lines = [
        "# Samhandling benchmarks",
        "",
        machine_line(m),
        "",
        *render_decisions(decisions, cedar),
    ]
    if gateway is not None:
        lines += ["", *render_gateway(gateway)]
    return "\n".join(lines) + "\n"


def render_decisions(decisions: DecisionBench, cedar: dict[int, CedarSize]) -> list[str]:
    base = decisions.baseline
    lines = [
        f"{DECISIONS_HEADING}, µs per decision ({len(REQUESTS)} requests)",
        "",
        "Median (p95) of single calls. decide: `decide_compiled(...)` over the rules compiled once for the "
        "policy's revision, as the consent service decides. Baseline: a no-op Python call with the same "
        f"arguments, timed the same way in this run: {_us(base.median_ns)} µs ({_us(base.p95_ns)}). "
        "× decide: the same rule set decided by the other column's way divided by decide. Reference: "
        "`decide(...)`, which reads every rule on every call (the same answers, checked by a property test).",
        "",
    ]
    rows = []
    for size, ours in decisions.decide.items():
        c, reference = cedar[size], decisions.reference[size]
        rows.append(
            [
                str(size),
                str(c.policies),
                _cell(ours),
                times(ours.ratio(base)),
                _cell(reference),
                times(reference.ratio(ours)),
                _cell(c.evaluate),
                times(c.evaluate.ratio(ours)),
                _cell(c.per_call),
                times(c.per_call.ratio(ours)),
                _cell(c.parse_policies),
            ]
        )
    lines += table(
        [
            "rules",
            "Cedar policies",
            "decide µs",
            "× baseline",
            "reference decide µs",
            "× decide",
            "cedarpy evaluation (pre-parsed) µs",
            "× decide",
            "cedarpy with parse every call µs",
            "× decide",
            "cedarpy parse of the policies µs",
        ],
        rows,
    )
    lines += [
        "",
        "The compilation, once per policy revision (the index of the current period included), µs: "
        + ", ".join(f"{size} rules {_cell(t)}" for size, t in decisions.compile.items())
        + ".",
    ]
    lines += [
        "",
        "Cross-checks of the Cedar numbers (medians, µs): the per-call cost minus both parses should come near "
        "the pre-parsed evaluation; cedarpy's own metrics show how much of it is the Cedar engine rather than "
        "the Python binding (JSON in and out).",
        "",
    ]
    lines += table(
        [
            "rules",
            "per call − parse of policies − parse of entities",
            "pre-parsed evaluation",
            "parse of one request's entities",
            "engine's own authorization",
            "engine's own policy parse",
        ],
        [
            [
                str(size),
                _us(c.per_call.median_ns - c.parse_policies.median_ns - c.parse_entities.median_ns),
                _us(c.evaluate.median_ns),
                _us(c.parse_entities.median_ns),
                f"{c.engine_authz_us:,.0f}",
                f"{c.engine_parse_us:,.0f}",
            ]
            for size, c in cedar.items()
        ],
    )
    return lines


def render_gateway(g: GatewayBench) -> list[str]:
    def row(run: GatewayRun) -> list[str]:
        return [
            "on" if run.cached else "off",
            str(run.per_call.calls),
            ms(run.per_call.median_ns),
            ms(run.per_call.p95_ns),
            times(run.per_call.ratio(g.off.per_call)),
            times(run.per_call.ratio(g.in_process)),
            f"{run.hits} / {run.misses}",
        ]

    return [
        f"{GATEWAY_HEADING}: GetPatientSummary, ms per call",
        "",
        "Sequential calls by demo-ehr for a patient it may read (two consent decisions per call); the whole "
        "suite in this process on SQLite. In-process scale: the same two decisions by `decide_compiled(...)`, "
        f"{_us(g.in_process.median_ns)} µs ({_us(g.in_process.p95_ns)}) per call in this run.",
        "",
        *table(
            [
                "decision cache",
                "calls",
                "median ms",
                "p95 ms",
                "× cache off",
                "× in-process decisions",
                "cache hits / misses",
            ],
            [row(g.off), row(g.on)],
        ),
        *([] if g.step is None else ["", *_step(g.step)]),
    ]


def _step(step: DecisionStep) -> list[str]:
    calls = step.hit.latency.calls
    return [
        "The gateway's decision step alone (`ConsentClient.decide` for the call's two decisions, as the gateway "
        f"asked them), {calls} calls each, in blocks taking turns, in the cache-on suite: a hit answers both "
        "from the warm cache; a miss asks one BatchCheckAccess (the client's cache off), which the consent "
        "service answers by reading the policy and deciding. CPU: the whole process's (gateway and consent "
        "service run in it) per call.",
        "",
        *table(
            ["decision step", "median µs", "p95 µs", "CPU µs per call", "× hit (latency)", "× hit (CPU)"],
            [
                [
                    "cache hit",
                    _us(step.hit.latency.median_ns),
                    _us(step.hit.latency.p95_ns),
                    _us(step.hit.cpu_ns),
                    "1.00×",
                    "1.00×",
                ],
                [
                    "cache miss",
                    _us(step.miss.latency.median_ns),
                    _us(step.miss.latency.p95_ns),
                    _us(step.miss.cpu_ns),
                    times(step.miss.latency.ratio(step.hit.latency)),
                    times(step.miss.cpu_ns / step.hit.cpu_ns),
                ],
            ],
        ),
    ]
