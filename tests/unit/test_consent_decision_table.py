"""The access decision as a table written from DOMAIN.md §2: rule set × actor × category ×
purpose (× justification / consent at the moment) -> effect, basis, decided_by, obligations."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest

from services.consent.decision import (
    AUDIT,
    CARE_RELATIONSHIP,
    NO_CARE_RELATIONSHIP,
    NO_PURPOSE,
    NOT_THE_PATIENT,
    OWN_DATA,
    PATIENT_ONLY,
    Policy,
    decide,
)
from services.consent.domain import (
    AccessRequest,
    Actor,
    ActorSelector,
    Obligation,
    Representation,
    RepresentationKind,
    Rule,
    RuleContent,
    RuleState,
    RuleType,
    SelectorKind,
)
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ESKIL = "22750884907"  # adult
FRIDA = "26812297073"  # born 2022-01-26
MIKKEL = "45869005006"  # Frida's guardian
ASTRID = "14877503071"

C, P = DataCategory, PurposeOfUse
VITALS, SERVICES, CONSENT, LOG = C.VITAL_SIGNS, C.MUNICIPAL_SERVICES, C.CONSENT, C.ACCESS_LOG
TREAT, ETREAT, COC, BTG = P.TREAT, P.ETREAT, P.COC, P.BTG

EHR = Actor(ActorKind.SYSTEM, client_id="demo-ehr", orgnr_parent="910000012", orgnr_child="910000020")
SIGRID = Actor(ActorKind.PERSONNEL, pid="08847810026", name="Sigrid Sykepleiersen", hpr_number="990000101",
               authorization="SP", orgnr_parent="910000012", orgnr_child="910000020")
KRISTIN = Actor(ActorKind.PERSONNEL, pid="17857030036", hpr_number="990000103", authorization="LE",
                orgnr_parent="910000047", orgnr_child="910000055")
BJORN = Actor(ActorKind.PERSONNEL, pid="04838840006", hpr_number="990000104", authorization="SP",
              orgnr_parent="910000047", orgnr_child="910000063")
# A system of the same organisation as Bjørn, without a person: a block names a person only.
BAERUM_SYSTEM = Actor(ActorKind.SYSTEM, client_id="demo-ehr-baerum", orgnr_parent="910000047",
                      orgnr_child="910000063")
NO_ORG = Actor(ActorKind.PERSONNEL, hpr_number="990000107", authorization="LE")
SELF = Actor(ActorKind.PATIENT, pid=ESKIL)
FRIDA_SELF = Actor(ActorKind.PATIENT, pid=FRIDA)
GUARDIAN = Actor(ActorKind.PATIENT, pid=MIKKEL)
STRANGER = Actor(ActorKind.PATIENT, pid=ASTRID)
AUDITOR = Actor(ActorKind.AUDITOR, orgnr_parent="910000012", orgnr_child="910000020")
UNKNOWN = Actor(None, orgnr_parent="910000012")

DAY = timedelta(days=1)


def rule(rule_type: RuleType, rule_id: str, *, categories=(), purposes=(), selector: ActorSelector | None = None,
         patient: str = ESKIL, valid_from: datetime | None = None, valid_until: datetime | None = None,
         state: RuleState = RuleState.ACTIVE) -> Rule:
    content = RuleContent(patient, rule_type, selector, frozenset(categories), frozenset(purposes),
                          valid_from, valid_until)
    return Rule(rule_id, 1, content, state, SELF, "", NOW - DAY, 1)


RESERVATION = rule(RuleType.RESERVATION, "res")
RESTRICT_VITALS = rule(RuleType.RESTRICTION, "rst-vitals", categories=[VITALS])
RESTRICT_ALL = rule(RuleType.RESTRICTION, "rst-all")
BLOCK_BJORN = rule(RuleType.BLOCK_PERSON, "blk", selector=ActorSelector(SelectorKind.HPR_NUMBER, "990000104"))
PERMIT_BAERUM = rule(RuleType.PERMIT, "pmt-org", selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000047"))
PERMIT_CHILD_ORG = rule(RuleType.PERMIT, "pmt-child", selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000055"))
PERMIT_KRISTIN = rule(RuleType.PERMIT, "pmt-hpr", selector=ActorSelector(SelectorKind.HPR_NUMBER, "990000103"))
PERMIT_DOCTORS = rule(RuleType.PERMIT, "pmt-le", selector=ActorSelector(SelectorKind.AUTHORIZATION, "LE"))
PERMIT_ANYONE_VITALS_TREAT = rule(RuleType.PERMIT, "pmt-any", categories=[VITALS], purposes=[TREAT],
                                  selector=ActorSelector(SelectorKind.ANYONE))
PERMIT_BJORN = rule(RuleType.PERMIT, "pmt-bjorn", selector=ActorSelector(SelectorKind.HPR_NUMBER, "990000104"))
EXPIRED_RESERVATION = rule(RuleType.RESERVATION, "res-old", valid_until=NOW - DAY)
FUTURE_RESTRICTION = rule(RuleType.RESTRICTION, "rst-later", valid_from=NOW + DAY)
STARTED_RESTRICTION = rule(RuleType.RESTRICTION, "rst-started", valid_from=NOW - DAY, valid_until=NOW + DAY)
REVOKED_RESERVATION = rule(RuleType.RESERVATION, "res-revoked", state=RuleState.REVOKED)
OTHER_PATIENTS_RESERVATION = rule(RuleType.RESERVATION, "res-other", patient=ASTRID)
EXPIRED_PERMIT_KRISTIN = rule(RuleType.PERMIT, "pmt-old", valid_until=NOW - DAY,
                              selector=ActorSelector(SelectorKind.HPR_NUMBER, "990000103"))

GUARDIANSHIP = Representation("rep-guardian", FRIDA, MIKKEL, RepresentationKind.GUARDIAN, datetime(2022, 1, 26, tzinfo=UTC))
ENDED_ATTORNEY = Representation("rep-ended", ESKIL, ASTRID, RepresentationKind.POWER_OF_ATTORNEY,
                                NOW - 30 * DAY, NOW - DAY)
ATTORNEY = Representation("rep-attorney", ESKIL, ASTRID, RepresentationKind.POWER_OF_ATTORNEY, NOW - 30 * DAY)

FLAG = (Obligation.FLAG_FOR_AUDIT,)
OPENED = (Obligation.FLAG_FOR_AUDIT, Obligation.NOTIFY_PATIENT)
PERMIT, DENY = Decision.PERMIT, Decision.DENY
B = AccessBasis


class Row(NamedTuple):
    name: str
    rules: tuple[Rule, ...]
    actor: Actor
    category: DataCategory
    purpose: PurposeOfUse | None
    expected: tuple  # (decision, basis, decided_by, obligations)
    justification: str = ""
    consent: bool = False
    patient: str = ESKIL
    representations: tuple[Representation, ...] = ()
    now: datetime = NOW


ROWS = [
    # The law's default: care relationship with a work-related need (hpl. § 45).
    Row("default system treat", (), EHR, VITALS, TREAT, (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("default personnel services coc", (), SIGRID, SERVICES, COC,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("default emergency", (), KRISTIN, VITALS, ETREAT, (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("default break the glass is flagged", (), KRISTIN, VITALS, BTG,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), FLAG), justification="unconscious"),
    Row("no purpose", (), EHR, VITALS, None, (DENY, B.NONE, (NO_PURPOSE,), ())),
    Row("no organisation, no care relationship", (), NO_ORG, VITALS, TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    Row("auditor cannot read vitals", (), AUDITOR, VITALS, TREAT, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    Row("unknown kind", (), UNKNOWN, VITALS, TREAT, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    # Reservation: no sharing at all, no emergency override.
    Row("reservation treat", (RESERVATION,), EHR, VITALS, TREAT, (DENY, B.RESERVATION, ("res",), ())),
    Row("reservation services", (RESERVATION,), SIGRID, SERVICES, COC, (DENY, B.RESERVATION, ("res",), ())),
    Row("reservation etreat justified", (RESERVATION,), KRISTIN, VITALS, ETREAT,
        (DENY, B.RESERVATION, ("res",), ()), justification="cardiac arrest"),
    Row("reservation btg justified", (RESERVATION,), KRISTIN, VITALS, BTG,
        (DENY, B.RESERVATION, ("res",), ()), justification="unconscious"),
    Row("reservation consent at moment", (RESERVATION,), KRISTIN, VITALS, TREAT,
        (DENY, B.RESERVATION, ("res",), ()), consent=True),
    Row("reservation beats permit", (RESERVATION, PERMIT_KRISTIN), KRISTIN, VITALS, TREAT,
        (DENY, B.RESERVATION, ("res",), ())),
    Row("reservation beats restriction", (RESERVATION, RESTRICT_ALL), KRISTIN, VITALS, ETREAT,
        (DENY, B.RESERVATION, ("res",), ()), justification="stroke"),
    Row("expired reservation", (EXPIRED_RESERVATION,), EHR, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("revoked reservation", (REVOKED_RESERVATION,), EHR, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("another patient's reservation", (OTHER_PATIENTS_RESERVATION,), EHR, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    # Block of a named health person: never, not even in emergencies.
    Row("block treat", (BLOCK_BJORN,), BJORN, VITALS, TREAT, (DENY, B.BLOCK, ("blk",), ())),
    Row("block btg justified", (BLOCK_BJORN,), BJORN, SERVICES, BTG, (DENY, B.BLOCK, ("blk",), ()),
        justification="unconscious"),
    Row("block consent at moment", (BLOCK_BJORN,), BJORN, VITALS, TREAT, (DENY, B.BLOCK, ("blk",), ()), consent=True),
    Row("block beats permit naming the person", (BLOCK_BJORN, PERMIT_BJORN), BJORN, VITALS, TREAT,
        (DENY, B.BLOCK, ("blk",), ())),
    Row("block beats permit of the organisation", (BLOCK_BJORN, PERMIT_BAERUM), BJORN, VITALS, TREAT,
        (DENY, B.BLOCK, ("blk",), ())),
    Row("block spares a colleague", (BLOCK_BJORN,), KRISTIN, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("block spares a system of the same organisation", (BLOCK_BJORN,), BAERUM_SYSTEM, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    # Restriction: only consent at the moment or an emergency opens it, specially logged and shown.
    Row("restriction treat", (RESTRICT_VITALS,), EHR, VITALS, TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ())),
    Row("restriction other category", (RESTRICT_VITALS,), EHR, SERVICES, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("restriction of all", (RESTRICT_ALL,), SIGRID, SERVICES, COC, (DENY, B.RESTRICTION, ("rst-all",), ())),
    Row("restriction etreat justified", (RESTRICT_VITALS,), KRISTIN, VITALS, ETREAT,
        (PERMIT, B.EMERGENCY, ("rst-vitals",), OPENED), justification="sepsis suspected"),
    Row("restriction btg justified", (RESTRICT_ALL,), KRISTIN, SERVICES, BTG,
        (PERMIT, B.EMERGENCY, ("rst-all",), OPENED), justification="unconscious"),
    # A system answers for nobody: only a health person can open a restriction in an emergency.
    Row("restriction emergency system justified", (RESTRICT_VITALS,), EHR, VITALS, ETREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()), justification="ambulance handover"),
    Row("restriction etreat unjustified", (RESTRICT_VITALS,), KRISTIN, VITALS, ETREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ())),
    Row("restriction btg blank justification", (RESTRICT_VITALS,), KRISTIN, VITALS, BTG,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()), justification="   "),
    Row("restriction justification without emergency", (RESTRICT_VITALS,), KRISTIN, VITALS, TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()), justification="routine check"),
    Row("restriction consent at moment", (RESTRICT_VITALS,), SIGRID, VITALS, TREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, ("rst-vitals",), OPENED), consent=True),
    Row("restriction consent at moment declared by a system", (RESTRICT_VITALS,), EHR, VITALS, TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()), consent=True),
    Row("restriction consent and emergency: consent first", (RESTRICT_VITALS,), KRISTIN, VITALS, ETREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, ("rst-vitals",), OPENED), justification="stroke", consent=True),
    Row("restriction not opened by permit", (RESTRICT_VITALS, PERMIT_KRISTIN), KRISTIN, VITALS, TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ())),
    Row("two restrictions both decide", (RESTRICT_VITALS, RESTRICT_ALL), EHR, VITALS, TREAT,
        (DENY, B.RESTRICTION, ("rst-all", "rst-vitals"), ())),
    Row("opening a restriction gives no basis: no organisation", (RESTRICT_VITALS,), NO_ORG, VITALS, ETREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()), justification="collapsed"),
    Row("a permit for another purpose gives no basis in an emergency", (RESTRICT_VITALS, PERMIT_ANYONE_VITALS_TREAT),
        NO_ORG, VITALS, BTG, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()), justification="collapsed"),
    Row("a permit for the purpose gives the basis, consent opens", (RESTRICT_VITALS, PERMIT_ANYONE_VITALS_TREAT),
        NO_ORG, VITALS, TREAT, (PERMIT, B.CONSENT_AT_MOMENT, ("rst-vitals",), OPENED), consent=True),
    Row("future restriction not yet in force", (FUTURE_RESTRICTION,), EHR, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("started restriction in force", (STARTED_RESTRICTION,), EHR, VITALS, TREAT,
        (DENY, B.RESTRICTION, ("rst-started",), ())),
    # Explicit permits: widen access for the selected actors.
    Row("permit by organisation parent", (PERMIT_BAERUM,), KRISTIN, VITALS, TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-org",), ())),
    Row("permit by organisation child", (PERMIT_CHILD_ORG,), KRISTIN, VITALS, TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-child",), ())),
    Row("permit by hpr number", (PERMIT_KRISTIN,), KRISTIN, SERVICES, COC,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-hpr",), ())),
    Row("permit by authorization", (PERMIT_DOCTORS,), KRISTIN, VITALS, TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-le",), ())),
    Row("permit by authorization, other profession", (PERMIT_DOCTORS,), SIGRID, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("permit anyone for vitals and treatment", (PERMIT_ANYONE_VITALS_TREAT,), NO_ORG, VITALS, TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-any",), ())),
    Row("permit anyone, other purpose", (PERMIT_ANYONE_VITALS_TREAT,), NO_ORG, VITALS, COC,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    Row("permit anyone, other category", (PERMIT_ANYONE_VITALS_TREAT,), NO_ORG, SERVICES, TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    Row("expired permit", (EXPIRED_PERMIT_KRISTIN,), KRISTIN, VITALS, TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row("permit of btg still flagged", (PERMIT_KRISTIN,), KRISTIN, VITALS, BTG,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-hpr",), FLAG), justification="unconscious"),
    # The patient's own records: rules, access log; patients and representatives.
    Row("own sharing rules", (RESERVATION,), SELF, CONSENT, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ())),
    Row("own access log", (), SELF, LOG, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ())),
    Row("own vitals despite reservation", (RESERVATION,), SELF, VITALS, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ())),
    Row("another patient's rules", (), STRANGER, CONSENT, None, (DENY, B.NONE, (NOT_THE_PATIENT,), ())),
    Row("guardian of a young child", (), GUARDIAN, CONSENT, None,
        (PERMIT, B.REPRESENTATIVE, ("rep-guardian",), ()), patient=FRIDA, representations=(GUARDIANSHIP,)),
    Row("guardian reads the child's access log", (), GUARDIAN, LOG, None,
        (PERMIT, B.REPRESENTATIVE, ("rep-guardian",), ()), patient=FRIDA, representations=(GUARDIANSHIP,)),
    Row("guardian no longer from 12", (), GUARDIAN, CONSENT, None, (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        patient=FRIDA, representations=(GUARDIANSHIP,), now=datetime(2034, 1, 26, tzinfo=UTC)),
    Row("the child at 12 herself", (), FRIDA_SELF, CONSENT, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ()),
        patient=FRIDA, now=datetime(2034, 1, 26, tzinfo=UTC)),
    Row("guardian of another patient", (), GUARDIAN, CONSENT, None, (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        representations=(GUARDIANSHIP,)),
    Row("power of attorney", (), STRANGER, CONSENT, None,
        (PERMIT, B.REPRESENTATIVE, ("rep-attorney",), ()), representations=(ATTORNEY,)),
    Row("ended power of attorney", (), STRANGER, LOG, None, (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        representations=(ENDED_ATTORNEY,)),
    Row("auditor reads access log", (), AUDITOR, LOG, None, (PERMIT, B.AUDIT, (AUDIT,), ())),
    Row("auditor cannot read rules", (), AUDITOR, CONSENT, None, (DENY, B.NONE, (PATIENT_ONLY,), ())),
    Row("personnel cannot read rules", (), SIGRID, CONSENT, TREAT, (DENY, B.NONE, (PATIENT_ONLY,), ())),
    Row("system cannot read the access log", (), EHR, LOG, TREAT, (DENY, B.NONE, (PATIENT_ONLY,), ())),
    Row("personnel with the patient's pid is not the patient", (), Actor(ActorKind.PERSONNEL, pid=ESKIL), CONSENT,
        TREAT, (DENY, B.NONE, (PATIENT_ONLY,), ())),
]


def test_the_table_is_large_enough_and_names_are_unique():
    assert len(ROWS) >= 40
    assert len({row.name for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_decision_table(row: Row):
    policy = Policy(row.patient, row.rules, row.representations, revision=7)
    request = AccessRequest(row.patient, row.actor, row.category, row.purpose, row.justification, row.consent)
    decision = decide(policy, request, row.now)
    assert (decision.decision, decision.basis, decision.decided_by, decision.obligations) == row.expected
    # The explanation ends in the same decision and never shows a person number.
    assert decision.explanation[-1].startswith("Decision: " + ("permit" if row.expected[0] is PERMIT else "deny"))
    assert not any(re.search(r"\d{11}", line) for line in decision.explanation), decision.explanation


def test_explanation_walks_the_steps_in_plain_language():
    policy = Policy(ESKIL, (RESTRICT_VITALS, PERMIT_KRISTIN), revision=4)
    request = AccessRequest(ESKIL, KRISTIN, VITALS, ETREAT, "sepsis suspected")
    assert decide(policy, request, NOW).explanation == (
        "Asked: vital signs for emergency treatment (ETREAT) with a justification by health personnel "
        "(HPR number 990000103, authorization LE) at organisation 910000047/910000055.",
        "The patient's policy revision 4 has 2 rules in force.",
        "No reservation is in force.",
        "No block names this health person.",
        "The patient has restricted vital signs (rule rst-vitals).",
        "A health person declares an emergency with a justification, which opens the restriction.",
        "Decision: permit on emergency; the access is flagged for audit and the patient is notified.",
    )
