"""gRPC mapping of the consent service: proto in, domain and store, proto out."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

import grpc

from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.platform.actor_convert import actor_from_message
from services.platform.actors import Actor
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from services.platform.ids import person_number_violations
from services.platform.interceptors import asserted_patient, current_assertion
from services.platform.paging import page, page_violations
from services.platform.vocabulary import ActorKind

from . import convert
from .compiled_policies import CompiledPolicies
from .decision import Policy, decide_compiled, representation_status, represents
from .domain import (
    MAX_ACTIVE_RULES,
    AccessRequest,
    revocation_violations,
    rule_violations,
)
from .notifications import access_notification
from .receipts import ReceiptSigner
from .store import ConsentStore, TooManyRules, UnknownRule
from .watch import PolicyChangeHub

log = logging.getLogger(__name__)

MAX_BATCH = 100
R = TypeVar("R")  # what a committed rule change returns


class ConsentApi(consent_pb2_grpc.ConsentServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    # Not CheckAccess/BatchCheckAccess: a decision that opens a restriction records a notification.
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"ExplainAccess", "ListRules", "ListRuleHistory", "ListNotifications", "ListRepresentations", "GetReceiptKeys"})

    def __init__(
        self,
        store: ConsentStore,
        hub: PolicyChangeHub,
        receipts: ReceiptSigner,
        *,
        allow_synthetic: bool,
        organisations: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._hub = hub
        self._receipts = receipts
        self._allow_synthetic = allow_synthetic
        self._organisations = organisations or {}
        self._clock = clock
        # Each patient's rules compiled once per revision (bounded; see compiled_policies.py).
        self._compiled = CompiledPolicies()

    # --- decisions ----------------------------------------------------------------------

    async def CheckAccess(
        self, request: consent_pb2.CheckAccessRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.CheckAccessResponse:
        try:
            access = self._access(request)
        except convert.InvalidRequest as bad:
            raise invalid_argument(bad.problems) from None
        # Read fresh on every call: a change is in force as soon as its call has returned.
        policy = await asyncio.to_thread(self._store.policy, access.patient_id)
        return await self._decide(policy, access)

    async def BatchCheckAccess(
        self, request: consent_pb2.BatchCheckAccessRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.BatchCheckAccessResponse:
        if len(request.requests) > MAX_BATCH:
            raise invalid_argument({"requests": f"at most {MAX_BATCH}"})
        problems: dict[str, str] = {}
        accesses = []
        for index, item in enumerate(request.requests):
            asserted_patient(item.patient_id)
            try:
                accesses.append(self._access(item))
            except convert.InvalidRequest as bad:
                problems |= {f"requests[{index}].{f}": d for f, d in bad.problems.items()}
        if problems:
            raise invalid_argument(problems)
        if not accesses:
            return consent_pb2.BatchCheckAccessResponse()
        # Every request is about the one asserted patient: one consistent policy for all.
        policy = await asyncio.to_thread(self._store.policy, accesses[0].patient_id)
        return consent_pb2.BatchCheckAccessResponse(responses=[await self._decide(policy, a) for a in accesses])

    async def ExplainAccess(
        self, request: consent_pb2.ExplainAccessRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ExplainAccessResponse:
        try:
            access = self._access(request.request)
        except convert.InvalidRequest as bad:
            raise invalid_argument({f"request.{f}": d for f, d in bad.problems.items()}) from None
        policy = await asyncio.to_thread(self._store.policy, access.patient_id)
        decision = decide_compiled(policy, self._compiled.rules(policy), access, self._clock())
        return consent_pb2.ExplainAccessResponse(
            decision=convert.decision_message(decision, "", policy.revision), explanation=decision.explanation
        )

    def _access(self, request: consent_pb2.CheckAccessRequest) -> AccessRequest:
        asserted_patient(request.patient_id)
        return convert.access_request(request, allow_synthetic=self._allow_synthetic)

    async def _decide(self, policy: Policy, access: AccessRequest) -> consent_pb2.CheckAccessResponse:
        now = self._clock()
        decision = decide_compiled(policy, self._compiled.rules(policy), access, now)
        decision_id = uuid.uuid4().hex
        # Recorded before the answer: no opening of a restriction goes untold.
        if notification := access_notification(
            uuid.uuid4().hex, access, decision, decision_id, now, self._organisations
        ):
            await asyncio.to_thread(self._store.add_notification, notification)
        return convert.decision_message(decision, decision_id, policy.revision)

    # --- the patient's rules ------------------------------------------------------------

    async def CreateRule(
        self, request: consent_pb2.CreateRuleRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.CreateRuleResponse:
        author = await self._author(request.patient_id)
        now = self._clock()
        bad_times: dict[str, str] = {}
        draft = convert.rule_draft(request, bad_times)
        if problems := rule_violations(draft, now, allow_synthetic=self._allow_synthetic) | bad_times:
            raise invalid_argument(problems)
        try:
            rule = await self._committed_and_published(
                request.patient_id,
                lambda: self._store.create_rule(draft.content(), author, draft.reason, now, self._receipts.sign),
                lambda rule: rule.policy_revision,
            )
        except TooManyRules:
            raise Reason.RULES_LIMIT.error(
                f"the patient has {MAX_ACTIVE_RULES} rules in force; revoke one before making another",
            ) from None
        return consent_pb2.CreateRuleResponse(rule=convert.rule_message(rule))

    async def RevokeRule(
        self, request: consent_pb2.RevokeRuleRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.RevokeRuleResponse:
        author = await self._author(request.patient_id)
        if problems := revocation_violations(request.rule_id, request.reason):
            raise invalid_argument(problems)
        now = self._clock()
        try:
            # Published even when the rule was revoked already: a retry after a lost answer must
            # still guarantee that no replica decides on the old rules.
            rule, _ = await self._committed_and_published(
                request.patient_id,
                lambda: self._store.revoke_rule(
                    request.patient_id, request.rule_id, author, request.reason, now, self._receipts.sign
                ),
                lambda result: result[1],
            )
        except UnknownRule:
            raise Reason.RULE_NOT_FOUND.error("the patient has no rule with this id") from None
        return consent_pb2.RevokeRuleResponse(rule=convert.rule_message(rule))

    async def _committed_and_published(
        self, patient_id: str, change: Callable[[], R], revision_of: Callable[[R], int]
    ) -> R:
        """Commits a rule change (the store enters it in the decision caches' change feed in
        the same transaction, so every consent replica sends it on, even if this process dies
        now) and waits until every cache has applied it or lost its lease. Shielded, so a
        cancelled call (a deadline firing during a slow commit) still finishes the wait; the
        answer, and so the guarantee, comes only after it.

        If the wait fails (the database is lost after the commit), the change stands but is not
        confirmed: the answer is UNAVAILABLE `CHANGE_NOT_CONFIRMED`, never INTERNAL, so the
        caller knows it committed. It is still complete within one lease of the commit: no
        cache is renewed without acknowledging it (watch.py), and without the database none
        is renewed at all. Retrying a revoke publishes again and so confirms it."""

        async def unit() -> R:
            result = await asyncio.to_thread(change)
            try:
                await self._hub.publish(patient_id, revision_of(result))
            except Exception as exc:
                log.warning("rule change committed but not confirmed", extra={"error": exc.__class__.__name__})
                raise Reason.CHANGE_NOT_CONFIRMED.error(
                    "the change is committed, but its arrival at every gateway is not confirmed; it is complete "
                    "at the latest one lease after the commit (a revoke may be retried to confirm it)",
                ) from None
            return result

        return await asyncio.shield(unit())

    async def ListRules(
        self, request: consent_pb2.ListRulesRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListRulesResponse:
        await self._author(request.patient_id)
        limit, below, problems = page_violations(request.page_size, request.page_token)
        if problems:
            raise invalid_argument(problems)
        rules, revision = await asyncio.to_thread(
            self._store.rules, request.patient_id, request.include_revoked, limit + 1, below
        )
        shown, token = page([convert.rule_message(r) for _, r in rules[:limit]], [made for made, _ in rules], len(rules) > limit)
        return consent_pb2.ListRulesResponse(rules=shown, policy_revision=revision, next_page_token=token)

    async def ListRuleHistory(
        self, request: consent_pb2.ListRuleHistoryRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListRuleHistoryResponse:
        await self._author(request.patient_id)
        limit, after, problems = page_violations(request.page_size, request.page_token)
        if problems:
            raise invalid_argument(problems)
        versions = await asyncio.to_thread(self._store.history, request.patient_id, limit + 1, after)
        shown, token = page(
            [convert.rule_message(r) for r in versions[:limit]], [r.policy_revision for r in versions], len(versions) > limit
        )
        return consent_pb2.ListRuleHistoryResponse(versions=shown, next_page_token=token)

    async def ListNotifications(
        self, request: consent_pb2.ListNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListNotificationsResponse:
        await self._author(request.patient_id)
        limit, below, problems = page_violations(request.page_size, request.page_token)
        if problems:
            raise invalid_argument(problems)
        rows = await asyncio.to_thread(self._store.notifications, request.patient_id, below, limit + 1)
        shown, token = page(
            [convert.notification_message(n) for _, n in rows[:limit]], [sequence for sequence, _ in rows], len(rows) > limit
        )
        return consent_pb2.ListNotificationsResponse(notifications=shown, next_page_token=token)

    async def ListRepresentations(
        self, request: consent_pb2.ListRepresentationsRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListRepresentationsResponse:
        """Whom the calling person represents: the asserted actor, a patient login, whose own data
        the gateway decided and audited this read as (the assertion's patient is the caller)."""
        actor = actor_from_message(current_assertion().actor)
        if actor.kind is not ActorKind.PATIENT or not actor.pid:
            raise Reason.NOT_PATIENT_OR_REPRESENTATIVE.error("a person lists whom they represent themselves")
        asserted_patient(actor.pid)
        representations = await asyncio.to_thread(self._store.representations_by, actor.pid)
        now = self._clock()
        return consent_pb2.ListRepresentationsResponse(
            representations=[convert.representation_message(rep, representation_status(rep, now)) for rep in representations]
        )

    async def _author(self, patient_id: str) -> Actor:
        """The asserted actor, if it is the asserted patient or a valid representative of them.

        The gateway decided this already (CheckAccess on CONSENT / ACCESS_LOG); checked again
        here so a wrong gateway policy cannot let anyone else manage a patient's rules.
        """
        asserted_patient(patient_id)
        if problems := person_number_violations(patient_id, allow_synthetic=self._allow_synthetic):
            raise invalid_argument(problems)
        actor = actor_from_message(current_assertion().actor)
        if actor.kind is ActorKind.PATIENT and actor.pid == patient_id:
            return actor
        representations = await asyncio.to_thread(self._store.representations, patient_id)
        now = self._clock()
        if any(represents(rep, actor, patient_id, now) for rep in representations):
            return actor
        raise Reason.NOT_PATIENT_OR_REPRESENTATIVE.error(
            "only the patient or a valid representative manages these rules"
        )

    # --- keys and changes ---------------------------------------------------------------

    async def GetReceiptKeys(
        self, request: consent_pb2.GetReceiptKeysRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.GetReceiptKeysResponse:
        return consent_pb2.GetReceiptKeysResponse(jwks_json=self._receipts.jwks_json())

    async def WatchPolicyChanges(
        self, request_iterator: AsyncIterator[consent_pb2.WatchPolicyChangesRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[consent_pb2.WatchPolicyChangesResponse]:
        async for message in self._hub.watch(request_iterator, context):
            yield message
