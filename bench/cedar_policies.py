"""The same patient policies in Cedar, decided by cedarpy in the same run as `decide(...)`.

Translation (one Cedar policy set per patient; tests/unit/test_bench_cedar_equivalence.py
checks that Cedar's Allow/Deny equals our permit/deny for every request):

- principal: the actor, typed by kind (System, Personnel, Patient, Auditor; Caller when the
  kind is unknown) with attributes pid, hpr, authorization, orgnr_parent and orgs (parent and
  child); action: Action::"read" or Action::"write"; resource: Record::"<patient>/<category>"
  with attributes patient, category and home (the patient's home organisation, "" when
  unknown); context: purpose ("" when none), justified (a non-blank justification),
  consent_at_moment, now (a datetime).
- fixed policies: the patient acts on their own data; an auditor reads the access log; the
  statutory care relationship (an actor of an organisation) reads, municipal services only
  from the patient's home organisation, and records vital signs from any organisation;
  municipal services are read outside the home organisation when opened as a restriction is
  (OPENED); the data holder (the home organisation) writes municipal services.
- CARE, the guard of every rule: a system or health person asking for a shareable category
  with a purpose (rules bind nobody else, docs/consent.md "How consent decides").
- reservation: forbid; block: forbid when the selector selects the actor; both for any action
  and neither has an `unless`, so nothing opens them. Restriction: forbid a read when it
  covers the request, unless OPENED: consent at the moment or a justified emergency, both
  declared by a health person (an opened restriction only stops forbidding; the actor still
  needs a basis, as in decision.py). Permit: permit a read when it covers the request and
  selects the actor. Restrictions and permits play no part in a write.
- A period becomes a condition on context.now; revoked rules and other patients' rules are
  left out, as a policy administration point would. Representations are not translated.

Cedar's forbid-overrides-permit gives the order of decision.py: reservation, block and an
unopened restriction deny whatever is permitted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import cedarpy

from services.consent.decision import Policy
from services.consent.domain import (
    SHAREABLE,
    AccessRequest,
    ActorSelector,
    Rule,
    RuleState,
    RuleType,
    SelectorKind,
)
from services.platform.actors import Actor
from services.platform.vocabulary import EMERGENCY_PURPOSES, ActorKind, Decision

from . import consent_decisions as bench
from .timing import Calls, Timing

_TYPE = {
    ActorKind.SYSTEM: "System",
    ActorKind.PERSONNEL: "Personnel",
    ActorKind.PATIENT: "Patient",
    ActorKind.AUDITOR: "Auditor",
    None: "Caller",
}
READ, WRITE = 'Action::"read"', 'Action::"write"'


def _text(value: str) -> str:
    return json.dumps(value)  # a Cedar string literal: the same escapes as JSON for these values


def _one_of(values: Iterable[str], expression: str) -> str:
    items = sorted(values)
    return (
        f"{expression} == {_text(items[0])}"
        if len(items) == 1
        else f"[{', '.join(map(_text, items))}].contains({expression})"
    )


# CARE is a conjunction at its top level, so it joins other conditions with && as it is.
CARE = (
    f"(principal is System || principal is Personnel) && "
    f'{_one_of((c.name for c in SHAREABLE), "resource.category")} && context.purpose != ""'
)
OPENED = (
    f"principal is Personnel && (context.consent_at_moment || "
    f"({_one_of((p.name for p in EMERGENCY_PURPOSES), 'context.purpose')} && context.justified))"
)

# An actor of the patient's home organisation; "" (unknown) is nobody's home.
HOME = 'resource.home != "" && principal.orgnr_parent == resource.home'
MS = 'resource.category == "MUNICIPAL_SERVICES"'

FIXED = f"""@id("default:own-data")
permit (principal is Patient, action, resource)
when {{ principal.pid != "" && principal.pid == resource.patient }};

@id("default:audit")
permit (principal is Auditor, action == {READ}, resource)
when {{ resource.category == "ACCESS_LOG" }};

@id("default:care-relationship")
permit (principal, action in [{READ}, {WRITE}], resource)
when {{ {CARE} && principal.orgnr_parent != "" && (!({MS}) || (action == {READ} && {HOME})) }};

@id("default:outside-parent-organisation")
permit (principal, action == {READ}, resource)
when {{ {CARE} && principal.orgnr_parent != "" && {MS} && !({HOME}) && {OPENED} }};

