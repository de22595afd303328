"""The consent service's proto↔domain mapping, the only one: access requests and rule drafts
read from requests, decisions, rules, representations and notifications written into answers.
The actor's mapping is services/platform/actor_convert.py, shared by every service."""

from __future__ import annotations

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform.actor_convert import actor_from_message, actor_message
from services.platform.ids import person_number_violations
from services.platform.protomap import from_enum, read_timestamp, to_enum, to_timestamp
from services.platform.vocabulary import DataCategory, PurposeOfUse

from .decision import AccessDecision
from .domain import (
    AccessRequest,
    ActorSelector,
    Notification,
    Representation,
    RepresentationStatus,
    Rule,
    RuleDraft,
    RuleType,
    SelectorKind,
    justification_violations,
)


class InvalidRequest(Exception):
    """A request's fields that could not be read, by field path (the caller answers INVALID_ARGUMENT)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems


def access_request(request: consent_pb2.CheckAccessRequest, *, allow_synthetic: bool) -> AccessRequest:
    """The access asked about; raises InvalidRequest with every bad field."""
    category = from_enum(common_pb2.DataCategory, request.data_category, DataCategory)
    problems = person_number_violations(request.patient_id, allow_synthetic=allow_synthetic)
    if category is None:
        problems["data_category"] = "required"
    problems |= justification_violations(request.justification)
    if problems:
        raise InvalidRequest(problems)
    assert category is not None
    return AccessRequest(
        patient_id=request.patient_id,
        actor=actor_from_message(request.actor),
        category=category,
        purpose=from_enum(common_pb2.PurposeOfUse, request.purpose_of_use, PurposeOfUse),
        justification=request.justification,
        consent_at_moment=request.consent_at_moment,
        write=request.write,
    )


def decision_message(decision: AccessDecision, decision_id: str, revision: int) -> consent_pb2.CheckAccessResponse:
    return consent_pb2.CheckAccessResponse(
        decision=to_enum(common_pb2.Decision, decision.decision),
        access_basis=to_enum(common_pb2.AccessBasis, decision.basis),
        decided_by=decision.decided_by,
        decision_id=decision_id,
        obligations=[to_enum(consent_pb2.Obligation, o) for o in decision.obligations],
        policy_revision=revision,
    )


def rule_draft(request: consent_pb2.CreateRuleRequest, bad_times: dict[str, str]) -> RuleDraft:
    """The rule asked for, unvalidated; a time that cannot be read is named in `bad_times`."""
    selector, problem = _selector(request)
    return RuleDraft(
        patient_id=request.patient_id,
        rule_type=from_enum(consent_pb2.RuleType, request.rule_type, RuleType),
        selector=selector,
        categories=[from_enum(common_pb2.DataCategory, c, DataCategory) for c in request.data_categories],
        purposes=[from_enum(common_pb2.PurposeOfUse, p, PurposeOfUse) for p in request.purposes],
        valid_from=read_timestamp(request, "valid_from", bad_times),
        valid_until=read_timestamp(request, "valid_until", bad_times),
        reason=request.reason,
        selector_problem=problem,
    )


def _selector(request: consent_pb2.CreateRuleRequest) -> tuple[ActorSelector | None, str]:
    if not request.HasField("actor"):
        return None, ""
    which = request.actor.WhichOneof("selector")
    if which is None:
        return None, "set exactly one of hpr_number, org_number, authorization, anyone"
    kind = SelectorKind(which)
    if kind is SelectorKind.ANYONE:
        return (ActorSelector(kind), "") if request.actor.anyone else (None, "anyone must be true when set")
    return ActorSelector(kind, getattr(request.actor, which)), ""


def representation_message(rep: Representation, status: RepresentationStatus) -> consent_pb2.Representation:
    return consent_pb2.Representation(
        representation_id=rep.representation_id,
        patient_id=rep.patient_id,
        patient_name=rep.patient_name,
        kind=to_enum(consent_pb2.RepresentationKind, rep.kind),
        valid_from=to_timestamp(rep.valid_from),
        valid_until=to_timestamp(rep.valid_until) if rep.valid_until is not None else None,
        status=to_enum(consent_pb2.RepresentationStatus, status),
    )


def rule_message(rule: Rule) -> consent_pb2.Rule:
    content = rule.content
    message = consent_pb2.Rule(
        rule_id=rule.rule_id,
        version=rule.version,
        patient_id=content.patient_id,
        rule_type=to_enum(consent_pb2.RuleType, content.rule_type),
        effect=to_enum(consent_pb2.RuleEffect, content.effect),
        data_categories=sorted(to_enum(common_pb2.DataCategory, c) for c in content.categories),
        purposes=sorted(to_enum(common_pb2.PurposeOfUse, p) for p in content.purposes),
        created_by=actor_message(rule.created_by),
        reason=rule.reason,
        create_time=to_timestamp(rule.create_time),
        state=to_enum(consent_pb2.RuleState, rule.state),
        receipt=rule.receipt,
    )
    if (selector := content.selector) is not None:
        if selector.kind is SelectorKind.ANYONE:
            message.actor.anyone = True
        else:
            setattr(message.actor, selector.kind.value, selector.value)
    if content.valid_from is not None:
        message.valid_from.CopyFrom(to_timestamp(content.valid_from))
    if content.valid_until is not None:
        message.valid_until.CopyFrom(to_timestamp(content.valid_until))
    return message


def notification_message(n: Notification) -> consent_pb2.Notification:
    return consent_pb2.Notification(
        notification_id=n.notification_id,
        patient_id=n.patient_id,
        kind=to_enum(consent_pb2.NotificationKind, n.kind),
        create_time=to_timestamp(n.create_time),
        actor=actor_message(n.actor),
        text=n.text,
        reference=n.reference,
    )
