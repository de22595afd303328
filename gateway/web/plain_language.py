"""Plain-language texts of the patient pages, pure functions of the protos and a catalog:
the NEWS2 risk band and trend in words, and what a sharing rule does ("Sigrid Sykepleiersen
(sykepleier) kan ikke se noe om deg, heller ikke i en nødsituasjon"). Every enum value a page
shows has a catalog label (`patient.category.*`, `patient.purpose.*`, `patient.basis.*`, ...)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2

from .directory import Directory
from .i18n_loader import Texts

C = common_pb2
# The rule kinds a patient makes, by the word in the URL (`?type=`), and back.
RULE_TYPES: dict[str, consent_pb2.RuleType] = {
    "reservasjon": consent_pb2.RULE_TYPE_RESERVATION,
    "begrensning": consent_pb2.RULE_TYPE_RESTRICTION,
    "sperre": consent_pb2.RULE_TYPE_BLOCK_PERSON,
    "tillatelse": consent_pb2.RULE_TYPE_PERMIT,
}
RULE_TYPE_WORDS = {value: word for word, value in RULE_TYPES.items()}
# The categories and purposes a rule may name (the enum's values but UNSPECIFIED).
CATEGORIES: tuple[int, ...] = (C.DATA_CATEGORY_MUNICIPAL_SERVICES, C.DATA_CATEGORY_VITAL_SIGNS)
PURPOSES: tuple[int, ...] = (
    C.PURPOSE_OF_USE_TREAT,
    C.PURPOSE_OF_USE_ETREAT,
    C.PURPOSE_OF_USE_COC,
    C.PURPOSE_OF_USE_BTG,
)
EMERGENCY_PURPOSES = frozenset({C.PURPOSE_OF_USE_ETREAT, C.PURPOSE_OF_USE_BTG})
EMERGENCY_BASES = frozenset({C.ACCESS_BASIS_EMERGENCY, C.ACCESS_BASIS_CONSENT_AT_MOMENT})


# Every enum a page shows: its name in the pages' catalogs -> (the proto enum, its values' prefix).
ENUMS = {
    "category": (C.DataCategory, "DATA_CATEGORY_"),
    "purpose": (C.PurposeOfUse, "PURPOSE_OF_USE_"),
    "basis": (C.AccessBasis, "ACCESS_BASIS_"),
    "decision": (C.Decision, "DECISION_"),
    "kind": (C.ActorKind, "ACTOR_KIND_"),
    "action": (audit_pb2.Action, "ACTION_"),
    "rule_type": (consent_pb2.RuleType, "RULE_TYPE_"),
    "state": (consent_pb2.RuleState, "RULE_STATE_"),
    "risk": (summary_pb2.ClinicalRisk, "CLINICAL_RISK_"),
    "trend": (summary_pb2.TrendDirection, "TREND_DIRECTION_"),
    "notification": (consent_pb2.NotificationKind, "NOTIFICATION_KIND_"),
    "representation": (consent_pb2.RepresentationStatus, "REPRESENTATION_STATUS_"),
    "escalation_level": (summary_pb2.EscalationLevel, "ESCALATION_LEVEL_"),
    "escalation_state": (escalation_pb2.EscalationState, "ESCALATION_STATE_"),
    "escalation_outcome": (escalation_pb2.EscalationOutcome, "ESCALATION_OUTCOME_"),
    "escalation_target": (escalation_pb2.EscalationTargetKind, "ESCALATION_TARGET_KIND_"),
    "escalation_role": (escalation_pb2.EscalationRole, "ESCALATION_ROLE_"),
}


def enum_word(enum: str, value: int) -> str:
    """`DATA_CATEGORY_VITAL_SIGNS` -> `VITAL_SIGNS`: the catalog key of an enum value."""
    descriptor, prefix = ENUMS[enum]
    try:
        name = descriptor.Name(value)
    except ValueError:
        name = prefix + "UNSPECIFIED"
    return name.removeprefix(prefix)


def label(texts: Texts, enum: str, value: int) -> str:
    return texts.t(f"patient.{enum}.{enum_word(enum, value)}")


def labels(texts: Texts, enum: str, values: Iterable[int], *, none_key: str) -> str:
    """A list of labels joined with commas; `none_key`'s text when the list is empty (= all)."""
    words = [label(texts, enum, v) for v in values]
    return ", ".join(words) if words else texts.t(none_key)


@dataclass(frozen=True)
class News2Text:
    headline: str  # "Lav risiko – stabil" or "Ikke beregnet for barn under 16 år"
    detail: str  # what the band means, in a sentence
    total: int | None  # the score, None when not scored
    band: str  # a CSS modifier: low, low-medium, medium, high, none


