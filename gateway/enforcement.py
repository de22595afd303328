"""The request path of the gateway (policy enforcement point): authenticate, authorise the
method, validate the patient id, decide consent, audit, forward (ARCHITECTURE.md)."""
from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform import telemetry
from services.platform.assertion import Assertion
from services.platform.errors import RelayedError, ServiceError, invalid_argument, permission_denied, unavailable
from services.platform.ids import person_number_violations

from . import audit_client, consent_client
from .backends import Backends
from .policy import MethodPolicy
from .principal import Principal, principal_from_claims
from .tokens import TokenValidator, bearer_token


class Enforcer:
    def __init__(self, tokens: TokenValidator, backends: Backends, *, allow_synthetic: bool) -> None:
        self._tokens = tokens
        self._backends = backends
        self._allow_synthetic = allow_synthetic

    async def handle(
        self, method: str, policy: MethodPolicy, request: Message, response_type: type[Message],
        context: grpc.aio.ServicerContext,
    ) -> Message:
        principal = await self._authenticate(context)
        _authorise(principal, policy)
        actor, trace_id = principal.to_actor(), telemetry.current_trace_id()
        assertion = Assertion(method=method, actor=actor, trace_id=trace_id)
        if policy.concerns_patient:
            assertion = await self._admit_patient_access(method, policy, request, principal, trace_id)
        return await self._forward(policy.backend, assertion, request, response_type)

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> Principal:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        return principal_from_claims(await self._tokens.validate(bearer_token(metadata)))

    async def _admit_patient_access(
        self, method: str, policy: MethodPolicy, request: Message, principal: Principal, trace_id: str
    ) -> Assertion:
        """Decides, records every decision durably, and returns the assertion for what is permitted."""
        patient_id = getattr(request, policy.patient_field)
        if problems := person_number_violations(patient_id, policy.patient_field, allow_synthetic=self._allow_synthetic):
            raise invalid_argument(problems)
        actor, purpose = principal.to_actor(), principal.purpose_of_use()
        try:
            decisions = await consent_client.decide(
                self._backends, actor, patient_id, policy.categories, purpose, trace_id
            )
        except consent_client.ConsentUnavailable:
            # The failed access is itself an event worth recording; the answer is UNAVAILABLE either way.
            refused = [_refusal(c, "gateway:consent-unavailable") for c in policy.categories]
            events = [_event(method, policy, actor, patient_id, purpose, c, d, trace_id) for c, d in refused]
            try:
                await audit_client.record(self._backends, events, trace_id)
            except ServiceError:
                pass
            raise consent_client.consent_unavailable_error() from None
        pairs = list(zip(policy.categories, decisions, strict=True))
        events = [_event(method, policy, actor, patient_id, purpose, c, d, trace_id) for c, d in pairs]
        await audit_client.record(self._backends, events, trace_id)
        permitted = [(c, d) for c, d in pairs if d.decision == common_pb2.DECISION_PERMIT]
        if not permitted:
            raise permission_denied("CONSENT_DENIED", "access to this patient's data is not permitted")
        return Assertion(
            method=method,
            actor=actor,
            patient_id=patient_id,
            data_categories=tuple(c for c, _ in permitted),
            purpose_of_use=purpose,
            decision_id=",".join(d.decision_id for _, d in permitted),
            trace_id=trace_id,
        )

    async def _forward(self, backend: str, assertion: Assertion, request: Message, response_type: type[Message]):
        try:
            return await self._backends.call(backend, assertion, request, response_type)
        except grpc.aio.AioRpcError as exc:
            raise _relayed(exc, backend) from None


def _authorise(principal: Principal, policy: MethodPolicy) -> None:
    scope = policy.access.get(principal.kind)
    if scope is None:
        raise permission_denied("PRINCIPAL_NOT_ALLOWED", f"{principal.kind.value.lower()} callers may not call this method")
    if scope not in principal.scopes:
        raise permission_denied("SCOPE_MISSING", f"this method needs the scope {scope}")


def _refusal(category: int, decided_by: str) -> tuple[int, consent_pb2.CheckAccessResponse]:
    return category, consent_pb2.CheckAccessResponse(
        decision=common_pb2.DECISION_DENY, access_basis=common_pb2.ACCESS_BASIS_NONE, decided_by=decided_by
    )


def _event(
    method: str, policy: MethodPolicy, actor: common_pb2.Actor, patient_id: str, purpose: int,
    category: int, decision: consent_pb2.CheckAccessResponse, trace_id: str,
) -> audit_pb2.AuditEvent:
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    return audit_pb2.AuditEvent(
        occur_time=now,
        actor=actor,
        patient_id=patient_id,
        action=policy.action,
        data_category=category,
        purpose_of_use=purpose,
        access_basis=decision.access_basis,
        decision=decision.decision,
        decided_by=decision.decided_by,
        decision_id=decision.decision_id,
        trace_id=trace_id,
        method=method,
    )


def _relayed(exc: grpc.aio.AioRpcError, backend: str) -> ServiceError:
    """A backend's own google.rpc error passes through unchanged; a transport failure
    becomes UNAVAILABLE with the gateway's reason."""
    if any(key == "grpc-status-details-bin" for key, _ in exc.trailing_metadata() or ()):
        return RelayedError(exc)
    return unavailable("BACKEND_UNAVAILABLE", f"the {backend} service cannot answer now")