@id("default:data-holder")
permit (principal, action == {WRITE}, resource)
when {{ {CARE} && {MS} && {HOME} }};
"""


def cedar_time(moment: datetime) -> str:
    """A Cedar datetime literal; Cedar keeps milliseconds, so finer times are refused."""
    if moment.tzinfo is None or moment.microsecond % 1000:
        raise ValueError("times must be timezone-aware and whole milliseconds")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _selects(selector: ActorSelector) -> str:
    match selector.kind:
        case SelectorKind.HPR_NUMBER:
            return f"principal.hpr == {_text(selector.value)}" if selector.value else "false"
        case SelectorKind.ORG_NUMBER:
            return f"principal.orgs.contains({_text(selector.value)})"
        case SelectorKind.AUTHORIZATION:
            return f"principal is Personnel && principal.authorization == {_text(selector.value)}"
        case SelectorKind.ANYONE:
            return "true"


def _conditions(rule: Rule) -> list[str]:
    """CARE, the rule's period and (for restrictions and permits) what it covers."""
    c = rule.content
    conditions = [CARE]
    if c.valid_from is not None:
        conditions.append(f'context.now >= datetime("{cedar_time(c.valid_from)}")')
    if c.valid_until is not None:
        conditions.append(f'context.now < datetime("{cedar_time(c.valid_until)}")')
    if rule.rule_type in (RuleType.RESTRICTION, RuleType.PERMIT):
        if c.categories:
            conditions.append(_one_of((x.name for x in c.categories), "resource.category"))
        if c.purposes:
            conditions.append(_one_of((x.name for x in c.purposes), "context.purpose"))
    return conditions


def _statement(rule_id: str, effect: str, conditions: list[str], unless: str = "", action: str = "") -> str:
    when = " &&\n  ".join(conditions)
    scope = f"action == {action}" if action else "action"
    return (
        f"@id({_text(rule_id)})\n{effect} (principal, {scope}, resource)\nwhen {{\n  {when}\n}}"
        + (f"\nunless {{ {unless} }}" if unless else "")
        + ";\n"
    )


def translate_rule(rule: Rule) -> str:
    conditions = _conditions(rule)
    match rule.rule_type:
        case RuleType.RESERVATION:
            return _statement(rule.rule_id, "forbid", conditions)
        case RuleType.BLOCK_PERSON | RuleType.PERMIT if rule.content.selector is None:
            return ""  # selects nobody (decision.py requires a selector)
        case RuleType.BLOCK_PERSON:
            return _statement(rule.rule_id, "forbid", [*conditions, _selects(rule.content.selector)])
        case RuleType.RESTRICTION:
            return _statement(rule.rule_id, "forbid", conditions, OPENED, READ)
        case RuleType.PERMIT:
            return _statement(rule.rule_id, "permit", [*conditions, _selects(rule.content.selector)], action=READ)


def translate(policy: Policy) -> str:
    """The patient's policy set in Cedar text."""
    if policy.representations:
        raise ValueError("representations are not translated to Cedar")
    rules = sorted(
        (r for r in policy.rules if r.patient_id == policy.patient_id and r.state is RuleState.ACTIVE),
        key=lambda r: r.rule_id,
    )
    return "\n".join([FIXED, *filter(None, map(translate_rule, rules))])


def principal_uid(actor: Actor) -> dict[str, str]:
    fields = (actor.client_id, actor.pid, actor.hpr_number, actor.authorization, actor.orgnr_parent, actor.orgnr_child)
    return {"type": _TYPE[actor.kind], "id": "|".join(fields)}


def resource_uid(request: AccessRequest) -> dict[str, str]:
    return {"type": "Record", "id": f"{request.patient_id}/{request.category.name}"}


def entities(requests: Iterable[AccessRequest], home_orgnr: str | None) -> list[dict]:
    """The principals and resources of `requests`, each once; `home_orgnr` is the patient's
    home organisation (all requests are about one patient)."""
    found: dict[str, dict] = {}
    for r in requests:
        a = r.actor
        for uid, attrs in (
            (
                principal_uid(a),
                {
                    "pid": a.pid,
                    "hpr": a.hpr_number,
                    "authorization": a.authorization,
                    "orgnr_parent": a.orgnr_parent,
                    "orgs": [a.orgnr_parent, a.orgnr_child],
                },
            ),
            (resource_uid(r), {"patient": r.patient_id, "category": r.category.name, "home": home_orgnr or ""}),
        ):
            found.setdefault(json.dumps(uid, sort_keys=True), {"uid": uid, "attrs": attrs, "parents": []})
    return list(found.values())


