"""The request path of the gateway (policy enforcement point): authenticate, authorise the
method, validate the patient id, decide consent, then audit and forward side by side, the
answer released only once the audit is stored (docs/architecture.md "The request path",
docs/gateway-request-path.md).

Metadata read here (besides what authentication reads): `x-samhandling-consent-at-moment`,
"true" when the health person declares that the patient consents at this moment (opens a
restriction; flagged and shown to the patient).

Server streams take the same path once, when they open; the stream then lives as long as the
token that opened it would still be accepted (its `exp` plus the token check's leeway) and is
closed with UNAUTHENTICATED TOKEN_EXPIRED after that. A client resumes with a fresh token and
the position of the last message it received (the backend resumes). Streams of patient data are
refused: a consent decision taken at the opening would outlive a revoke."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar, cast

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform import telemetry
from services.platform.assertion import Assertion
from services.platform.error_reasons import Reason
from services.platform.errors import (
    RelayedError,
    ServiceError,
    error_info,
    invalid_argument,
)
from services.platform.gated import released_once
from services.platform.ids import person_number_violations
from services.platform.text import TextField, text_problem
from services.platform.vocabulary import EMERGENCY_PURPOSES, ActorKind

from . import audit_client
from .authentication import JUSTIFICATION, Authenticator, log_refusal, security_log
from .backend_channels import BackendChannels
from .calls import IncomingCall, Metadata
from .consent_client import ConsentClient, ConsentUnavailable, consent_unavailable_error
from .decision_cache import DecisionCache
from .policy import MethodPolicy, PatientLookup
from .principal import Principal
from .tokens import LEEWAY_SECONDS

JUSTIFICATION_MAX_CHARS = 500
CONSENT_AT_MOMENT = "x-samhandling-consent-at-moment"

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)


class Enforcer:
    def __init__(
        self,
        authenticator: Authenticator,
        backends: BackendChannels,
        *,
        allow_synthetic: bool,
        decisions: DecisionCache | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._backends = backends
        self._allow_synthetic = allow_synthetic
        self._consent = ConsentClient(backends, decisions or DecisionCache(enabled=False))

    async def handle(self, call: IncomingCall, policy: MethodPolicy, request: Message, response_type: type[M]) -> M:
        principal = await self._authenticator.authenticate(call)  # logs its own refusals
        with _refusals_logged(call, principal.client_id):
            admitted = await self._admit(call, policy, request, principal)
            if admitted.audit is None:
                return await self._forward(policy, principal, admitted.assertion, request, response_type)
            if policy.backend == "audit":
                # A read of the access log itself is stored first, so that its answer holds its own event.
                await self._record(admitted.audit)
                return await self._forward(policy, principal, admitted.assertion, request, response_type)
            return await answered_once_audited(
                self._record(admitted.audit),
                self._forward(policy, principal, admitted.assertion, request, response_type),
            )

    async def _forward(
        self,
        policy: MethodPolicy,
        principal: Principal,
        assertion: Assertion,
        request: Message,
        response_type: type[M],
    ) -> M:
        try:
            return await self._backends.call(policy.backend, assertion, request, response_type)
        except grpc.aio.AioRpcError as exc:
            raise answer_without_basis(_relayed(exc, policy.backend), policy, principal) from None

    async def _record(self, audit: PendingAudit) -> None:
        await audit_client.record(self._backends, audit.events, audit.trace_id)

    async def open_stream(
        self, call: IncomingCall, policy: MethodPolicy, request: Message, response_type: type[Message]
    ) -> AsyncGenerator[Message, None]:
        """Admits the call (refusals are raised here, before anything is sent) and returns the
        backend's server stream, message by message, until it ends, fails (relayed as for unary
        calls) or the caller's token expires. Closing the returned generator (the client went
        away) cancels the backend's stream."""
        if policy.concerns_patient:
            # A consent decision taken at the opening would outlive a revoke for as long as the
            # stream lasts; patient data is therefore only served call by call.
            refusal = Reason.METHOD_NOT_ALLOWED.error("patient data is not served as a stream")
            log_refusal(refusal, call.method, "", call.peer)
            raise refusal
        principal = await self._authenticator.authenticate(call)  # logs its own refusals
        with _refusals_logged(call, principal.client_id):
            admitted = await self._admit(call, policy, request, principal)
            if admitted.audit is not None:  # not today (patient data is never streamed): audited first
                await self._record(admitted.audit)
            assertion = admitted.assertion
            # The loop's clock, so a step of the wall clock during the stream moves nothing.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + principal.expires_at.timestamp() + LEEWAY_SECONDS - time.time()
            try:
                backend_call = await self._backends.stream(policy.backend, assertion, request, response_type)
            except grpc.aio.AioRpcError as exc:  # no replica's address could be had
                raise _relayed(exc, policy.backend) from None
            try:
                # A backend sends its headers once it has accepted the request (a watch resuming from
                # a position checks it first), so its refusal, too, comes before the answer starts.
                async with asyncio.timeout_at(deadline):
                    await backend_call.initial_metadata()
                if backend_call.done() and await backend_call.code() != grpc.StatusCode.OK:
                    await backend_call.read()  # raises the backend's refusal
            except grpc.aio.AioRpcError as exc:
                raise _relayed(exc, policy.backend) from None
            except TimeoutError:
                backend_call.cancel()
                raise Reason.TOKEN_EXPIRED.error(
                    "the access token of this stream has expired; resume with a fresh token"
                ) from None
            except BaseException:
                backend_call.cancel()
                raise
        relay = self._relay(call, policy.backend, principal, deadline, backend_call)
        # A relay never iterated (its client left before asking for the first message) never
        # reaches its `finally`: the backend's stream is cancelled when the relay is collected.
        weakref.finalize(relay, backend_call.cancel)
        return relay

    async def _relay(
        self,
        call: IncomingCall,
        backend: str,
        principal: Principal,
        deadline: float,
        backend_call: grpc.aio.UnaryStreamCall,
    ) -> AsyncGenerator[Message, None]:
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):  # only around the read, never across a yield
                        message = await backend_call.read()
                except TimeoutError:
                    log.info(
                        "stream closed: token expired", extra={"method": call.method, "client_id": principal.client_id}
                    )
                    raise Reason.TOKEN_EXPIRED.error(
                        "the access token of this stream has expired; resume with a fresh token"
                    ) from None
                except grpc.aio.AioRpcError as exc:
                    relayed = _relayed(exc, backend)
                    log_refusal(relayed, call.method, principal.client_id, call.peer)
                    raise relayed from None
                if not isinstance(message, Message):  # grpc.aio.EOF: the stream has ended
                    return
                yield message
        finally:
            backend_call.cancel()  # a no-op once the stream has ended

    async def _admit(
        self, call: IncomingCall, policy: MethodPolicy, request: Message, principal: Principal
    ) -> Admitted:
        """Authorises the authenticated call, and for patient data decides consent (a refusal is
        audited before it is raised); returns the assertion to forward with, and for patient
        data the audit events that must be stored durably before the answer is released."""
        method = call.method
        _authorise(principal, policy)
        require_justification(principal, policy)
        consent_at_moment = _consent_at_moment(call.metadata)
        trace_id = telemetry.current_trace_id()
        if policy.concerns_patient:
            return await self._admit_patient_access(method, policy, request, principal, consent_at_moment, trace_id)
        return Admitted(Assertion(method=method, actor=principal.to_actor(), trace_id=trace_id))

    async def _admit_patient_access(
        self,
        method: str,
        policy: MethodPolicy,
        request: Message,
        principal: Principal,
        consent_at_moment: bool,
        trace_id: str,
    ) -> Admitted:
        """Decides, and returns the assertion for what is permitted with the events recording
        every decision (to be stored beside the backend call). A refusal is recorded durably
        before it is raised."""
        actor, purpose = principal.to_actor(), principal.purpose_of_use()
        if policy.patient_is_caller:  # the caller's own data; the principal's pid was validated
            patient_id = principal.pid
        elif policy.patient_lookup is not None:
            patient_id = await self._looked_up_patient(policy.backend, policy.patient_lookup, request, actor, trace_id)
        else:
            assert policy.patient_field is not None, "called only when policy.concerns_patient"
            patient_id = getattr(request, policy.patient_field)
            if problems := person_number_violations(
                patient_id, policy.patient_field, allow_synthetic=self._allow_synthetic
            ):
                raise invalid_argument(problems)
        # Only an emergency is justified (and the justification checked); for other purposes it means nothing.
        justification = principal.justification if principal.purpose in EMERGENCY_PURPOSES else ""
        asked = [
            consent_pb2.CheckAccessRequest(
                patient_id=patient_id,
                actor=actor,
                data_category=category,
                purpose_of_use=purpose,
                justification=justification,
                consent_at_moment=consent_at_moment,
                write=policy.writes,
            )
            for category in policy.categories
        ]
        try:
            decisions = await self._consent.decide(asked, trace_id)
        except ConsentUnavailable:
            # The failed access is itself an event worth recording; the answer is UNAVAILABLE either way.
            refused = [_refusal("gateway:consent-unavailable") for _ in asked]
            try:
                await audit_client.record(self._backends, _events(method, policy, asked, refused, trace_id), trace_id)
            except ServiceError:
                pass
            raise consent_unavailable_error() from None
        audit = PendingAudit(_events(method, policy, asked, decisions, trace_id), trace_id)
        pairs = list(zip(policy.categories, decisions, strict=True))
        permitted = [(c, d) for c, d in pairs if d.decision == common_pb2.DECISION_PERMIT]
        if not permitted:
            await self._record(audit)  # a refusal, too, is on record before it is answered
            raise no_access(policy)
        assertion = Assertion(
            method=method,
            actor=actor,
            patient_id=patient_id,
            data_categories=tuple(c for c, _ in permitted),
            purpose_of_use=purpose,
            decision_id=",".join(d.decision_id for _, d in permitted),
            trace_id=trace_id,
        )
        return Admitted(assertion, audit)

    async def _looked_up_patient(
        self, backend: str, lookup: PatientLookup, request: Message, actor: common_pb2.Actor, trace_id: str
    ) -> str:
        """The patient of the record the request names, asked of the backend with the caller's own
        assertion (no patient in it), so that the backend answers only a caller it shares the
        record with. Its refusals pass unchanged (an unknown id and a caller it is not shared with
        get the same NOT_FOUND); it failing serves nothing. Nothing of the answer is kept."""
        asked = lookup.request_type(**{lookup.field: getattr(request, lookup.field)})
        assertion = Assertion(method=lookup.method, actor=actor, trace_id=trace_id)
        try:
            answer = await self._backends.call(backend, assertion, asked, lookup.response_type)
        except grpc.aio.AioRpcError as exc:
            raise _relayed(exc, backend) from None
        patient_id = getattr(answer, "patient_id", "")
        if person_number_violations(patient_id, allow_synthetic=self._allow_synthetic):
            log.error("a patient lookup answered no valid person number", extra={"method": lookup.method})
            raise Reason.INTERNAL.error("internal error")
        return str(patient_id)


