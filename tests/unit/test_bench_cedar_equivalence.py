"""The Cedar translation in bench/ decides like decide(): for every bench rule set and request,
and for generated rule sets and requests. This is what makes the bench's comparison honest."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import consent_decisions as bench
from bench.cedar_policies import cedar_decision, translate
from services.consent.decision import Policy, decide
from services.consent.domain import (
    AccessRequest,
    ActorSelector,
    Representation,
    RepresentationKind,
    Rule,
    RuleContent,
    RuleState,
    RuleType,
    SelectorKind,
)
from services.platform.actors import Actor
from services.platform.vocabulary import ActorKind, DataCategory, PurposeOfUse
from tests.fixtures import people
from tests.fixtures.hypothesis_profiles import examples
from tests.fixtures.selector_values import selector_values

NOW = bench.NOW
PATIENT = bench.PATIENT
OTHER = people.RAGNHILD
MS, VS = DataCategory.MUNICIPAL_SERVICES, DataCategory.VITAL_SIGNS

# Checked, not timed: every bench request as a write, both categories each, so every actor
# writes municipal services (the data holder or not) and vital signs (any organisation, none,
# blocked, restricted, named by a permit); and municipal services read from outside the
# patient's home organisation (plain, justified emergency, consent at the moment, and by
# someone of no organisation, whom nothing opens them to).
WRITES = tuple(
    replace(r, write=True, category=c)
    for r in bench.REQUESTS + bench.EDGE_REQUESTS
    for c in dict.fromkeys((r.category, MS, VS))
)
OUTSIDE_HOME = (
    bench.ask(bench.HOSPITAL, MS, PurposeOfUse.TREAT),
    bench.ask(bench.DOCTOR, MS, PurposeOfUse.ETREAT, "Bevisstløs ved ankomst"),
    bench.ask(bench.DOCTOR, MS, PurposeOfUse.BTG),
    bench.ask(bench.DOCTOR, MS, PurposeOfUse.COC, consent_at_moment=True),
    bench.ask(bench.HOSPITAL, MS, PurposeOfUse.COC, consent_at_moment=True),
    bench.ask(bench.PHYSIO, MS, PurposeOfUse.TREAT, consent_at_moment=True),
)


@pytest.mark.parametrize("size", bench.SIZES)
@pytest.mark.parametrize("request_", bench.REQUESTS + bench.EDGE_REQUESTS + WRITES + OUTSIDE_HOME, ids=repr)
def test_cedar_decides_every_bench_request_as_decide_does(size, request_):
    policy = bench.policy(size)
    assert cedar_decision(policy, request_, NOW) is decide(policy, request_, NOW).decision


def test_the_checked_requests_reach_both_sides_of_the_write_and_home_organisation_rules():
    """The extra requests above are decided by each write rule and each outcome of the home
    organisation, so the check covers them; vital signs are written from outside the home
    organisation, despite the restriction and without the permit as basis."""
    policy = bench.policy(10)
    decided = {r: decide(policy, r, NOW) for r in WRITES + OUTSIDE_HOME}
    found = {(d.decision.name, d.decided_by) for d in decided.values()}
    assert found >= {
        ("PERMIT", ("default:data-holder",)),
        ("DENY", ("default:not-data-holder",)),
        ("PERMIT", ("default:outside-parent-organisation",)),
        ("DENY", ("default:outside-parent-organisation",)),
    }
    vital_writes = {
        (r.actor.name or r.actor.client_name, d.decision.name, d.decided_by)
        for r, d in decided.items()
        if r.write and r.category is VS and r.purpose is not None
    }
    assert vital_writes >= {
        ("Demo – Nordlandssykehuset", "PERMIT", ("default:care-relationship",)),  # outside the home, restricted
        ("Marte Mottaksen", "PERMIT", ("default:care-relationship",)),
        ("Sigrid Sykepleiersen", "PERMIT", ("default:care-relationship",)),  # inside the home
        ("Vilde Vakthavendesen", "DENY", ("default:no-care-relationship",)),  # named by a permit, no organisation
        ("Anders Ambulansesen", "DENY", ("default:no-care-relationship",)),  # no organisation
        ("Bjørn Beredskapsen", "DENY", ("rule-bench-0007",)),  # blocked
    }


@pytest.mark.parametrize("size", bench.SIZES)
def test_the_last_rule_of_every_bench_rule_set_decides_a_request(size):
    policy = bench.policy(size)
    assert len(policy.rules) == size
    decided_by = {rule_id for r in bench.REQUESTS for rule_id in decide(policy, r, NOW).decided_by}
    assert policy.rules[-1].rule_id in decided_by


def test_the_timed_requests_all_reach_the_rules():
    """A policy without rules decides them by the care relationship, for want of one or by the
    home organisation (all after the rules), never earlier."""
    reached = {decide(Policy(PATIENT, home_orgnr=bench.HOME), r, NOW).decided_by for r in bench.REQUESTS}
    assert reached <= {
        ("default:care-relationship",),
        ("default:no-care-relationship",),
        ("default:outside-parent-organisation",),
    }


def test_representations_are_refused_rather_than_silently_dropped():
    rep = Representation("rep-1", PATIENT, people.SIGRID, RepresentationKind.POWER_OF_ATTORNEY, NOW)
    with pytest.raises(ValueError, match="representations"):
        translate(Policy(PATIENT, representations=(rep,)))


@pytest.mark.parametrize("rule_type", [RuleType.PERMIT, RuleType.BLOCK_PERSON])
@pytest.mark.parametrize("kind", list(SelectorKind))
def test_a_selector_with_an_empty_value_selects_as_decide_says(rule_type, kind):
    """An empty HPR number selects nobody, an empty organisation anyone without a child
    organisation; found rarely by the property below, so checked here every time."""
    rule = Rule(
        "r",
        1,
        RuleContent(PATIENT, rule_type, ActorSelector(kind, "")),
        RuleState.ACTIVE,
        Actor(ActorKind.PATIENT, pid=PATIENT),
        "",
        NOW,
        1,
    )
    policy = Policy(PATIENT, (rule,))
    for actor in (Actor(ActorKind.PERSONNEL), Actor(ActorKind.SYSTEM, orgnr_parent="910000012")):
        request = AccessRequest(PATIENT, actor, DataCategory.VITAL_SIGNS, PurposeOfUse.TREAT)
        assert cedar_decision(policy, request, NOW) is decide(policy, request, NOW).decision


# Generated rule sets: every type and selector, empty selector values, periods at the edges;
# home organisations unknown (None, ""), an actor's parent, an actor's child, or nobody's.
HPRS = ("", people.SIGRID_HPR, people.BJORN_HPR)
ORGS = ("", "910000012", "910000020", "910000047")
HOMES = (None, "", "910000012", "910000020", "910000071")
AUTHORIZATIONS = ("", "LE", "SP")
times = st.sampled_from((None, NOW - timedelta(days=1), NOW, NOW + timedelta(days=1)))
category_sets = st.frozensets(st.sampled_from(list(DataCategory)), max_size=2)
purpose_sets = st.frozensets(st.sampled_from(list(PurposeOfUse)), max_size=2)


@st.composite
def selectors(draw) -> ActorSelector | None:
    kind = draw(st.sampled_from([*SelectorKind, None]))
    if kind is None:
        return None
    values = selector_values(kind, HPRS, ORGS, AUTHORIZATIONS)
    return ActorSelector(kind, draw(st.sampled_from(values)))


@st.composite
def rules(draw) -> Rule:
    content = RuleContent(
        patient_id=draw(st.sampled_from((PATIENT, PATIENT, OTHER))),
        rule_type=draw(st.sampled_from(list(RuleType))),
        selector=draw(selectors()),
        categories=draw(category_sets),
        purposes=draw(purpose_sets),
        valid_from=draw(times),
        valid_until=draw(times),
    )
    state = draw(st.sampled_from((RuleState.ACTIVE, RuleState.ACTIVE, RuleState.REVOKED)))
    return Rule(draw(st.uuids()).hex, 1, content, state, Actor(ActorKind.PATIENT, pid=PATIENT), "", NOW, 1)


actors = st.builds(
    Actor,
    kind=st.sampled_from([*ActorKind, None]),
    pid=st.sampled_from(("", PATIENT, OTHER)),
    hpr_number=st.sampled_from(HPRS),
    authorization=st.sampled_from(AUTHORIZATIONS),
    orgnr_parent=st.sampled_from(("", "910000012", "910000047")),
    orgnr_child=st.sampled_from(("", "910000020")),
)
requests = st.builds(
    AccessRequest,
    patient_id=st.just(PATIENT),
    actor=actors,
    category=st.sampled_from(list(DataCategory)),
    purpose=st.sampled_from([*PurposeOfUse, None]),
    justification=st.sampled_from(("", "  ", "Bevisstløs")),
    consent_at_moment=st.booleans(),
    write=st.booleans(),
)


@settings(max_examples=examples(400))
@given(rule_set=st.lists(rules(), max_size=6).map(tuple), request_=requests, home=st.sampled_from(HOMES))
def test_cedar_decides_generated_rule_sets_as_decide_does(rule_set, request_, home):
    policy = Policy(PATIENT, rule_set, home_orgnr=home)
    assert cedar_decision(policy, request_, NOW) is decide(policy, request_, NOW).decision
