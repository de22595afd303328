"""gRPC mapping of the consent service: proto in, domain and store, proto out."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.platform.errors import invalid_argument, not_found
from services.platform.ids import person_number_violations
from services.platform.interceptors import asserted_patient
from services.platform.protomap import from_enum, from_timestamp, to_enum, to_timestamp

from .domain import (
    AccessRequest,
    Actor,
    ActorKind,
    DataCategory,
    NewRule,
    PurposeOfUse,
    Rule,
    RuleType,
    rule_violations,
)
from .rules import decide
from .store import ConsentStore, UnknownRule


class ConsentApi(consent_pb2_grpc.ConsentServiceServicer):
    def __init__(
        self,
        store: ConsentStore,
        *,
        allow_synthetic: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._allow_synthetic = allow_synthetic
        self._clock = clock

    async def CheckAccess(self, request: consent_pb2.CheckAccessRequest, context):
        asserted_patient(request.patient_id)
        category = from_enum(common_pb2.DataCategory, request.data_category, DataCategory)
        problems = person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic)
        if category is None:
            problems["data_category"] = "required"
        if problems:
            raise invalid_argument(problems)
        access = AccessRequest(
            patient_id=request.patient_id,
            actor=_actor(request.actor),
            category=category,
            purpose=from_enum(common_pb2.PurposeOfUse, request.purpose_of_use, PurposeOfUse),
        )
        # Read fresh on every call: a revoke is in force as soon as RevokeRule has returned.
        rules = await asyncio.to_thread(self._store.unrevoked_rules, request.patient_id)
        decision = decide(rules, access, self._clock())
        return consent_pb2.CheckAccessResponse(
            decision=to_enum(common_pb2.Decision, decision.decision),
            access_basis=to_enum(common_pb2.AccessBasis, decision.basis),
            decided_by=decision.decided_by,
            decision_id=uuid.uuid4().hex,
        )

    async def CreateRule(self, request: consent_pb2.CreateRuleRequest, context):
        asserted_patient(request.patient_id)
        now = self._clock()
        draft = NewRule(
            patient_id=request.patient_id,
            rule_type=from_enum(consent_pb2.RuleType, request.rule_type, RuleType),
            categories=[from_enum(common_pb2.DataCategory, c, DataCategory) for c in request.data_categories],
            hpr_number=request.hpr_number,
            org_number=request.org_number,
            expires_at=from_timestamp(request.expire_time) if request.HasField("expire_time") else None,
        )
        if problems := rule_violations(draft, now, allow_synthetic=self._allow_synthetic):
            raise invalid_argument(problems)
        rule = await asyncio.to_thread(self._store.add, draft.to_rule(str(uuid.uuid4()), now))
        return consent_pb2.CreateRuleResponse(rule=_rule(rule))

    async def ListRules(self, request: consent_pb2.ListRulesRequest, context):
        asserted_patient(request.patient_id)
        if problems := person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic):
            raise invalid_argument(problems)
        rules = await asyncio.to_thread(self._store.list_rules, request.patient_id, request.include_revoked)
        return consent_pb2.ListRulesResponse(rules=[_rule(r) for r in rules])

    async def RevokeRule(self, request: consent_pb2.RevokeRuleRequest, context):
        asserted_patient(request.patient_id)
        problems = person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic)
        if not request.rule_id:
            problems["rule_id"] = "required"
        if problems:
            raise invalid_argument(problems)
        try:
            rule = await asyncio.to_thread(self._store.revoke, request.patient_id, request.rule_id, self._clock())
        except UnknownRule:
            raise not_found("RULE_NOT_FOUND", "the patient has no rule with this id") from None
        return consent_pb2.RevokeRuleResponse(rule=_rule(rule))


def _actor(actor: common_pb2.Actor) -> Actor:
    return Actor(
        kind=from_enum(common_pb2.ActorKind, actor.kind, ActorKind),
        pid=actor.pid,
        hpr_number=actor.hpr_number,
        orgnr_parent=actor.orgnr_parent,
        orgnr_child=actor.orgnr_child,
    )


def _rule(rule: Rule) -> consent_pb2.Rule:
    message = consent_pb2.Rule(
        rule_id=rule.rule_id,
        patient_id=rule.patient_id,
        rule_type=to_enum(consent_pb2.RuleType, rule.rule_type),
        data_categories=sorted(to_enum(common_pb2.DataCategory, c) for c in rule.categories),
        hpr_number=rule.hpr_number,
        org_number=rule.org_number,
        create_time=to_timestamp(rule.created_at),
    )
    if rule.expires_at is not None:
        message.expire_time.CopyFrom(to_timestamp(rule.expires_at))
    if rule.revoked_at is not None:
        message.revoke_time.CopyFrom(to_timestamp(rule.revoked_at))
    return message
