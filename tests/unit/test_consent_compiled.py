"""The compiled decision (`decide_compiled` over `CompiledRules`) decides exactly as the
reference `decide` reads the rules: the same decision, basis, decided_by, obligations and
explanation, for generated policies of up to 120 rules (every rule type and selector, empty
selector values, other patients' rules, revoked rules, periods that start or end exactly at
`now`), generated requests and moments, and for the bench's rule sets and requests; and a
compiled policy kept across moments moves from period to period as the reference does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from random import Random
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import consent_decisions as bench
from services.consent.compiled_policies import CompiledPolicies
from services.consent.decision import CompiledRules, Policy, compile_rules, decide, decide_compiled
from services.consent.domain import (
    SHAREABLE,
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

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PATIENT = people.ESKIL
OTHER = people.RAGNHILD
HPRS = (people.SIGRID_HPR, people.KRISTIN_HPR, people.BJORN_HPR, "")
ORGS = ("910000012", "910000020", "910000047", "")
AUTHORIZATIONS = ("LE", "SP", "AA", "")
HOMES = (None, "", "910000012", "910000020", "910000047")
MOMENTS = (NOW - timedelta(days=1), NOW, NOW + timedelta(days=1))
TIMES = (None, *MOMENTS)
T = TypeVar("T")


def _selector(rng: Random) -> ActorSelector | None:
    kind = rng.choice([*SelectorKind, None])
    if kind is None:
        return None
    values = selector_values(kind, HPRS, ORGS, AUTHORIZATIONS)
    return ActorSelector(kind, rng.choice(values))


def _some(rng: Random, values: Sequence[T]) -> frozenset[T]:
    return frozenset(rng.sample(values, rng.choice((0, 0, 1, 1, 2))))


def _random_rule(rng: Random, rule_type: RuleType) -> Rule:
    content = RuleContent(
        patient_id=rng.choice((PATIENT, PATIENT, PATIENT, OTHER)),
        rule_type=rule_type,
        selector=_selector(rng),
        categories=_some(rng, list(DataCategory)),
        purposes=_some(rng, list(PurposeOfUse)),
        valid_from=rng.choice(TIMES),
        valid_until=rng.choice(TIMES),
    )
    state = rng.choice((RuleState.ACTIVE, RuleState.ACTIVE, RuleState.ACTIVE, RuleState.REVOKED))
    # Now and then an id two rules share, so rules with one id (and their order) are tried too.
    rule_id = rng.choice(("r-1", "r-2")) if rng.random() < 0.05 else f"{rng.getrandbits(64):016x}"
    return Rule(rule_id, 1, content, state, Actor(ActorKind.PATIENT, pid=PATIENT), "", NOW, 1)


def random_rules(rng: Random) -> list[Rule]:
    """Up to 120 rules, mostly permits (a long policy's common case), with a few blocks,
    reservations and restrictions among them: more of those would decide nearly every request
    at their step. Every field is drawn from few values, so rules select the same actors."""
    rules = [_random_rule(rng, RuleType.PERMIT) for _ in range(rng.randint(0, 120))]
    rules += [
        _random_rule(
            rng, rng.choice((RuleType.RESERVATION, RuleType.RESTRICTION, RuleType.BLOCK_PERSON, RuleType.BLOCK_PERSON))
        )
        for _ in range(rng.randint(0, 4))
    ]
    rng.shuffle(rules)
    return rules


def random_request(rng: Random) -> AccessRequest:
    actor = Actor(
        rng.choice([*ActorKind, None, ActorKind.PERSONNEL, ActorKind.SYSTEM]),
        pid=rng.choice(("", PATIENT, OTHER)),
        name=rng.choice(("", "Sigrid")),
        client_id=rng.choice(("", "demo-ehr")),
        hpr_number=rng.choice(HPRS),
        authorization=rng.choice(AUTHORIZATIONS),
        orgnr_parent=rng.choice(ORGS),
        orgnr_child=rng.choice(ORGS),
    )
    return AccessRequest(
        rng.choice((PATIENT, PATIENT, OTHER)),
        actor,
        rng.choice((*DataCategory, *SHAREABLE, *SHAREABLE)),
        rng.choice([*PurposeOfUse, None]),
        rng.choice(("", "  ", "Bevisstløs")),
        rng.random() < 0.3,
        rng.random() < 0.3,
    )


def random_representations(rng: Random) -> tuple[Representation, ...]:
    return tuple(
        Representation(
            rng.choice(("rep-1", "rep-2")),
            PATIENT,
            rng.choice((OTHER, PATIENT)),
            rng.choice(list(RepresentationKind)),
            rng.choice(MOMENTS),
            rng.choice(TIMES),
        )
        for _ in range(rng.randint(0, 2))
    )


# Hypothesis chooses the seeds (and keeps a failing one); the policies are drawn from them by
# `random`, because Hypothesis draws a list of a hundred rules slowly and mostly short.
@settings(max_examples=examples(300))
@given(seed=st.integers(0, 2**64 - 1))
def test_the_compiled_policy_decides_every_field_as_the_reference(seed):
    rng = Random(seed)
    policy = Policy(
        PATIENT, tuple(random_rules(rng)), random_representations(rng), rng.randint(0, 5), rng.choice(HOMES)
    )
    compiled = compile_rules(policy)  # one compilation for every moment and request, as cached
    for _ in range(20):
        request, now = random_request(rng), rng.choice(MOMENTS)
        assert decide_compiled(policy, compiled, request, now) == decide(policy, request, now), (request, now)


@pytest.mark.parametrize("size", bench.SIZES)
def test_the_bench_rule_sets_are_decided_as_the_reference_decides_them(size):
    policy = bench.policy(size)
    compiled = compile_rules(policy)
    for request in bench.REQUESTS + bench.EDGE_REQUESTS:
        assert decide_compiled(policy, compiled, request, bench.NOW) == decide(policy, request, bench.NOW)


def _rule(
    rule_id: str,
    rule_type: RuleType,
    selector: ActorSelector | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Rule:
    content = RuleContent(PATIENT, rule_type, selector, valid_from=valid_from, valid_until=valid_until)
    return Rule(rule_id, 1, content, RuleState.ACTIVE, Actor(ActorKind.PATIENT, pid=PATIENT), "", NOW, 1)


NURSE = Actor(ActorKind.PERSONNEL, hpr_number=people.SIGRID_HPR, authorization="SP", orgnr_parent="910000012")


def test_a_period_starting_or_ending_at_now_is_in_force_exactly_as_the_reference_says():
    # A block from NOW until NOW + 1 day, a reservation until NOW: the periods' edges decide.
    policy = Policy(
        PATIENT,
        (
            _rule(
                "block",
                RuleType.BLOCK_PERSON,
                ActorSelector(SelectorKind.HPR_NUMBER, NURSE.hpr_number),
                valid_from=NOW,
                valid_until=NOW + timedelta(days=1),
            ),
            _rule("reservation", RuleType.RESERVATION, valid_until=NOW),
        ),
        revision=2,
    )
    compiled = compile_rules(policy)
    request = AccessRequest(PATIENT, NURSE, DataCategory.VITAL_SIGNS, PurposeOfUse.TREAT)
    seen = []
    for now in (
        NOW - timedelta(seconds=1),
        NOW,
        NOW + timedelta(days=1) - timedelta(microseconds=1),
        NOW + timedelta(days=1),
        NOW - timedelta(seconds=1),
    ):  # and back to a period decided before
        decision = decide_compiled(policy, compiled, request, now)
        assert decision == decide(policy, request, now)
        seen.append(decision.basis.name)
    assert seen == ["RESERVATION", "BLOCK", "BLOCK", "CARE_RELATIONSHIP", "RESERVATION"]
    assert len(compiled._timelines[PATIENT]._indexes) == 2  # of the four periods decided in, the latest two


def test_the_cache_compiles_a_patients_rules_once_per_revision_and_stays_within_its_limit():
    cache = CompiledPolicies(limit=2)
    first = Policy(PATIENT, (_rule("permit", RuleType.PERMIT, ActorSelector(SelectorKind.ANYONE)),), revision=1)
    compiled = cache.rules(first)
    assert isinstance(compiled, CompiledRules)
    assert cache.rules(Policy(PATIENT, first.rules, revision=1)) is compiled  # same revision: reused
    changed = Policy(PATIENT, (_rule("reservation", RuleType.RESERVATION),), revision=2)
    recompiled = cache.rules(changed)
    assert recompiled is not compiled and recompiled.revision == 2
    request = AccessRequest(PATIENT, NURSE, DataCategory.VITAL_SIGNS, PurposeOfUse.TREAT)
    assert decide_compiled(changed, recompiled, request, NOW).basis.name == "RESERVATION"
    cache.rules(Policy(OTHER, revision=1))
    cache.rules(Policy(people.SIGRID, revision=1))
    assert len(cache) == 2
    assert cache.rules(Policy(PATIENT, changed.rules, revision=2)) is not recompiled  # evicted, least recent