def news2_text(texts: Texts, summary: summary_pb2.GetPatientSummaryResponse) -> News2Text | None:
    """The latest NEWS2 in words; None when no vital signs are shared or recorded."""
    if C.DATA_CATEGORY_VITAL_SIGNS in summary.withheld_categories:
        return None
    if not summary.HasField("latest_vital_signs") and not summary.latest_not_scored_reason:
        return None
    news2 = summary.latest_news2
    reason = summary.latest_not_scored_reason or news2.not_scored_reason
    if not news2.scored or reason:
        key = (
            "under_16"
            if reason == summary_pb2.NOT_SCORED_REASON_UNDER_16
            else "pregnant"
            if reason == summary_pb2.NOT_SCORED_REASON_PREGNANT
            else "unknown"
        )
        return News2Text(
            texts.t(f"patient.news2.not_scored.{key}"), texts.t("patient.news2.not_scored_detail"), None, "none"
        )
    risk = enum_word("risk", news2.clinical_risk)
    headline = label(texts, "risk", news2.clinical_risk)
    trend = summary.news2_trend.direction if summary.HasField("news2_trend") else 0
    if trend:
        headline = texts.t("patient.news2.with_trend", risk=headline, trend=label(texts, "trend", trend))
    detail = texts.t(f"patient.news2.detail.{risk}", total=news2.total)
    if news2.red_score:
        detail += " " + texts.t("patient.news2.red_score")
    return News2Text(headline, detail, news2.total, risk.lower().replace("_", "-"))


def person_text(texts: Texts, directory: Directory, hpr_number: str) -> str:
    """ "Sigrid Sykepleiersen (sykepleier, Bodø legevakt)", or "HPR-nummer 990000101"."""
    person = directory.person(hpr_number)
    if person is None:
        return texts.t("patient.person.unknown", hpr=hpr_number)
    profession = authorization_label(texts, person.authorization)
    place = directory.organisation_name(person.orgnr_child or person.orgnr_parent)
    return texts.t("patient.person.known", name=person.name, profession=profession, place=place)


def authorization_label(texts: Texts, code: str) -> str:
    key = f"patient.authorization.{code}"
    return texts.t(key) if texts.has(key) else texts.t("patient.authorization.other", code=code)


def selector_text(texts: Texts, directory: Directory, actor: consent_pb2.ActorSelector) -> str:
    which = actor.WhichOneof("selector")
    if which == "hpr_number":
        return person_text(texts, directory, actor.hpr_number)
    if which == "org_number":
        return directory.organisation_name(actor.org_number)
    if which == "authorization":
        return authorization_label(texts, actor.authorization)
    return texts.t("patient.rule.everyone")


def rule_effect(
    texts: Texts,
    directory: Directory,
    rule_type: int,
    categories: Sequence[int],
    purposes: Sequence[int],
    actor: consent_pb2.ActorSelector | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> list[str]:
    """What a rule does, in sentences a patient reads before confirming it."""
    what = labels(texts, "category", categories, none_key="patient.rule.all_categories").lower()
    why = labels(texts, "purpose", purposes, none_key="patient.rule.all_purposes").lower()
    sentences: list[str] = []
    if rule_type == consent_pb2.RULE_TYPE_RESERVATION:
        sentences.append(texts.t("patient.effect.reservation"))
    elif rule_type == consent_pb2.RULE_TYPE_RESTRICTION:
        sentences.append(texts.t("patient.effect.restriction", what=what, why=why))
    elif rule_type == consent_pb2.RULE_TYPE_BLOCK_PERSON:
        who = selector_text(texts, directory, actor) if actor is not None else ""
        sentences.append(texts.t("patient.effect.block", who=who, what=what))
    else:
        who = selector_text(texts, directory, actor) if actor is not None else ""
        sentences.append(texts.t("patient.effect.permit", who=who, what=what, why=why))
    if valid_from is not None:
        sentences.append(texts.t("patient.effect.from", when=texts.format_time(valid_from, date_only=True)))
    if valid_until is not None:
        sentences.append(texts.t("patient.effect.until", when=texts.format_time(valid_until, date_only=True)))
    else:
        sentences.append(texts.t("patient.effect.until_revoked"))
    sentences.append(texts.t("patient.effect.logged"))
    return sentences


def is_emergency(event: audit_pb2.AuditEvent) -> bool:
    """An emergency opening: flagged, opened in an emergency or with consent at the moment, or
    asked for under an emergency purpose."""
    return event.flagged or event.access_basis in EMERGENCY_BASES or event.purpose_of_use in EMERGENCY_PURPOSES