@dataclass(frozen=True)
class PendingAudit:
    """The events of one call's consent decisions, not yet stored."""

    events: list[audit_pb2.AuditEvent]
    trace_id: str


@dataclass(frozen=True)
class Admitted:
    """An admitted call: the assertion to forward with and, for patient data, the audit events
    without whose durable storage nothing of the answer is released."""

    assertion: Assertion
    audit: PendingAudit | None = None


async def answered_once_audited(audit: Awaitable[None], answer: Awaitable[M]) -> M:
    """The backend's answer, released only once the audit append has succeeded; both run side by
    side (docs/architecture.md "The request path", step 5). The audit's failure is the caller's answer whenever
    it fails, even after the backend answered (the answer is dropped), and cancels the backend
    call if it is still running. A backend's failure is raised once the audit has ended (the
    events are recorded either way, as a failed access is worth recording). Neither task
    outlives this call: a cancelled caller cancels both."""
    return await released_once(audit, answer)


NO_ACCESS_MESSAGE = "access to this patient's data is not permitted"
# What the recorder of a measurement is told when it is refused: nothing was stored, nobody was
# alerted, so their own routine applies (docs/escalation.md "Through the gateway").
# One text for every cause, so it tells no more than `no_access` does.
MEASUREMENT_REFUSED_MESSAGE = (
    f"{NO_ACCESS_MESSAGE}: nothing was stored and no alert was sent; "
    "follow your organisation's own routine (116117, in an emergency 113)"
)
MEASUREMENT_REFUSED_DETAILS = {
    "stored": "false",
    "alerted": "false",
    "phone_numbers": "116117 113",
    "text_nb": "Ingenting ble lagret og ingen ble varslet. Følg egen rutine (116117, ved akutt fare 113).",
}


