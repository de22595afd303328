"""The consent decision in-process: µs per decision for a patient with 1, 10 and 100 rules,
over a fixed set of requests, against a no-op call measured the same way. The decision is
timed as the consent service makes it, `decide_compiled(...)` over the rules compiled once
for the policy's revision, beside the reference `decide(...)`, which reads every rule on every
call; the compilation itself (once per revision) is timed too.

The rule sets are a realistic mix (named permits for organisations, HPR numbers and
professions, some for a period; blocks of named persons; a restriction of vital signs), all
in force, with the rules that decide the requests last, so no engine can stop early. The
requests all reach the rules (care actors, shareable categories, a purpose); the decisions
that end before the rules (the patient themselves, an auditor, no purpose) are in
EDGE_REQUESTS, used to check the Cedar translation, not timed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count

from services.consent.decision import CompiledRules, Policy, compile_rules, decide, decide_compiled
from services.consent.domain import (
    AccessRequest,
    ActorSelector,
    Rule,
    RuleContent,
    RuleState,
    RuleType,
    SelectorKind,
)
from services.platform.actors import Actor
from services.platform.ids import InvalidIdentifier, validate_org_number
from services.platform.vocabulary import ActorKind, DataCategory, PurposeOfUse

from .timing import Calls, Timing, noop

SIZES = (1, 10, 100)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PATIENT = "22750884907"  # Eskil Eksempelsen (seeds/patients.json)
HOME = "910000012"  # his home organisation, Bodø kommune (seeds/organisations.json)
MS, VS = DataCategory.MUNICIPAL_SERVICES, DataCategory.VITAL_SIGNS

# Actors as the gateway passes them on: systems (client credentials) and health personnel
# (seeds/personnel.json), some without an organisation so only a named permit lets them in.
EHR = Actor(
    ActorKind.SYSTEM,
    client_id="demo-ehr",
    client_name="Demo EHR – Bodø kommune",
    orgnr_parent="910000012",
    orgnr_child="910000020",
)
HOSPITAL = Actor(
    ActorKind.SYSTEM,
    client_id="demo-hospital",
    client_name="Demo – Nordlandssykehuset",
    orgnr_parent="910000071",
    orgnr_child="910000098",
)
NURSE = Actor(
    ActorKind.PERSONNEL,
    name="Sigrid Sykepleiersen",
    hpr_number="990000101",
    authorization="SP",
    orgnr_parent="910000012",
    orgnr_child="910000020",
)
DOCTOR = Actor(
    ActorKind.PERSONNEL,
    name="Marte Mottaksen",
    hpr_number="990000105",
    authorization="LE",
    orgnr_parent="910000071",
    orgnr_child="910000098",
)
BLOCKED = Actor(
    ActorKind.PERSONNEL,
    name="Bjørn Beredskapsen",
    hpr_number="990000104",
    authorization="SP",
    orgnr_parent="910000047",
    orgnr_child="910000063",
)
PARAMEDIC = Actor(ActorKind.PERSONNEL, name="Anders Ambulansesen", hpr_number="990000106", authorization="AA")
NAMED_DOCTOR = Actor(ActorKind.PERSONNEL, name="Vilde Vakthavendesen", hpr_number="990000107", authorization="LE")
PHYSIO = Actor(ActorKind.PERSONNEL, name="Fysioterapeut uten virksomhet", hpr_number="990000199", authorization="FT")

P = PurposeOfUse


def ask(
    actor: Actor,
    category: DataCategory,
    purpose: PurposeOfUse | None,
    justification: str = "",
    consent_at_moment: bool = False,
) -> AccessRequest:
    return AccessRequest(PATIENT, actor, category, purpose, justification, consent_at_moment)


REQUESTS: tuple[AccessRequest, ...] = (
    ask(EHR, MS, P.TREAT),  # care relationship
    ask(EHR, VS, P.TREAT),  # restricted
    ask(EHR, VS, P.TREAT, consent_at_moment=True),  # a system cannot declare consent: restricted
    ask(NURSE, VS, P.TREAT, consent_at_moment=True),  # consent at the moment opens the restriction
    ask(NURSE, MS, P.COC),  # care relationship
    ask(DOCTOR, VS, P.ETREAT, "Bevisstløs ved ankomst"),  # justified emergency opens it
    ask(DOCTOR, VS, P.ETREAT),  # emergency without justification: restricted
    ask(HOSPITAL, VS, P.BTG, "Hjertestans, ingen pårørende"),  # break the glass
    ask(BLOCKED, MS, P.ETREAT, "Akutt forverring"),  # blocked even in an emergency
    ask(PARAMEDIC, MS, P.ETREAT),  # permitted by profession (AA)
    ask(NAMED_DOCTOR, MS, P.COC),  # permitted by HPR number
    ask(PHYSIO, MS, P.TREAT),  # no organisation, no permit
)

# Decided before any rule is read; they check the translation, not the cost of the rules.
EDGE_REQUESTS: tuple[AccessRequest, ...] = (
    ask(Actor(ActorKind.PATIENT, pid=PATIENT, name="Eskil Eksempelsen"), VS, None),
    ask(Actor(ActorKind.PATIENT, pid="08847810026"), MS, P.TREAT),
    ask(Actor(ActorKind.AUDITOR, client_id="demo-auditor", orgnr_parent="910000012"), DataCategory.ACCESS_LOG, None),
    ask(Actor(ActorKind.AUDITOR, client_id="demo-auditor", orgnr_parent="910000012"), VS, P.TREAT),
    ask(EHR, DataCategory.CONSENT, P.TREAT),
    ask(EHR, MS, None),
    ask(Actor(None, client_id="unknown"), MS, P.TREAT),
)

# Professions (HPR code list 9060) that the filler permits name; none of the requests has one.
_OTHER_PROFESSIONS = ("PS", "JO", "TL", "KI", "ET")


def _rule(
    number: int,
    rule_type: RuleType,
    selector: ActorSelector | None = None,
    categories: frozenset[DataCategory] = frozenset(),
    purposes: frozenset[PurposeOfUse] = frozenset(),
    valid_until: datetime | None = None,
) -> Rule:
    content = RuleContent(PATIENT, rule_type, selector, categories, purposes, valid_until=valid_until)
    return Rule(
        f"rule-bench-{number:04d}",
        1,
        content,
        RuleState.ACTIVE,
        Actor(ActorKind.PATIENT, pid=PATIENT),
        "",
        NOW - timedelta(days=30),
        number,
    )


def _org_numbers():
    """Valid (mod 11) organisation numbers of no actor in the requests."""
    for candidate in count(920000000):
        try:
            yield validate_org_number(str(candidate))
        except InvalidIdentifier:
            continue


def _fillers(n: int) -> list[Rule]:
    """Rules in force that select none of the requests' actors: they are read, never decide."""
    orgs, rules = _org_numbers(), []
    for i in range(n):
        number = i + 1
        match i % 5:
            case 0:
                rules.append(_rule(number, RuleType.PERMIT, ActorSelector(SelectorKind.ORG_NUMBER, next(orgs))))
            case 1:
                rules.append(
                    _rule(
                        number,
                        RuleType.PERMIT,
                        ActorSelector(SelectorKind.HPR_NUMBER, f"99100{i:04d}"),
                        frozenset({MS}),
                        frozenset({P.TREAT, P.COC}),
                    )
                )
            case 2:
                profession = _OTHER_PROFESSIONS[(i // 5) % len(_OTHER_PROFESSIONS)]
                rules.append(
                    _rule(
                        number, RuleType.PERMIT, ActorSelector(SelectorKind.AUTHORIZATION, profession), frozenset({MS})
                    )
                )
            case 3:
                rules.append(
                    _rule(number, RuleType.BLOCK_PERSON, ActorSelector(SelectorKind.HPR_NUMBER, f"99200{i:04d}"))
                )
            case 4:
                rules.append(
                    _rule(
                        number,
                        RuleType.PERMIT,
                        ActorSelector(SelectorKind.ORG_NUMBER, next(orgs)),
                        frozenset({VS}),
                        valid_until=NOW + timedelta(days=90),
                    )
                )
    return rules


def rule_set(size: int) -> tuple[Rule, ...]:
    """`size` rules in force; the last ones (all four from 4 rules up, else the restriction
    alone) decide the requests."""
    deciding = [
        (RuleType.BLOCK_PERSON, ActorSelector(SelectorKind.HPR_NUMBER, BLOCKED.hpr_number), frozenset(), frozenset()),
        (RuleType.PERMIT, ActorSelector(SelectorKind.AUTHORIZATION, "AA"), frozenset({MS}), frozenset({P.ETREAT})),
        (RuleType.PERMIT, ActorSelector(SelectorKind.HPR_NUMBER, NAMED_DOCTOR.hpr_number), frozenset(), frozenset()),
        (RuleType.RESTRICTION, None, frozenset({VS}), frozenset()),
    ]
    deciding = deciding if size >= len(deciding) else deciding[-size:]
    first = size - len(deciding)
    rules = _fillers(first)
    for offset, (rule_type, selector, categories, purposes) in enumerate(deciding):
        rules.append(_rule(first + offset + 1, rule_type, selector, categories, purposes))
    return tuple(rules)


def policy(size: int) -> Policy:
    return Policy(PATIENT, rule_set(size), revision=size, home_orgnr=HOME)


BASELINE = "no-op call"


def _decide_key(size: int) -> str:
    return f"decide, {size} rules"


def _compiled_key(size: int) -> str:
    return f"decide compiled, {size} rules"


def _compile_key(size: int) -> str:
    return f"compile, {size} rules"


def compile_once(policy: Policy) -> CompiledRules:
    """What a new revision costs once: the compilation and the index of the period of NOW."""
    compiled = compile_rules(policy)
    compiled.at(policy.patient_id, NOW)
    return compiled


def operations(sizes: tuple[int, ...] = SIZES) -> dict[str, Calls]:
    """What this bench times, by name: the baseline, and on each rule set the compiled decision
    (compiled before timing, as the service compiles once per revision), the reference
    decide(), and the compilation (one call per request, so it weighs as much as the others)."""
    policies = {size: policy(size) for size in sizes}
    ops: dict[str, Calls] = {BASELINE: [partial(noop, policies[sizes[0]], r, NOW) for r in REQUESTS]}
    for size in sizes:
        compiled = compile_once(policies[size])
        ops[_compiled_key(size)] = [partial(decide_compiled, policies[size], compiled, r, NOW) for r in REQUESTS]
        ops[_decide_key(size)] = [partial(decide, policies[size], r, NOW) for r in REQUESTS]
        ops[_compile_key(size)] = [partial(compile_once, policies[size])] * len(REQUESTS)
    return ops


@dataclass(frozen=True)
class DecisionBench:
    baseline: Timing
    decide: dict[int, Timing]  # by number of rules: decide_compiled, as the service decides
    reference: dict[int, Timing]  # decide(), reading every rule
    compile: dict[int, Timing]  # compile_once, once per revision


def result(timings: Mapping[str, Timing], sizes: tuple[int, ...] = SIZES) -> DecisionBench:
    return DecisionBench(
        timings[BASELINE],
        {size: timings[_compiled_key(size)] for size in sizes},
        {size: timings[_decide_key(size)] for size in sizes},
        {size: timings[_compile_key(size)] for size in sizes},
    )