def cedar_request(request: AccessRequest, now: datetime) -> dict:
    return {
        "principal": principal_uid(request.actor),
        "action": {"type": "Action", "id": "write" if request.write else "read"},
        "resource": resource_uid(request),
        "context": {
            "purpose": request.purpose.name if request.purpose else "",
            "justified": bool(request.justification.strip()),
            "consent_at_moment": request.consent_at_moment,
            "now": {"__extn": {"fn": "datetime", "arg": cedar_time(now)}},
        },
    }


def cedar_decision(policy: Policy, request: AccessRequest, now: datetime) -> Decision:
    """Cedar's answer as ours: Allow is PERMIT, anything else DENY (an error must not allow)."""
    result = cedarpy.is_authorized(
        cedar_request(request, now), translate(policy), entities([request], policy.home_orgnr)
    )
    if result.diagnostics.errors:
        raise ValueError(f"Cedar evaluation errors: {result.diagnostics.errors}")
    return Decision.PERMIT if result.allowed else Decision.DENY


@dataclass(frozen=True)
class CedarSize:
    policies: int  # Cedar policies in the set, the fixed ones included
    per_call: Timing  # is_authorized with policy text and entity JSON: parses both on every call
    parse_policies: Timing  # PolicySet.from_str on the same text
    parse_entities: Timing  # Entities.from_json_str on one request's entities
    evaluate: Timing  # is_authorized with pre-parsed PolicySet and Entities handles
    engine_authz_us: float  # median of what cedarpy itself reports for authorization (whole µs)
    engine_parse_us: float  # median of what cedarpy itself reports for parsing the policies


_PER_CALL, _PARSE_POLICIES, _PARSE_ENTITIES, _EVALUATE = (
    "cedarpy per call",
    "cedarpy parse of the policies",
    "cedarpy parse of the entities",
    "cedarpy pre-parsed",
)


def _key(what: str, size: int) -> str:
    return f"{what}, {size} rules"


def _prepared() -> tuple[list[dict], list[str]]:
    """The bench requests as cedarpy takes them, and each one's entities as JSON."""
    return (
        [cedar_request(r, bench.NOW) for r in bench.REQUESTS],
        [json.dumps(entities([r], bench.HOME)) for r in bench.REQUESTS],
    )


def operations(sizes: tuple[int, ...] = bench.SIZES) -> dict[str, Calls]:
    """What this bench times, by name, per rule set: cedarpy as it is usually called (policy
    text and entity JSON, parsed every call), each parse alone, and the evaluation alone
    (pre-parsed handles)."""
    asked, one_each = _prepared()
    handles = cedarpy.Entities.from_json_str(json.dumps(entities(bench.REQUESTS, bench.HOME)))
    ops: dict[str, Calls] = {}
    for size in sizes:
        text = translate(bench.policy(size))
        policy_set = cedarpy.PolicySet.from_str(text)
        ops[_key(_PER_CALL, size)] = [
            partial(cedarpy.is_authorized, a, text, e) for a, e in zip(asked, one_each, strict=True)
        ]
        ops[_key(_PARSE_POLICIES, size)] = [partial(cedarpy.PolicySet.from_str, text)] * len(asked)
        ops[_key(_PARSE_ENTITIES, size)] = [partial(cedarpy.Entities.from_json_str, e) for e in one_each]
        ops[_key(_EVALUATE, size)] = [partial(cedarpy.is_authorized, a, policy_set, handles) for a in asked]
    return ops


def _reported(text: str, key: str, passes: int = 5) -> float:
    """The median of one of cedarpy's own per-call metrics (whole µs) over a few passes."""
    asked, one_each = _prepared()
    values = sorted(
        cedarpy.is_authorized(a, text, e).metrics[key]
        for _ in range(passes)
        for a, e in zip(asked, one_each, strict=True)
    )
    return float(values[len(values) // 2])


def result(timings: Mapping[str, Timing], sizes: tuple[int, ...] = bench.SIZES) -> dict[int, CedarSize]:
    results = {}
    for size in sizes:
        text = translate(bench.policy(size))
        results[size] = CedarSize(
            policies=len(cedarpy.PolicySet.from_str(text)),
            per_call=timings[_key(_PER_CALL, size)],
            parse_policies=timings[_key(_PARSE_POLICIES, size)],
            parse_entities=timings[_key(_PARSE_ENTITIES, size)],
            evaluate=timings[_key(_EVALUATE, size)],
            engine_authz_us=_reported(text, "authz_duration_micros"),
            engine_parse_us=_reported(text, "parse_policies_duration_micros"),
        )
    return results