def no_access(policy: MethodPolicy | None = None) -> ServiceError:
    """The one answer about a patient's data to a caller without a basis for it (docs/consent.md "What a
    caller without a basis learns about a patient"): the same status, reason, message and
    ErrorInfo whether the patient has a reservation, is not known to the suite, or the
    patient's rules or the statutory defaults refuse this caller. The audit log and the security
    log record what happened. A refused measurement (`records_measurement`) is answered alike for
    every cause too, its message and ErrorInfo telling the recorder that nothing was stored or
    sent and to follow their own routine."""
    if policy is not None and records_measurement(policy):
        return Reason.CONSENT_DENIED.error(MEASUREMENT_REFUSED_MESSAGE, metadata=MEASUREMENT_REFUSED_DETAILS)
    return Reason.CONSENT_DENIED.error(NO_ACCESS_MESSAGE)


def records_measurement(policy: MethodPolicy) -> bool:
    """Whether the method records a new measurement of vital signs (which may escalate)."""
    return policy.action == audit_pb2.ACTION_CREATE and common_pb2.DATA_CATEGORY_VITAL_SIGNS in policy.categories


def answer_without_basis(error: ServiceError, policy: MethodPolicy, principal: Principal) -> ServiceError:
    """A backend's answer as the caller may see it. That a person number is unknown is told only
    to the patient and their representatives (kind PATIENT: consent permits them nothing else);
    anyone else learns no more than about a reserved patient (Kjernejournal: a reserved patient
    has no record), so it gets `no_access(policy)`. Anything else passes unchanged."""
    unknown_patient = error.code == grpc.StatusCode.NOT_FOUND and error.reason == Reason.PATIENT_NOT_FOUND
    if unknown_patient and policy.concerns_patient and principal.kind is not ActorKind.PATIENT:
        return no_access(policy)
    return error


