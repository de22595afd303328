"""The Caller of the web pages (gateway/web/context.py): each call is an IncomingCall with the
session's DPoP-bound access token and a fresh proof by the deployment's web key, run by the
gateway's own Enforcer with POLICIES[rpc], exactly as a gRPC or JSON API call would be.
Authentication, the policy table, consent, audit and the assertion therefore all apply
unchanged: a page adds no authority. The proof names `grpc_target(gateway public URL, rpc)`
(htu ""), as a gRPC client's does; no consent-at-moment metadata is sent.

An emergency opening (`call(..., justification=...)`, the inbox's restricted escalation) runs
the one call with a one-off token attesting ETREAT (`emergency`, the login's: a refresh under
the session's lease whose access token the session does not keep) and the person's words in
`x-samhandling-justification`, exactly as a gRPC client opens in an emergency: consent opens a
restriction for it, flags it for audit and notifies the patient.

A token with less than REFRESH_MARGIN_SECONDS left is refreshed first (`refresh`, the
login's: one replica at a time spends the rotating refresh token); a call the Enforcer refuses
TOKEN_EXPIRED is refreshed and retried once. A session that has ended (or whose refresh
token the issuer refuses) answers 401 WEB_SESSION_ENDED, and the person logs in again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from urllib.parse import quote

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from services.platform.dpop import Key as DpopKey
from services.platform.dpop import grpc_target, make_proof
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError

from ..authentication import JUSTIFICATION
from ..calls import IncomingCall
from ..enforcement import Enforcer
from ..policy import POLICIES, MethodPolicy
from .context import WebSession
from .sessions import Credentials, SqlSessions, session_ended

PEER = "web"  # the peer the refusal logs name for calls made by the pages
REFRESH_MARGIN_SECONDS = 60

Refresh = Callable[[WebSession, Credentials], Awaitable[Credentials]]
Emergency = Callable[[WebSession], Awaitable[Credentials]]


def response_type(rpc: str) -> type[Message]:
    service, _, name = rpc.lstrip("/").rpartition("/")
    method = descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]
    return message_factory.GetMessageClass(method.output_type)


class EnforcerCaller:
    def __init__(
        self,
        enforcer: Enforcer,
        sessions: SqlSessions,
        refresh: Refresh,
        dpop_key: DpopKey,
        gateway_public_url: str,
        policies: Mapping[str, MethodPolicy] = POLICIES,
        emergency: Emergency | None = None,
    ) -> None:
        self._enforcer = enforcer
        self._refresh = refresh
        self._emergency = emergency
        self._sessions = sessions
        self._key = dpop_key
        self._jkt = dpop_key.thumbprint()
        self._public_url = gateway_public_url
        self._policies = policies

    async def _incoming(
        self, session: WebSession, rpc: str, *, renew: bool = False
    ) -> tuple[IncomingCall, MethodPolicy]:
        policy = self._policies.get(rpc)
        if policy is None:
            raise ValueError(f"no policy for {rpc}")  # a page's bug, not the person's
        credentials = await self._sessions.credentials(session)
        if credentials is None or credentials.dpop_jkt != self._jkt:
            # Ended, or bound to a web key this deployment no longer holds (rotated).
            await self._sessions.end(session)
            raise session_ended()
        if renew or credentials.access_expires_at - self._sessions.clock() < REFRESH_MARGIN_SECONDS:
            credentials = await self._refresh(session, credentials)
        proof = make_proof(self._key, "POST", grpc_target(self._public_url, rpc), access_token=credentials.access_token)
        call = IncomingCall(rpc, _metadata(credentials, proof), PEER, htm="POST", htu="")
        return call, policy

    async def call(self, session: WebSession, rpc: str, request: Message, *, justification: str = "") -> Message:
        if justification:
            return await self._emergency_call(session, rpc, request, justification)
        call, policy = await self._incoming(session, rpc)
        try:
            return await self._enforcer.handle(call, policy, request, response_type(rpc))
        except ServiceError as err:
            if err.reason != Reason.TOKEN_EXPIRED:
                raise
        call, policy = await self._incoming(session, rpc, renew=True)  # once, with a fresh token
        try:
            return await self._enforcer.handle(call, policy, request, response_type(rpc))
        except ServiceError as err:
            raise await self._ended_if_expired(session, err) from None

    async def _emergency_call(self, session: WebSession, rpc: str, request: Message, justification: str) -> Message:
        policy = self._policies.get(rpc)
        if policy is None or self._emergency is None:
            raise ValueError(f"no emergency opening of {rpc} here")  # a page's bug, not the person's
        credentials = await self._sessions.credentials(session)
        if credentials is None or credentials.dpop_jkt != self._jkt:
            await self._sessions.end(session)
            raise session_ended()
        credentials = await self._emergency(session)
        proof = make_proof(self._key, "POST", grpc_target(self._public_url, rpc), access_token=credentials.access_token)
        metadata = (*_metadata(credentials, proof), (JUSTIFICATION, quote(justification, safe="")))
        call = IncomingCall(rpc, metadata, PEER, htm="POST", htu="")
        try:
            return await self._enforcer.handle(call, policy, request, response_type(rpc))
        except ServiceError as err:
            raise await self._ended_if_expired(session, err) from None

    async def stream(
        self, session: WebSession, rpc: str, request_after: Callable[[int], Message]
    ) -> AsyncIterator[Message]:
        """The stream until it ends; when the token ends under it (TOKEN_EXPIRED), it is
        reopened once per token with a fresh one, asking from `request_after(messages seen)`."""
        seen, renew = 0, False
        while True:
            call, policy = await self._incoming(session, rpc, renew=renew)
            seen_before = seen
            try:
                messages = await self._enforcer.open_stream(call, policy, request_after(seen), response_type(rpc))
                try:
                    async for message in messages:
                        seen += 1
                        yield message
                finally:
                    await messages.aclose()
                return
            except ServiceError as err:
                if err.reason != Reason.TOKEN_EXPIRED or (renew and seen == seen_before):
                    raise await self._ended_if_expired(session, err) from None
                renew = True

    async def _ended_if_expired(self, session: WebSession, err: ServiceError) -> ServiceError:
        if err.reason == Reason.TOKEN_EXPIRED:
            await self._sessions.end(session)
            return session_ended()
        return err


def _metadata(credentials: Credentials, proof: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"DPoP {credentials.access_token}"), ("dpop", proof))
