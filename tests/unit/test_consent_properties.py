"""Properties of the access decision over generated rule sets, actors, categories, purposes,
reads and writes and home organisations: permits only ever widen access, and never past a
reservation, a block or a restriction; only the data holder writes municipal services; vital-sign
writes never depend on the home organisation, restrictions or permits; municipal services are
read by default only within the patient's home organisation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.consent.decision import Policy, decide
from services.consent.domain import (
    AccessRequest,
    ActorSelector,
    Obligation,
    Rule,
    RuleContent,
    RuleState,
    RuleType,
    SelectorKind,
)
from services.platform.actors import Actor
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse
from tests.fixtures import people
from tests.fixtures.hypothesis_profiles import examples
from tests.fixtures.selector_values import selector_values

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PATIENT = people.ESKIL
OTHER = people.RAGNHILD
HPRS = (people.SIGRID_HPR, people.KRISTIN_HPR, people.BJORN_HPR)
ORGS = ("910000012", "910000020", "910000047", "910000055")
AUTHORIZATIONS = ("LE", "SP", "AA")
SHARED = (DataCategory.MUNICIPAL_SERVICES, DataCategory.VITAL_SIGNS)

bounds = st.one_of(st.none(), st.sampled_from((NOW - timedelta(days=2), NOW + timedelta(days=2))))


@st.composite
def selectors(draw, rule_type: RuleType) -> ActorSelector | None:
    if rule_type is RuleType.BLOCK_PERSON:
        return ActorSelector(SelectorKind.HPR_NUMBER, draw(st.sampled_from(HPRS)))
    if rule_type is not RuleType.PERMIT:
        return None
    kind = draw(st.sampled_from(list(SelectorKind)))
    values = selector_values(kind, HPRS, ORGS, AUTHORIZATIONS)
    return ActorSelector(kind, draw(st.sampled_from(values)))


ANY_TYPE = st.sampled_from(list(RuleType))
ANY_CATEGORY = st.sampled_from(list(DataCategory))
ANY_PURPOSE = st.sampled_from([*PurposeOfUse, None])
READ_OR_WRITE = st.booleans()


@st.composite
def rules(draw, types=ANY_TYPE, rule_id: str | None = None) -> Rule:
    rule_type = draw(types)
    whole = rule_type in (RuleType.RESERVATION, RuleType.BLOCK_PERSON)
    content = RuleContent(
        patient_id=draw(st.sampled_from((PATIENT, PATIENT, PATIENT, OTHER))),
        rule_type=rule_type,
        selector=draw(selectors(rule_type)),
        categories=frozenset() if whole else frozenset(draw(st.sets(st.sampled_from(SHARED)))),
        purposes=frozenset() if whole else frozenset(draw(st.sets(st.sampled_from(list(PurposeOfUse))))),
        valid_from=draw(bounds),
        valid_until=draw(bounds),
    )
    state = draw(st.sampled_from((RuleState.ACTIVE, RuleState.ACTIVE, RuleState.REVOKED)))
    return Rule(
        rule_id or draw(st.uuids()).hex,
        1,
        content,
        state,
        Actor(ActorKind.PATIENT, pid=PATIENT),
        "",
        NOW - timedelta(days=3),
        1,
    )


rule_sets = st.lists(rules(), max_size=6).map(tuple)
permits = st.lists(rules(st.just(RuleType.PERMIT)), min_size=1, max_size=3).map(tuple)
deny_rules = st.lists(
    rules(st.sampled_from((RuleType.RESERVATION, RuleType.RESTRICTION, RuleType.BLOCK_PERSON))), max_size=2
).map(tuple)

actors = st.builds(
    Actor,
    kind=st.sampled_from([*ActorKind, None]),
    pid=st.sampled_from(("", PATIENT, OTHER, people.SIGRID)),
    hpr_number=st.sampled_from(("", *HPRS)),
    authorization=st.sampled_from(("", *AUTHORIZATIONS)),
    orgnr_parent=st.sampled_from(("", "910000012", "910000047")),
    orgnr_child=st.sampled_from(("", "910000020", "910000055")),
)
care_actors = st.builds(
    Actor,
    kind=st.sampled_from((ActorKind.SYSTEM, ActorKind.PERSONNEL)),
    hpr_number=st.sampled_from(HPRS),
    authorization=st.sampled_from(AUTHORIZATIONS),
    orgnr_parent=st.sampled_from(("", "910000012", "910000047")),
    orgnr_child=st.sampled_from(("", "910000020", "910000055")),
)


@st.composite
def requests(
    draw, actor_strategy=actors, categories=ANY_CATEGORY, purposes=ANY_PURPOSE, writes=READ_OR_WRITE
) -> AccessRequest:
    return AccessRequest(
        PATIENT,
        draw(actor_strategy),
        draw(categories),
        draw(purposes),
        draw(st.sampled_from(("", " ", "unconscious"))),
        draw(st.booleans()),
        draw(writes),
    )


# The patient's home organisation: Bodø kommune, Bærum kommune or unknown.
homes = st.sampled_from((None, "910000012", "910000047"))


def outcome(rule_set: tuple[Rule, ...], request: AccessRequest, home: str | None = None):
    decision = decide(Policy(PATIENT, rule_set, home_orgnr=home), request, NOW)
    return decision.decision, decision.basis, decision.decided_by


FINAL = (AccessBasis.RESERVATION, AccessBasis.BLOCK, AccessBasis.RESTRICTION)


@given(rule_set=rule_sets, added=permits, request=requests(), home=homes)
def test_adding_permits_never_lifts_a_reservation_block_or_restriction(rule_set, added, request, home):
    before = outcome(rule_set, request, home)
    if before[1] in FINAL:
        assert outcome(rule_set + added, request, home) == before


@given(rule_set=rule_sets, added=permits, request=requests(), home=homes)
def test_adding_permits_never_turns_a_permit_into_a_deny(rule_set, added, request, home):
    if outcome(rule_set, request, home)[0] is Decision.PERMIT:
        assert outcome(rule_set + added, request, home)[0] is Decision.PERMIT


@settings(max_examples=examples(100))
@given(
    rule_set=rule_sets,
    added=permits,
    request=requests(care_actors, st.sampled_from(SHARED), st.sampled_from(list(PurposeOfUse))),
    deny=st.sampled_from((RuleType.RESERVATION, RuleType.BLOCK_PERSON)),
    home=homes,
)
def test_a_reservation_or_block_in_force_holds_whatever_is_permitted(rule_set, added, request, deny, home):
    selector = (
        ActorSelector(SelectorKind.HPR_NUMBER, request.actor.hpr_number) if deny is RuleType.BLOCK_PERSON else None
    )
    forced = Rule(
        "zz-deny", 1, RuleContent(PATIENT, deny, selector), RuleState.ACTIVE, Actor(ActorKind.PATIENT), "", NOW, 1
    )
    before = outcome(rule_set + (forced,), request, home)
    assert before[0] is Decision.DENY and before[1] in (AccessBasis.RESERVATION, AccessBasis.BLOCK)
    assert outcome(rule_set + (forced,) + added, request, home) == before


@given(rule_set=rule_sets, permit=rules(st.just(RuleType.PERMIT), "p-revoked"), request=requests(), home=homes)
def test_revoking_a_permit_never_widens_access(rule_set, permit, request, home):
    with_permit = rule_set + (replace(permit, state=RuleState.ACTIVE),)
    revoked = rule_set + (replace(permit, version=2, state=RuleState.REVOKED),)
    if outcome(revoked, request, home)[0] is Decision.PERMIT:
        assert outcome(with_permit, request, home)[0] is Decision.PERMIT


@given(rule_set=rule_sets, added=deny_rules, request=requests(), home=homes)
def test_adding_a_deny_rule_never_widens_access(rule_set, added, request, home):
    if outcome(rule_set + added, request, home)[0] is Decision.PERMIT:
        assert outcome(rule_set, request, home)[0] is Decision.PERMIT


@settings(max_examples=examples(100))
@given(rule_set=rule_sets, request=requests(), home=homes)
def test_explanations_never_show_a_person_number(rule_set, request, home):
    decision = decide(Policy(PATIENT, rule_set, home_orgnr=home), request, NOW)
    assert decision.explanation and decision.explanation[-1].startswith("Decision: ")
    # Generated rule ids are hex and may hold digit runs; the person numbers in play may not appear.
    shown = "\n".join(decision.explanation)
    assert not any(pid in shown for pid in (PATIENT, OTHER, request.actor.pid) if pid)


SHARING = (RuleType.RESTRICTION, RuleType.PERMIT)


@given(rule_set=rule_sets, request=requests(writes=st.just(True)), home=homes)
def test_a_write_never_depends_on_restrictions_or_permits(rule_set, request, home):
    without = tuple(r for r in rule_set if r.rule_type not in SHARING)
    assert outcome(rule_set, request, home) == outcome(without, request, home)


@given(
    rule_set=rule_sets,
    request=requests(categories=st.just(DataCategory.MUNICIPAL_SERVICES), writes=st.just(True)),
    home=homes,
)
def test_only_the_data_holder_or_the_patient_writes_municipal_services(rule_set, request, home):
    decision = decide(Policy(PATIENT, rule_set, home_orgnr=home), request, NOW)
    if decision.decision is Decision.PERMIT and request.actor.kind is not ActorKind.PATIENT:
        assert home is not None and request.actor.orgnr_parent == home
        assert decision.decided_by == ("default:data-holder",)
        assert Obligation.NOTIFY_PATIENT not in decision.obligations  # a write opens nothing


VITALS_WRITES = requests(categories=st.just(DataCategory.VITAL_SIGNS), writes=st.just(True))


@given(rule_set=rule_sets, request=VITALS_WRITES, home=homes)
def test_vital_sign_writes_never_depend_on_the_home_organisation_restrictions_or_permits(rule_set, request, home):
    without = tuple(r for r in rule_set if r.rule_type not in SHARING)
    assert outcome(rule_set, request, home) == outcome(without, request, None)


@given(
    rule_set=st.lists(rules(st.sampled_from(SHARING)), max_size=6).map(tuple),
    request=requests(
        care_actors, st.just(DataCategory.VITAL_SIGNS), st.sampled_from(list(PurposeOfUse)), st.just(True)
    ),
    home=homes,
)
def test_vital_signs_are_recorded_by_any_organisation_and_by_nobody_without_one(rule_set, request, home):
    decision = decide(Policy(PATIENT, rule_set, home_orgnr=home), request, NOW)
    if request.actor.orgnr_parent:
        assert (decision.decision, decision.basis, decision.decided_by) == (
            Decision.PERMIT,
            AccessBasis.CARE_RELATIONSHIP,
            ("default:care-relationship",),
        )
        assert Obligation.NOTIFY_PATIENT not in decision.obligations  # a write opens nothing
    else:
        assert (decision.decision, decision.basis, decision.decided_by) == (
            Decision.DENY,
            AccessBasis.NONE,
            ("default:no-care-relationship",),
        )


@given(
    rule_set=rule_sets,
    request=requests(categories=st.just(DataCategory.MUNICIPAL_SERVICES), writes=st.just(False)),
    home=homes,
)
def test_municipal_services_are_read_by_default_only_within_the_home_organisation(rule_set, request, home):
    decision = decide(Policy(PATIENT, rule_set, home_orgnr=home), request, NOW)
    if decision.decision is Decision.PERMIT and decision.basis is AccessBasis.CARE_RELATIONSHIP:
        assert home is not None and request.actor.orgnr_parent == home
    if decision.decided_by == ("default:outside-parent-organisation",) and decision.decision is Decision.PERMIT:
        assert request.actor.kind is ActorKind.PERSONNEL and request.actor.orgnr_parent != home
        assert decision.obligations[-2:] == (Obligation.FLAG_FOR_AUDIT, Obligation.NOTIFY_PATIENT)


@given(
    rule_set=rule_sets,
    request=requests(categories=st.just(DataCategory.VITAL_SIGNS), writes=st.just(False)),
    home=homes,
)
def test_vital_signs_reads_never_depend_on_the_home_organisation(rule_set, request, home):
    assert outcome(rule_set, request, home) == outcome(rule_set, request, None)