@contextlib.contextmanager
def _refusals_logged(call: IncomingCall, client_id: str) -> Iterator[None]:
    """Every refusal raised inside is logged once to `gateway.security` (authentication logs its own)."""
    try:
        yield
    except ServiceError as err:
        log_refusal(err, call.method, client_id, call.peer)
        raise


def _authorise(principal: Principal, policy: MethodPolicy) -> None:
    scope = policy.access.get(principal.kind)
    if scope is None:
        raise Reason.PRINCIPAL_NOT_ALLOWED.error(f"{principal.kind.value.lower()} callers may not call this method")
    if scope not in principal.scopes:
        raise Reason.SCOPE_MISSING.error(f"this method needs the scope {scope}")


def require_justification(principal: Principal, policy: MethodPolicy) -> None:
    """Emergency access to a patient's data (ETREAT, BTG) must say why, in 1–500 characters
    of the caller's own words, so the patient and the auditors can judge it afterwards."""
    if not policy.concerns_patient or principal.purpose not in EMERGENCY_PURPOSES:
        return
    text = principal.justification
    if not text:
        raise Reason.JUSTIFICATION_REQUIRED.error(f"emergency access needs a justification in {JUSTIFICATION}")
    if (problem := text_problem(text, TextField(JUSTIFICATION_MAX_CHARS))) is not None:
        # The one text rule (services.platform.text), as for every free-text field.
        raise Reason.JUSTIFICATION_REQUIRED.error(f"the justification: {problem}")


