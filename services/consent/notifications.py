"""What the patient is told, pure: the notifications a decision's obligations and a rule
change require, in plain language without person numbers, data content or free text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from services.platform.actors import Actor
from services.platform.vocabulary import AccessBasis, ActorKind

from .decision import OUTSIDE_PARENT_ORGANISATION, AccessDecision, describe_category
from .domain import (
    AccessRequest,
    Notification,
    NotificationKind,
    Obligation,
    Rule,
    RuleState,
    RuleType,
    SelectorKind,
)

_OPENED_BY = {
    AccessBasis.EMERGENCY: (NotificationKind.EMERGENCY_ACCESS, "in an emergency"),
    AccessBasis.CONSENT_AT_MOMENT: (NotificationKind.CONSENT_AT_MOMENT, "with your consent at the moment"),
}


def access_notification(
    notification_id: str,
    request: AccessRequest,
    decision: AccessDecision,
    decision_id: str,
    now: datetime,
    organisations: Mapping[str, str],
) -> Notification | None:
    """The notification a decision obliges, or None when it obliges none."""
    if Obligation.NOTIFY_PATIENT not in decision.obligations:
        return None
    kind, how = _OPENED_BY[decision.basis]
    actor = request.actor
    who = actor.name or actor.client_name or actor.client_id or "an unnamed caller"
    where = _organisation(actor, organisations)
    if decision.decided_by == (OUTSIDE_PARENT_ORGANISATION,):  # shared only within the municipality by default
        text = (
            f"Your {describe_category(request.category)} were opened {how} by {who} at {where} "
            f"(not part of your municipality) on {_when(now)}."
        )
    else:
        text = f"Your restricted {describe_category(request.category)} were opened {how} by {who} at {where} on {_when(now)}."
    # The patient needs the health person's name and workplace, not their person number.
    shown = actor if actor.kind is ActorKind.PATIENT else replace(actor, pid="")
    return Notification(notification_id, request.patient_id, kind, now, shown, text, decision_id)


def rule_changed(notification_id: str, rule: Rule) -> Notification:
    """The notification of a new rule version."""
    done = "revoked" if rule.state is RuleState.REVOKED else "created"
    text = f"Your {describe_rule(rule)} was {done} by {_author(rule)} on {_when(rule.create_time)}."
    return Notification(
        notification_id,
        rule.patient_id,
        NotificationKind.RULE_CHANGED,
        rule.create_time,
        rule.created_by,
        text,
        rule.rule_id,
    )


def describe_rule(rule: Rule) -> str:
    content = rule.content
    categories = (
        " and ".join(sorted(describe_category(c) for c in content.categories))
        if content.categories
        else "all your data"
    )
    match content.rule_type:
        case RuleType.RESERVATION:
            return "reservation against all sharing"
        case RuleType.RESTRICTION:
            return f"restriction of {categories}"
        case RuleType.BLOCK_PERSON:
            return f"block of {_selected(rule)}"
        case RuleType.PERMIT:
            return f"permit for {_selected(rule)} to see {categories}"


def _selected(rule: Rule) -> str:
    selector = rule.content.selector
    assert selector is not None, "blocks and permits select someone"
    return {
        SelectorKind.HPR_NUMBER: f"the health person with HPR number {selector.value}",
        SelectorKind.ORG_NUMBER: f"organisation {selector.value}",
        SelectorKind.AUTHORIZATION: f"health personnel with authorization {selector.value}",
        SelectorKind.ANYONE: "anyone",
    }[selector.kind]


def _author(rule: Rule) -> str:
    author = rule.created_by
    if author.kind is ActorKind.PATIENT and author.pid == rule.patient_id:
        return "you"
    if author.kind is ActorKind.PATIENT:
        return "your representative" + (f" {author.name}" if author.name else "")
    return f"the system {author.client_name or author.client_id}"


def _organisation(actor: Actor, organisations: Mapping[str, str]) -> str:
    for orgnr in (actor.orgnr_child, actor.orgnr_parent):
        if orgnr:
            return organisations.get(orgnr) or f"organisation {orgnr}"
    return "an unknown organisation"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
