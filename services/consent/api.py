"""The consent service's gRPC servicer: each handler parses its request (through convert.py),
calls a use case (use_cases.py) and renders the answer (through convert.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

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
from .domain import AccessRequest, revocation_violations
from .use_cases import ConsentUseCases

if TYPE_CHECKING:
    from .receipts import ReceiptSigner
    from .store import ConsentStore
    from .watch import PolicyChangeHub

MAX_BATCH = 100


class ConsentApi(consent_pb2_grpc.ConsentServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    # Not CheckAccess/BatchCheckAccess: a decision that opens a restriction records a notification.
    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"ExplainAccess", "ListRules", "ListRuleHistory", "ListNotifications", "ListRepresentations", "GetReceiptKeys"}
    )

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
        self._hub = hub
        self._allow_synthetic = allow_synthetic
        self._consent = ConsentUseCases(
            store, hub, receipts, allow_synthetic=allow_synthetic, organisations=organisations or {}, clock=clock
        )

    # --- decisions ----------------------------------------------------------------------

    async def CheckAccess(
        self, request: consent_pb2.CheckAccessRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.CheckAccessResponse:
        try:
            access = self._access(request)
        except convert.InvalidRequest as bad:
            raise invalid_argument(bad.problems) from None
        decided = await self._consent.check_access(access)
        return convert.decision_message(decided.decision, decided.decision_id, decided.revision)

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
        # Every request is about the one asserted patient: one consistent policy for all.
        decided = await self._consent.check_accesses(accesses)
        return consent_pb2.BatchCheckAccessResponse(
            responses=[convert.decision_message(d.decision, d.decision_id, d.revision) for d in decided]
        )

    async def ExplainAccess(
        self, request: consent_pb2.ExplainAccessRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ExplainAccessResponse:
        try:
            access = self._access(request.request)
        except convert.InvalidRequest as bad:
            raise invalid_argument({f"request.{f}": d for f, d in bad.problems.items()}) from None
        decided = await self._consent.explain_access(access)
        return consent_pb2.ExplainAccessResponse(
            decision=convert.decision_message(decided.decision, "", decided.revision),
            explanation=decided.decision.explanation,
        )

    def _access(self, request: consent_pb2.CheckAccessRequest) -> AccessRequest:
        asserted_patient(request.patient_id)
        return convert.access_request(request, allow_synthetic=self._allow_synthetic)

    # --- the patient's rules ------------------------------------------------------------

    async def CreateRule(
        self, request: consent_pb2.CreateRuleRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.CreateRuleResponse:
        author = await self._author(request.patient_id)
        bad_times: dict[str, str] = {}
        draft = convert.rule_draft(request, bad_times)
        rule = await self._consent.create_rule(draft, author, bad_times)
        return consent_pb2.CreateRuleResponse(rule=convert.rule_message(rule))

    async def RevokeRule(
        self, request: consent_pb2.RevokeRuleRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.RevokeRuleResponse:
        author = await self._author(request.patient_id)
        if problems := revocation_violations(request.rule_id, request.reason):
            raise invalid_argument(problems)
        rule = await self._consent.revoke_rule(request.patient_id, request.rule_id, request.reason, author)
        return consent_pb2.RevokeRuleResponse(rule=convert.rule_message(rule))

    async def ListRules(
        self, request: consent_pb2.ListRulesRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListRulesResponse:
        await self._author(request.patient_id)
        limit, below, problems = page_violations(request.page_size, request.page_token)
        if problems:
            raise invalid_argument(problems)
        rules, revision = await self._consent.rules(request.patient_id, request.include_revoked, limit + 1, below)
        shown, token = page(
            [convert.rule_message(r) for _, r in rules[:limit]], [made for made, _ in rules], len(rules) > limit
        )
        return consent_pb2.ListRulesResponse(rules=shown, policy_revision=revision, next_page_token=token)

    async def ListRuleHistory(
        self, request: consent_pb2.ListRuleHistoryRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListRuleHistoryResponse:
        await self._author(request.patient_id)
        limit, after, problems = page_violations(request.page_size, request.page_token)
        if problems:
            raise invalid_argument(problems)
        versions = await self._consent.history(request.patient_id, limit + 1, after)
        shown, token = page(
            [convert.rule_message(r) for r in versions[:limit]],
            [r.policy_revision for r in versions],
            len(versions) > limit,
        )
        return consent_pb2.ListRuleHistoryResponse(versions=shown, next_page_token=token)

    async def ListNotifications(
        self, request: consent_pb2.ListNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ListNotificationsResponse:
        await self._author(request.patient_id)
        limit, below, problems = page_violations(request.page_size, request.page_token)
        if problems:
            raise invalid_argument(problems)
        rows = await self._consent.notifications(request.patient_id, below, limit + 1)
        shown, token = page(
            [convert.notification_message(n) for _, n in rows[:limit]],
            [sequence for sequence, _ in rows],
            len(rows) > limit,
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
        represented = await self._consent.represented_by(actor.pid)
        return consent_pb2.ListRepresentationsResponse(
            representations=[convert.representation_message(rep, status) for rep, status in represented]
        )

    async def _author(self, patient_id: str) -> Actor:
        """The asserted actor, if it is the asserted patient or a valid representative of them
        (use_cases.ConsentUseCases.author)."""
        asserted_patient(patient_id)
        if problems := person_number_violations(patient_id, allow_synthetic=self._allow_synthetic):
            raise invalid_argument(problems)
        return await self._consent.author(patient_id, actor_from_message(current_assertion().actor))

    # --- keys and changes ---------------------------------------------------------------

    async def GetReceiptKeys(
        self, request: consent_pb2.GetReceiptKeysRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.GetReceiptKeysResponse:
        return consent_pb2.GetReceiptKeysResponse(jwks_json=self._consent.receipt_keys())

    async def WatchPolicyChanges(
        self, request_iterator: AsyncIterator[consent_pb2.WatchPolicyChangesRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[consent_pb2.WatchPolicyChangesResponse]:
        async for message in self._hub.watch(request_iterator, context):
            yield message