def _consent_at_moment(metadata: Metadata) -> bool:
    values = [value for key, value in metadata if key == CONSENT_AT_MOMENT]
    if not values:
        return False
    if len(values) > 1 or not isinstance(values[0], str) or values[0].strip().lower() not in ("true", "false"):
        raise invalid_argument({CONSENT_AT_MOMENT: "send it once, as true or false"})
    return values[0].strip().lower() == "true"


def _refusal(decided_by: str) -> consent_pb2.CheckAccessResponse:
    return consent_pb2.CheckAccessResponse(
        decision=common_pb2.DECISION_DENY, access_basis=common_pb2.ACCESS_BASIS_NONE, decided_by=[decided_by]
    )


def _events(
    method: str,
    policy: MethodPolicy,
    asked: list[consent_pb2.CheckAccessRequest],
    decisions: list[consent_pb2.CheckAccessResponse],
    trace_id: str,
) -> list[audit_pb2.AuditEvent]:
    """One audit event per decision; an opened restriction or a break-the-glass access is flagged."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    now = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    return [
        audit_pb2.AuditEvent(
            occur_time=now,
            actor=request.actor,
            patient_id=request.patient_id,
            action=policy.action,
            data_category=request.data_category,
            purpose_of_use=request.purpose_of_use,
            access_basis=decision.access_basis,
            decision=decision.decision,
            decided_by=",".join(decision.decided_by),
            decision_id=decision.decision_id,
            trace_id=trace_id,
            method=method,
            flagged=consent_pb2.OBLIGATION_FLAG_FOR_AUDIT in decision.obligations,
            justification=request.justification,
            obligations=_audited_obligations(decision.obligations),
        )
        for request, decision in zip(asked, decisions, strict=True)
    ]


# Consent's obligations as the audit log names them (the same names), mapped once: the ones the
# audit log has no name for, and UNSPECIFIED, are left out.
_AUDITED_OBLIGATIONS: dict[int, audit_pb2.Obligation] = {
    number: cast(audit_pb2.Obligation, audit_pb2.Obligation.Value(name))
    for name, number in consent_pb2.Obligation.items()
    if number and name in audit_pb2.Obligation.keys()
}


def _audited_obligations(obligations: Iterable[int]) -> list[audit_pb2.Obligation]:
    """The decision's obligations as the audit log names them (the same names), each once."""
    return list(dict.fromkeys(_AUDITED_OBLIGATIONS[n] for n in obligations if n in _AUDITED_OBLIGATIONS))


def _relayed(exc: grpc.aio.AioRpcError, backend: str) -> ServiceError:
    """A backend's own google.rpc error passes through unchanged, except that a backend
    refusing the gateway's assertion (key mismatch, clock skew) is the suite's fault, not the
    caller's: INTERNAL. A transport failure becomes UNAVAILABLE with the gateway's reason."""
    if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
        # A refusal like any other, but the suite's own: to the security log, at ERROR.
        security_log.error(
            "backend refused the gateway's assertion",
            extra={"backend": backend, "backend_reason": error_info(exc)[0], "details": exc.details()},
        )
        return Reason.GATEWAY_ASSERTION_REFUSED.error("internal error")
    # grpc-stubs types these as grpc._Metadatum objects; grpc.aio gives (key, value) pairs.
    trailing = exc.trailing_metadata() or ()
    if any(key == "grpc-status-details-bin" for key, _ in trailing):  # type: ignore[misc, has-type]
        return RelayedError(exc)
    return Reason.BACKEND_UNAVAILABLE.error(f"the {backend} service cannot answer now")
