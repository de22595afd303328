"""The access decision as a table written from docs/consent.md "How consent decides": rule set × actor × category ×
purpose (× justification / consent at the moment / write / the patient's home organisation)
-> effect, basis, decided_by, obligations."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest

from services.consent.decision import (
    AUDIT,
    CARE_RELATIONSHIP,
    DATA_HOLDER,
    NO_CARE_RELATIONSHIP,
    NO_PURPOSE,
    NOT_DATA_HOLDER,
    NOT_THE_PATIENT,
    OUTSIDE_PARENT_ORGANISATION,
    OWN_DATA,
    PATIENT_ONLY,
    Policy,
    decide,
)
from services.consent.domain import (
    AccessRequest,
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
from services.platform.actors import Actor
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse
from tests.fixtures import people

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODO, BAERUM = "910000012", "910000047"  # the legal entities (parent organisations) of the two municipalities

C, P = DataCategory, PurposeOfUse
VITALS, SERVICES, CONSENT, LOG = C.VITAL_SIGNS, C.MUNICIPAL_SERVICES, C.CONSENT, C.ACCESS_LOG
TREAT, ETREAT, COC, BTG = P.TREAT, P.ETREAT, P.COC, P.BTG

EHR = Actor(ActorKind.SYSTEM, client_id="demo-ehr", orgnr_parent="910000012", orgnr_child="910000020")
SIGRID = Actor(
    ActorKind.PERSONNEL,
    pid=people.SIGRID,
    name="Sigrid Sykepleiersen",
    hpr_number=people.SIGRID_HPR,
    authorization="SP",
    orgnr_parent="910000012",
    orgnr_child="910000020",
)
KRISTIN = Actor(
    ActorKind.PERSONNEL,
    pid=people.KRISTIN,
    hpr_number=people.KRISTIN_HPR,
    authorization="LE",
    orgnr_parent="910000047",
    orgnr_child="910000055",
)
BJORN = Actor(
    ActorKind.PERSONNEL,
    pid=people.BJORN,
    hpr_number=people.BJORN_HPR,
    authorization="SP",
    orgnr_parent="910000047",
    orgnr_child="910000063",
)
# A system of the same organisation as Bjørn, without a person: a block names a person only.
BAERUM_SYSTEM = Actor(ActorKind.SYSTEM, client_id="demo-ehr-baerum", orgnr_parent="910000047", orgnr_child="910000063")
NO_ORG = Actor(ActorKind.PERSONNEL, hpr_number=people.VILDE_HPR, authorization="LE")
# Nordlandssykehuset: in Bodø, but not part of Bodø kommune.
HOSPITAL = Actor(
    ActorKind.PERSONNEL,
    name="Hanne Helsesen",
    hpr_number="990000108",
    authorization="LE",
    orgnr_parent="910000071",
    orgnr_child="910000098",
)
HOSPITAL_SYSTEM = Actor(ActorKind.SYSTEM, client_id="demo-hospital", orgnr_parent="910000071", orgnr_child="910000098")
# The acute chain outside the patient's municipality: the hospital trust's ambulance, Bodø's inter-municipal legevakt.
PARAMEDIC = Actor(
    ActorKind.PERSONNEL,
    name="Anders Ambulansesen",
    hpr_number=people.ANDERS_HPR,
    authorization="AA",
    orgnr_parent="910000071",
    orgnr_child="910000098",
)
LEGEVAKT = Actor(
    ActorKind.PERSONNEL,
    name="Lars Legevaktsen",
    hpr_number=people.LARS_HPR,
    authorization="LE",
    orgnr_parent="910000012",
    orgnr_child="910000039",
)
# A person of the child organisation only: the parent organisation decides, not the child.
SIGRID_CHILD_ONLY = replace(SIGRID, orgnr_parent="")
SELF = Actor(ActorKind.PATIENT, pid=people.ESKIL)
FRIDA_SELF = Actor(ActorKind.PATIENT, pid=people.FRIDA)
GUARDIAN = Actor(ActorKind.PATIENT, pid=people.MIKKEL)
STRANGER = Actor(ActorKind.PATIENT, pid=people.ASTRID)
AUDITOR = Actor(ActorKind.AUDITOR, orgnr_parent="910000012", orgnr_child="910000020")
UNKNOWN = Actor(None, orgnr_parent="910000012")

DAY = timedelta(days=1)


def rule(
    rule_type: RuleType,
    rule_id: str,
    *,
    categories=(),
    purposes=(),
    selector: ActorSelector | None = None,
    patient: str = people.ESKIL,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    state: RuleState = RuleState.ACTIVE,
) -> Rule:
    content = RuleContent(
        patient, rule_type, selector, frozenset(categories), frozenset(purposes), valid_from, valid_until
    )
    return Rule(rule_id, 1, content, state, SELF, "", NOW - DAY, 1)


RESERVATION = rule(RuleType.RESERVATION, "res")
RESTRICT_VITALS = rule(RuleType.RESTRICTION, "rst-vitals", categories=[VITALS])
RESTRICT_ALL = rule(RuleType.RESTRICTION, "rst-all")
BLOCK_BJORN = rule(RuleType.BLOCK_PERSON, "blk", selector=ActorSelector(SelectorKind.HPR_NUMBER, people.BJORN_HPR))
PERMIT_BAERUM = rule(RuleType.PERMIT, "pmt-org", selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000047"))
PERMIT_CHILD_ORG = rule(RuleType.PERMIT, "pmt-child", selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000055"))
PERMIT_KRISTIN = rule(RuleType.PERMIT, "pmt-hpr", selector=ActorSelector(SelectorKind.HPR_NUMBER, people.KRISTIN_HPR))
PERMIT_DOCTORS = rule(RuleType.PERMIT, "pmt-le", selector=ActorSelector(SelectorKind.AUTHORIZATION, "LE"))
PERMIT_ANYONE_VITALS_TREAT = rule(
    RuleType.PERMIT, "pmt-any", categories=[VITALS], purposes=[TREAT], selector=ActorSelector(SelectorKind.ANYONE)
)
PERMIT_HOSPITAL = rule(RuleType.PERMIT, "pmt-hospital", selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000071"))
PERMIT_HOSPITAL_VITALS = rule(
    RuleType.PERMIT,
    "pmt-hospital-vitals",
    categories=[VITALS],
    selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000071"),
)
PERMIT_HOSPITAL_COC = rule(
    RuleType.PERMIT, "pmt-hospital-coc", purposes=[COC], selector=ActorSelector(SelectorKind.ORG_NUMBER, "910000071")
)
ASTRID_BLOCKS_BJORN = rule(
    RuleType.BLOCK_PERSON,
    "blk",
    patient=people.ASTRID,
    selector=ActorSelector(SelectorKind.HPR_NUMBER, people.BJORN_HPR),
)
RESTRICT_SERVICES = rule(RuleType.RESTRICTION, "rst-services", categories=[SERVICES])
PERMIT_BJORN = rule(RuleType.PERMIT, "pmt-bjorn", selector=ActorSelector(SelectorKind.HPR_NUMBER, people.BJORN_HPR))
EXPIRED_RESERVATION = rule(RuleType.RESERVATION, "res-old", valid_until=NOW - DAY)
FUTURE_RESTRICTION = rule(RuleType.RESTRICTION, "rst-later", valid_from=NOW + DAY)
STARTED_RESTRICTION = rule(RuleType.RESTRICTION, "rst-started", valid_from=NOW - DAY, valid_until=NOW + DAY)
REVOKED_RESERVATION = rule(RuleType.RESERVATION, "res-revoked", state=RuleState.REVOKED)
OTHER_PATIENTS_RESERVATION = rule(RuleType.RESERVATION, "res-other", patient=people.ASTRID)
EXPIRED_PERMIT_KRISTIN = rule(
    RuleType.PERMIT,
    "pmt-old",
    valid_until=NOW - DAY,
    selector=ActorSelector(SelectorKind.HPR_NUMBER, people.KRISTIN_HPR),
)

GUARDIANSHIP = Representation(
    "rep-guardian", people.FRIDA, people.MIKKEL, RepresentationKind.GUARDIAN, datetime(2022, 1, 26, tzinfo=UTC)
)
ENDED_ATTORNEY = Representation(
    "rep-ended", people.ESKIL, people.ASTRID, RepresentationKind.POWER_OF_ATTORNEY, NOW - 30 * DAY, NOW - DAY
)
ATTORNEY = Representation(
    "rep-attorney", people.ESKIL, people.ASTRID, RepresentationKind.POWER_OF_ATTORNEY, NOW - 30 * DAY
)

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
    patient: str = people.ESKIL
    representations: tuple[Representation, ...] = ()
    now: datetime = NOW
    home: str | None = BODO  # Eskil lives in Bodø
    write: bool = False


ROWS = [
    # The law's default: care relationship with a work-related need (hpl. § 45).
    Row("default system treat", (), EHR, VITALS, TREAT, (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row(
        "default personnel services coc",
        (),
        SIGRID,
        SERVICES,
        COC,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row("default emergency", (), KRISTIN, VITALS, ETREAT, (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ())),
    Row(
        "default break the glass is flagged",
        (),
        KRISTIN,
        VITALS,
        BTG,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), FLAG),
        justification="unconscious",
    ),
    Row("no purpose", (), EHR, VITALS, None, (DENY, B.NONE, (NO_PURPOSE,), ())),
    Row(
        "no organisation, no care relationship", (), NO_ORG, VITALS, TREAT, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())
    ),
    Row("auditor cannot read vitals", (), AUDITOR, VITALS, TREAT, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    Row("unknown kind", (), UNKNOWN, VITALS, TREAT, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ())),
    # Reservation: no sharing at all, no emergency override.
    Row("reservation treat", (RESERVATION,), EHR, VITALS, TREAT, (DENY, B.RESERVATION, ("res",), ())),
    Row("reservation services", (RESERVATION,), SIGRID, SERVICES, COC, (DENY, B.RESERVATION, ("res",), ())),
    Row(
        "reservation etreat justified",
        (RESERVATION,),
        KRISTIN,
        VITALS,
        ETREAT,
        (DENY, B.RESERVATION, ("res",), ()),
        justification="cardiac arrest",
    ),
    Row(
        "reservation btg justified",
        (RESERVATION,),
        KRISTIN,
        VITALS,
        BTG,
        (DENY, B.RESERVATION, ("res",), ()),
        justification="unconscious",
    ),
    Row(
        "reservation consent at moment",
        (RESERVATION,),
        KRISTIN,
        VITALS,
        TREAT,
        (DENY, B.RESERVATION, ("res",), ()),
        consent=True,
    ),
    Row(
        "reservation beats permit",
        (RESERVATION, PERMIT_KRISTIN),
        KRISTIN,
        VITALS,
        TREAT,
        (DENY, B.RESERVATION, ("res",), ()),
    ),
    Row(
        "reservation beats restriction",
        (RESERVATION, RESTRICT_ALL),
        KRISTIN,
        VITALS,
        ETREAT,
        (DENY, B.RESERVATION, ("res",), ()),
        justification="stroke",
    ),
    Row(
        "expired reservation",
        (EXPIRED_RESERVATION,),
        EHR,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "revoked reservation",
        (REVOKED_RESERVATION,),
        EHR,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "another patient's reservation",
        (OTHER_PATIENTS_RESERVATION,),
        EHR,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    # Block of a named health person: never, not even in emergencies.
    Row("block treat", (BLOCK_BJORN,), BJORN, VITALS, TREAT, (DENY, B.BLOCK, ("blk",), ())),
    Row(
        "block btg justified",
        (BLOCK_BJORN,),
        BJORN,
        SERVICES,
        BTG,
        (DENY, B.BLOCK, ("blk",), ()),
        justification="unconscious",
    ),
    Row("block consent at moment", (BLOCK_BJORN,), BJORN, VITALS, TREAT, (DENY, B.BLOCK, ("blk",), ()), consent=True),
    Row(
        "block beats permit naming the person",
        (BLOCK_BJORN, PERMIT_BJORN),
        BJORN,
        VITALS,
        TREAT,
        (DENY, B.BLOCK, ("blk",), ()),
    ),
    Row(
        "block beats permit of the organisation",
        (BLOCK_BJORN, PERMIT_BAERUM),
        BJORN,
        VITALS,
        TREAT,
        (DENY, B.BLOCK, ("blk",), ()),
    ),
    Row(
        "block spares a colleague",
        (BLOCK_BJORN,),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "block spares a system of the same organisation",
        (BLOCK_BJORN,),
        BAERUM_SYSTEM,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    # Restriction: only consent at the moment or an emergency opens it, specially logged and shown.
    Row("restriction treat", (RESTRICT_VITALS,), EHR, VITALS, TREAT, (DENY, B.RESTRICTION, ("rst-vitals",), ())),
    Row(
        "restriction other category",
        (RESTRICT_VITALS,),
        EHR,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row("restriction of all", (RESTRICT_ALL,), SIGRID, SERVICES, COC, (DENY, B.RESTRICTION, ("rst-all",), ())),
    Row(
        "restriction etreat justified",
        (RESTRICT_VITALS,),
        KRISTIN,
        VITALS,
        ETREAT,
        (PERMIT, B.EMERGENCY, ("rst-vitals",), OPENED),
        justification="sepsis suspected",
    ),
    Row(
        "restriction btg justified",
        (RESTRICT_ALL,),
        KRISTIN,
        SERVICES,
        BTG,
        (PERMIT, B.EMERGENCY, ("rst-all",), OPENED),
        justification="unconscious",
    ),
    # A system answers for nobody: only a health person can open a restriction in an emergency.
    Row(
        "restriction emergency system justified",
        (RESTRICT_VITALS,),
        EHR,
        VITALS,
        ETREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()),
        justification="ambulance handover",
    ),
    Row(
        "restriction etreat unjustified",
        (RESTRICT_VITALS,),
        KRISTIN,
        VITALS,
        ETREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()),
    ),
    Row(
        "restriction btg blank justification",
        (RESTRICT_VITALS,),
        KRISTIN,
        VITALS,
        BTG,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()),
        justification="   ",
    ),
    Row(
        "restriction justification without emergency",
        (RESTRICT_VITALS,),
        KRISTIN,
        VITALS,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()),
        justification="routine check",
    ),
    Row(
        "restriction consent at moment",
        (RESTRICT_VITALS,),
        SIGRID,
        VITALS,
        TREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, ("rst-vitals",), OPENED),
        consent=True,
    ),
    Row(
        "restriction consent at moment declared by a system",
        (RESTRICT_VITALS,),
        EHR,
        VITALS,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()),
        consent=True,
    ),
    Row(
        "restriction consent and emergency: consent first",
        (RESTRICT_VITALS,),
        KRISTIN,
        VITALS,
        ETREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, ("rst-vitals",), OPENED),
        justification="stroke",
        consent=True,
    ),
    Row(
        "restriction not opened by permit",
        (RESTRICT_VITALS, PERMIT_KRISTIN),
        KRISTIN,
        VITALS,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-vitals",), ()),
    ),
    Row(
        "two restrictions both decide",
        (RESTRICT_VITALS, RESTRICT_ALL),
        EHR,
        VITALS,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-all", "rst-vitals"), ()),
    ),
    Row(
        "opening a restriction gives no basis: no organisation",
        (RESTRICT_VITALS,),
        NO_ORG,
        VITALS,
        ETREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        justification="collapsed",
    ),
    Row(
        "a permit for another purpose gives no basis in an emergency",
        (RESTRICT_VITALS, PERMIT_ANYONE_VITALS_TREAT),
        NO_ORG,
        VITALS,
        BTG,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        justification="collapsed",
    ),
    Row(
        "a permit for the purpose gives the basis, consent opens",
        (RESTRICT_VITALS, PERMIT_ANYONE_VITALS_TREAT),
        NO_ORG,
        VITALS,
        TREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, ("rst-vitals",), OPENED),
        consent=True,
    ),
    Row(
        "future restriction not yet in force",
        (FUTURE_RESTRICTION,),
        EHR,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "started restriction in force",
        (STARTED_RESTRICTION,),
        EHR,
        VITALS,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-started",), ()),
    ),
    # Explicit permits: widen access for the selected actors.
    Row(
        "permit by organisation parent",
        (PERMIT_BAERUM,),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-org",), ()),
    ),
    Row(
        "permit by organisation child",
        (PERMIT_CHILD_ORG,),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-child",), ()),
    ),
    Row(
        "permit by hpr number", (PERMIT_KRISTIN,), KRISTIN, SERVICES, COC, (PERMIT, B.EXPLICIT_PERMIT, ("pmt-hpr",), ())
    ),
    Row(
        "permit by authorization",
        (PERMIT_DOCTORS,),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-le",), ()),
    ),
    Row(
        "permit by authorization, other profession",
        (PERMIT_DOCTORS,),
        SIGRID,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "permit anyone for vitals and treatment",
        (PERMIT_ANYONE_VITALS_TREAT,),
        NO_ORG,
        VITALS,
        TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-any",), ()),
    ),
    Row(
        "permit anyone, other purpose",
        (PERMIT_ANYONE_VITALS_TREAT,),
        NO_ORG,
        VITALS,
        COC,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "permit anyone, other category",
        (PERMIT_ANYONE_VITALS_TREAT,),
        NO_ORG,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "expired permit",
        (EXPIRED_PERMIT_KRISTIN,),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "permit of btg still flagged",
        (PERMIT_KRISTIN,),
        KRISTIN,
        VITALS,
        BTG,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-hpr",), FLAG),
        justification="unconscious",
    ),
    # Municipal services are read within the patient's parent organisation (NHN's OKT, docs/summary.md "The patient summary" (OKT)).
    Row(
        "services inside the home organisation, system",
        (),
        EHR,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "services inside the home organisation, a child organisation's person",
        (),
        SIGRID,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "services outside: another municipality",
        (),
        KRISTIN,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
    ),
    Row(
        "services outside: the hospital in the same town",
        (),
        HOSPITAL,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
    ),
    Row(
        "services outside: the other municipality is inside for its own resident",
        (),
        KRISTIN,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        patient=people.ASTRID,
        home=BAERUM,
    ),
    Row(
        "services outside: the home municipality is outside for another's resident",
        (),
        SIGRID,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
        patient=people.ASTRID,
        home=BAERUM,
    ),
    Row(
        "services outside: a child organisation without its parent",
        (PERMIT_ANYONE_VITALS_TREAT,),
        SIGRID_CHILD_ONLY,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "services outside opened by consent at the moment",
        (),
        HOSPITAL,
        SERVICES,
        TREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, (OUTSIDE_PARENT_ORGANISATION,), OPENED),
        consent=True,
    ),
    Row(
        "services outside: consent declared by a system",
        (),
        HOSPITAL_SYSTEM,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
        consent=True,
    ),
    Row(
        "services outside opened in an emergency with justification",
        (),
        HOSPITAL,
        SERVICES,
        ETREAT,
        (PERMIT, B.EMERGENCY, (OUTSIDE_PARENT_ORGANISATION,), OPENED),
        justification="confused, lives alone",
    ),
    Row(
        "services outside opened by break the glass",
        (),
        KRISTIN,
        SERVICES,
        BTG,
        (PERMIT, B.EMERGENCY, (OUTSIDE_PARENT_ORGANISATION,), OPENED),
        justification="unconscious",
    ),
    Row(
        "services outside: emergency without justification",
        (),
        HOSPITAL,
        SERVICES,
        ETREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
    ),
    Row(
        "services outside: emergency with a blank justification",
        (),
        HOSPITAL,
        SERVICES,
        BTG,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
        justification="  ",
    ),
    Row(
        "services outside: emergency declared by a system",
        (),
        HOSPITAL_SYSTEM,
        SERVICES,
        ETREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
        justification="ambulance handover",
    ),
    Row(
        "services outside: justification without emergency",
        (),
        HOSPITAL,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
        justification="routine check",
    ),
    Row(
        "services outside opened by a permit of the organisation",
        (PERMIT_HOSPITAL,),
        HOSPITAL,
        SERVICES,
        TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-hospital",), ()),
    ),
    Row(
        "services outside opened by a permit of the person",
        (PERMIT_KRISTIN,),
        KRISTIN,
        SERVICES,
        TREAT,
        (PERMIT, B.EXPLICIT_PERMIT, ("pmt-hpr",), ()),
    ),
    Row(
        "services outside: a permit of vital signs only",
        (PERMIT_HOSPITAL_VITALS,),
        HOSPITAL,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
    ),
    Row(
        "services outside: a permit for another purpose",
        (PERMIT_HOSPITAL_COC,),
        HOSPITAL,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
    ),
    Row(
        "services outside: a permit opens no restriction",
        (PERMIT_HOSPITAL, RESTRICT_SERVICES),
        HOSPITAL,
        SERVICES,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-services",), ()),
    ),
    Row(
        "services outside: consent opens the restriction first",
        (RESTRICT_SERVICES,),
        HOSPITAL,
        SERVICES,
        TREAT,
        (PERMIT, B.CONSENT_AT_MOMENT, ("rst-services",), OPENED),
        consent=True,
    ),
    Row(
        "services inside: a restriction still holds",
        (RESTRICT_SERVICES,),
        SIGRID,
        SERVICES,
        TREAT,
        (DENY, B.RESTRICTION, ("rst-services",), ()),
    ),
    Row(
        "services outside: reservation first",
        (RESERVATION,),
        HOSPITAL,
        SERVICES,
        ETREAT,
        (DENY, B.RESERVATION, ("res",), ()),
        justification="stroke",
        consent=True,
    ),
    Row(
        "services outside: block first",
        (BLOCK_BJORN,),
        BJORN,
        SERVICES,
        BTG,
        (DENY, B.BLOCK, ("blk",), ()),
        justification="unconscious",
        consent=True,
    ),
    Row(
        "services, home unknown: nobody is inside",
        (),
        EHR,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (OUTSIDE_PARENT_ORGANISATION,), ()),
        home=None,
    ),
    Row(
        "services, home unknown: consent opens",
        (),
        SIGRID,
        SERVICES,
        COC,
        (PERMIT, B.CONSENT_AT_MOMENT, (OUTSIDE_PARENT_ORGANISATION,), OPENED),
        home=None,
        consent=True,
    ),
    Row(
        "vital signs from any organisation",
        (),
        HOSPITAL_SYSTEM,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
    ),
    Row(
        "vital signs, home unknown",
        (),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        home=None,
    ),
    # Writes of municipal services: the data holder (the patient's home organisation) records them (OKT);
    # restrictions and permits play no part.
    Row(
        "write services by the home organisation's system",
        (),
        EHR,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services by the home organisation's person",
        (),
        SIGRID,
        SERVICES,
        COC,
        (PERMIT, B.CARE_RELATIONSHIP, (DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services by another municipality",
        (),
        KRISTIN,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services by the hospital",
        (),
        HOSPITAL_SYSTEM,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services by the other municipality for its own resident",
        (),
        BAERUM_SYSTEM,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (DATA_HOLDER,), ()),
        patient=people.ASTRID,
        home=BAERUM,
        write=True,
    ),
    Row(
        "write services by the home municipality for another's resident",
        (),
        EHR,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        patient=people.ASTRID,
        home=BAERUM,
        write=True,
    ),
    Row(
        "write services, home unknown",
        (),
        EHR,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        home=None,
        write=True,
    ),
    Row(
        "write services without an organisation",
        (),
        NO_ORG,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services by a child organisation without its parent",
        (),
        SIGRID_CHILD_ONLY,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services with a reservation",
        (RESERVATION,),
        EHR,
        SERVICES,
        TREAT,
        (DENY, B.RESERVATION, ("res",), ()),
        write=True,
    ),
    Row(
        "write services with a block of the person",
        (ASTRID_BLOCKS_BJORN,),
        BJORN,
        SERVICES,
        ETREAT,
        (DENY, B.BLOCK, ("blk",), ()),
        justification="stroke",
        patient=people.ASTRID,
        home=BAERUM,
        write=True,
    ),
    Row(
        "write services despite a restriction",
        (RESTRICT_ALL,),
        SIGRID,
        SERVICES,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services: a restriction is not opened, nothing flagged",
        (RESTRICT_SERVICES,),
        SIGRID,
        SERVICES,
        ETREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (DATA_HOLDER,), ()),
        justification="sepsis",
        consent=True,
        write=True,
    ),
    Row(
        "write services: a permit gives no right to record",
        (PERMIT_HOSPITAL,),
        HOSPITAL,
        SERVICES,
        TREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        write=True,
    ),
    Row(
        "write services: consent or emergency gives no right to record",
        (),
        HOSPITAL,
        SERVICES,
        ETREAT,
        (DENY, B.NONE, (NOT_DATA_HOLDER,), ()),
        justification="collapsed",
        consent=True,
        write=True,
    ),
    Row(
        "write services of break the glass is flagged",
        (),
        SIGRID,
        SERVICES,
        BTG,
        (PERMIT, B.CARE_RELATIONSHIP, (DATA_HOLDER,), FLAG),
        justification="unconscious",
        write=True,
    ),
    # Writes of vital signs: on the care relationship from any organisation (the acute chain), never by
    # the home organisation; restrictions and permits play no part.
    Row(
        "write vitals by the home organisation's person",
        (),
        SIGRID,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by the home organisation's system",
        (),
        EHR,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by another municipality",
        (),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by the hospital's clinician",
        (),
        HOSPITAL,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by the hospital's system",
        (),
        HOSPITAL_SYSTEM,
        VITALS,
        ETREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by the ambulance",
        (),
        PARAMEDIC,
        VITALS,
        ETREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        justification="chest pain",
        write=True,
    ),
    Row(
        "write vitals by the inter-municipal legevakt for another municipality's resident",
        (),
        LEGEVAKT,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        patient=people.ASTRID,
        home=BAERUM,
        write=True,
    ),
    Row(
        "write vitals, home unknown",
        (),
        HOSPITAL,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        home=None,
        write=True,
    ),
    Row(
        "write vitals without an organisation",
        (),
        NO_ORG,
        VITALS,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals without an organisation: a permit selecting them gives no right to record",
        (PERMIT_ANYONE_VITALS_TREAT,),
        NO_ORG,
        VITALS,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by a system without an organisation",
        (),
        Actor(ActorKind.SYSTEM, client_id="no-org"),
        VITALS,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by a child organisation without its parent",
        (),
        SIGRID_CHILD_ONLY,
        VITALS,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals with a reservation, inside the home organisation",
        (RESERVATION,),
        SIGRID,
        VITALS,
        TREAT,
        (DENY, B.RESERVATION, ("res",), ()),
        write=True,
    ),
    Row(
        "write vitals with a reservation, outside it, in an emergency",
        (RESERVATION,),
        HOSPITAL,
        VITALS,
        BTG,
        (DENY, B.RESERVATION, ("res",), ()),
        justification="unconscious",
        consent=True,
        write=True,
    ),
    Row(
        "write vitals with a block of the person, inside the home organisation",
        (ASTRID_BLOCKS_BJORN,),
        BJORN,
        VITALS,
        ETREAT,
        (DENY, B.BLOCK, ("blk",), ()),
        justification="stroke",
        patient=people.ASTRID,
        home=BAERUM,
        write=True,
    ),
    Row(
        "write vitals with a block of the person, outside it",
        (BLOCK_BJORN,),
        BJORN,
        VITALS,
        TREAT,
        (DENY, B.BLOCK, ("blk",), ()),
        write=True,
    ),
    Row(
        "write vitals: a block spares a system of the same organisation",
        (BLOCK_BJORN,),
        BAERUM_SYSTEM,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals despite a restriction, inside the home organisation",
        (RESTRICT_ALL,),
        SIGRID,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals despite a restriction, outside it",
        (RESTRICT_VITALS,),
        HOSPITAL_SYSTEM,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals: a restriction is not opened, nothing flagged",
        (RESTRICT_VITALS,),
        HOSPITAL,
        VITALS,
        ETREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        justification="sepsis",
        consent=True,
        write=True,
    ),
    Row(
        "write vitals: a permit of the organisation is not the basis",
        (PERMIT_HOSPITAL_VITALS,),
        HOSPITAL,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals: a permit does not open a restriction, nor is it needed",
        (RESTRICT_VITALS, PERMIT_KRISTIN),
        KRISTIN,
        VITALS,
        TREAT,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals of break the glass is flagged",
        (),
        HOSPITAL,
        VITALS,
        BTG,
        (PERMIT, B.CARE_RELATIONSHIP, (CARE_RELATIONSHIP,), FLAG),
        justification="unconscious",
        write=True,
    ),
    Row(
        "write vitals by an unknown kind of caller of the home organisation",
        (),
        UNKNOWN,
        VITALS,
        TREAT,
        (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()),
        write=True,
    ),
    Row(
        "write vitals by another patient",
        (),
        STRANGER,
        VITALS,
        None,
        (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        write=True,
    ),
    Row("write without a purpose", (), EHR, VITALS, None, (DENY, B.NONE, (NO_PURPOSE,), ()), write=True),
    Row("write by an auditor", (), AUDITOR, VITALS, TREAT, (DENY, B.NONE, (NO_CARE_RELATIONSHIP,), ()), write=True),
    Row(
        "an auditor does not write the access log",
        (),
        AUDITOR,
        LOG,
        None,
        (DENY, B.NONE, (PATIENT_ONLY,), ()),
        write=True,
    ),
    Row(
        "write of sharing rules by personnel",
        (),
        SIGRID,
        CONSENT,
        TREAT,
        (DENY, B.NONE, (PATIENT_ONLY,), ()),
        write=True,
    ),
    Row(
        "the patient writes their own sharing rules",
        (RESERVATION,),
        SELF,
        CONSENT,
        None,
        (PERMIT, B.OWN_DATA, (OWN_DATA,), ()),
        write=True,
        home=None,
    ),
    Row(
        "a guardian writes the child's sharing rules",
        (),
        GUARDIAN,
        CONSENT,
        None,
        (PERMIT, B.REPRESENTATIVE, ("rep-guardian",), ()),
        patient=people.FRIDA,
        representations=(GUARDIANSHIP,),
        write=True,
    ),
    Row(
        "another patient writes no rules",
        (),
        STRANGER,
        CONSENT,
        None,
        (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        write=True,
    ),
    # The patient's own records: rules, access log; patients and representatives.
    Row("own sharing rules", (RESERVATION,), SELF, CONSENT, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ())),
    Row("own access log", (), SELF, LOG, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ())),
    Row("own vitals despite reservation", (RESERVATION,), SELF, VITALS, None, (PERMIT, B.OWN_DATA, (OWN_DATA,), ())),
    Row("another patient's rules", (), STRANGER, CONSENT, None, (DENY, B.NONE, (NOT_THE_PATIENT,), ())),
    Row(
        "guardian of a young child",
        (),
        GUARDIAN,
        CONSENT,
        None,
        (PERMIT, B.REPRESENTATIVE, ("rep-guardian",), ()),
        patient=people.FRIDA,
        representations=(GUARDIANSHIP,),
    ),
    Row(
        "guardian reads the child's access log",
        (),
        GUARDIAN,
        LOG,
        None,
        (PERMIT, B.REPRESENTATIVE, ("rep-guardian",), ()),
        patient=people.FRIDA,
        representations=(GUARDIANSHIP,),
    ),
    Row(
        "guardian no longer from 12",
        (),
        GUARDIAN,
        CONSENT,
        None,
        (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        patient=people.FRIDA,
        representations=(GUARDIANSHIP,),
        now=datetime(2034, 1, 26, tzinfo=UTC),
    ),
    Row(
        "the child at 12 herself",
        (),
        FRIDA_SELF,
        CONSENT,
        None,
        (PERMIT, B.OWN_DATA, (OWN_DATA,), ()),
        patient=people.FRIDA,
        now=datetime(2034, 1, 26, tzinfo=UTC),
    ),
    Row(
        "guardian of another patient",
        (),
        GUARDIAN,
        CONSENT,
        None,
        (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        representations=(GUARDIANSHIP,),
    ),
    Row(
        "power of attorney",
        (),
        STRANGER,
        CONSENT,
        None,
        (PERMIT, B.REPRESENTATIVE, ("rep-attorney",), ()),
        representations=(ATTORNEY,),
    ),
    Row(
        "ended power of attorney",
        (),
        STRANGER,
        LOG,
        None,
        (DENY, B.NONE, (NOT_THE_PATIENT,), ()),
        representations=(ENDED_ATTORNEY,),
    ),
    Row("auditor reads access log", (), AUDITOR, LOG, None, (PERMIT, B.AUDIT, (AUDIT,), ())),
    Row("auditor cannot read rules", (), AUDITOR, CONSENT, None, (DENY, B.NONE, (PATIENT_ONLY,), ())),
    Row("personnel cannot read rules", (), SIGRID, CONSENT, TREAT, (DENY, B.NONE, (PATIENT_ONLY,), ())),
    Row("system cannot read the access log", (), EHR, LOG, TREAT, (DENY, B.NONE, (PATIENT_ONLY,), ())),
    Row(
        "personnel with the patient's pid is not the patient",
        (),
        Actor(ActorKind.PERSONNEL, pid=people.ESKIL),
        CONSENT,
        TREAT,
        (DENY, B.NONE, (PATIENT_ONLY,), ()),
    ),
]


def test_the_table_is_large_enough_and_names_are_unique():
    assert len(ROWS) >= 40
    assert len({row.name for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_decision_table(row: Row):
    policy = Policy(row.patient, row.rules, row.representations, revision=7, home_orgnr=row.home)
    request = AccessRequest(
        row.patient, row.actor, row.category, row.purpose, row.justification, row.consent, row.write
    )
    decision = decide(policy, request, row.now)
    assert (decision.decision, decision.basis, decision.decided_by, decision.obligations) == row.expected
    # The explanation ends in the same decision and never shows a person number.
    assert decision.explanation[-1].startswith("Decision: " + ("permit" if row.expected[0] is PERMIT else "deny"))
    assert not any(re.search(r"\d{11}", line) for line in decision.explanation), decision.explanation


def test_explanation_walks_the_steps_in_plain_language():
    policy = Policy(people.ESKIL, (RESTRICT_VITALS, PERMIT_KRISTIN), revision=4)
    request = AccessRequest(people.ESKIL, KRISTIN, VITALS, ETREAT, "sepsis suspected")
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


def test_explanation_of_an_opening_outside_the_parent_organisation():
    policy = Policy(people.ESKIL, (PERMIT_KRISTIN,), revision=4, home_orgnr=BODO)
    request = AccessRequest(people.ESKIL, HOSPITAL, SERVICES, ETREAT, "confused, lives alone")
    assert decide(policy, request, NOW).explanation[4:] == (
        "No restriction covers municipal services for this purpose.",
        "Municipal services are shared within the patient's home (parent) organisation. "
        "The actor does not belong to the patient's home organisation 910000012.",
        "A health person declares an emergency with a justification, which opens municipal services to another "
        "organisation.",
        "Decision: permit on emergency; the access is flagged for audit and the patient is notified.",
    )


def test_explanation_of_a_vital_signs_write_leaves_restrictions_and_the_home_organisation_out():
    policy = Policy(people.ESKIL, (RESTRICT_VITALS,), revision=4, home_orgnr=BODO)
    explanation = decide(
        policy, AccessRequest(people.ESKIL, HOSPITAL_SYSTEM, VITALS, TREAT, write=True), NOW
    ).explanation
    assert explanation[0].startswith("Asked to write: vital signs for treatment (TREAT) by the system demo-hospital")
    assert explanation[-2:] == (
        "The actor acts for organisation 910000071: a care relationship, on which vital signs are recorded in or "
        "outside the patient's home organisation; the patient's restrictions and permits decide who sees the data, "
        "not who records it.",
        "Decision: permit on a care relationship.",
    )
    assert not any("restricted" in line or "home organisation 910000012" in line for line in explanation)
    denied = decide(policy, AccessRequest(people.ESKIL, NO_ORG, VITALS, TREAT, write=True), NOW).explanation
    assert denied[-2:] == (
        "The actor names no organisation, so there is no care relationship to record vital signs on; a permit of "
        "the patient widens reading only.",
        "Decision: deny on no basis for access.",
    )


def test_explanation_of_a_municipal_services_write_names_the_data_holder():
    policy = Policy(people.ESKIL, (RESTRICT_SERVICES,), revision=4, home_orgnr=BODO)
    inside = decide(policy, AccessRequest(people.ESKIL, EHR, SERVICES, TREAT, write=True), NOW).explanation
    assert inside[-2:] == (
        "The actor belongs to the patient's home organisation 910000012. It holds the patient's municipal services "
        "and records them; the patient's restrictions and permits decide who sees the data, not who records it.",
        "Decision: permit on a care relationship.",
    )
    assert not any("restricted" in line for line in inside)
    outside = decide(policy, AccessRequest(people.ESKIL, HOSPITAL, SERVICES, TREAT, write=True), NOW).explanation
    assert outside[-2:] == (
        "The actor does not belong to the patient's home organisation 910000012. Only the patient's home "
        "organisation, which holds the municipal services, records them.",
        "Decision: deny on no basis for access.",
    )
