"""The Caller of the web pages (gateway/web/context.py): each call is an IncomingCall with the
session's DPoP-bound access token and a fresh proof by the deployment's web key, run by the
gateway's own Enforcer with POLICIES[rpc], exactly as a gRPC or JSON API call would be.
Authentication, the policy table, consent, audit and the assertion therefore all apply
unchanged: a page adds no authority. The proof names `grpc_target(gateway public URL, rpc)`
(htu ""), as a gRPC client's does; no justification or consent-at-moment metadata is sent.

No refresh in this slice: a session ends when its access token does (sessions.py), and a
call refused TOKEN_EXPIRED ends the session too; either way the answer is 401
WEB_SESSION_ENDED and the person logs in again."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from services.platform.dpop import Key as DpopKey
from services.platform.dpop import grpc_target, make_proof
from services.platform.errors import ServiceError, unauthenticated

from ..calls import IncomingCall
from ..enforcement import Enforcer
from ..policy import POLICIES, MethodPolicy
from .context import WebSession
from .sessions import Credentials, SqlSessions

PEER = "web"  # the peer the refusal logs name for calls made by the pages


def session_ended() -> ServiceError:
    return unauthenticated("WEB_SESSION_ENDED", "the session has ended; log in again")


def response_type(rpc: str) -> type[Message]:
    service, _, name = rpc.lstrip("/").rpartition("/")
    method = descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]
    return message_factory.GetMessageClass(method.output_type)


class EnforcerCaller:
    def __init__(
        self, enforcer: Enforcer, sessions: SqlSessions, dpop_key: DpopKey, gateway_public_url: str,
        policies: Mapping[str, MethodPolicy] = POLICIES,
    ) -> None:
        self._enforcer = enforcer
        self._sessions = sessions
        self._key = dpop_key
        self._jkt = dpop_key.thumbprint()
        self._public_url = gateway_public_url
        self._policies = policies

    async def _incoming(self, session: WebSession, rpc: str) -> tuple[IncomingCall, MethodPolicy]:
        policy = self._policies.get(rpc)
        if policy is None:
            raise ValueError(f"no policy for {rpc}")  # a page's bug, not the person's
        credentials = await self._sessions.credentials(session)
        if credentials is None or credentials.dpop_jkt != self._jkt:
            # Ended, or bound to a web key this deployment no longer holds (rotated).
            await self._sessions.end(session)
            raise session_ended()
        proof = make_proof(self._key, "POST", grpc_target(self._public_url, rpc),
                           access_token=credentials.access_token)
        call = IncomingCall(rpc, _metadata(credentials, proof), PEER, htm="POST", htu="")
        return call, policy

    async def call(self, session: WebSession, rpc: str, request: Message) -> Message:
        call, policy = await self._incoming(session, rpc)
        try:
            return await self._enforcer.handle(call, policy, request, response_type(rpc))
        except ServiceError as err:
            raise await self._ended_if_expired(session, err) from None

    async def stream(
        self, session: WebSession, rpc: str, request_after: Callable[[int], Message]
    ) -> AsyncIterator[Message]:
        call, policy = await self._incoming(session, rpc)
        seen = 0
        try:
            messages = await self._enforcer.open_stream(call, policy, request_after(seen), response_type(rpc))
            try:
                async for message in messages:
                    seen += 1
                    yield message
            finally:
                await messages.aclose()
        except ServiceError as err:
            raise await self._ended_if_expired(session, err) from None

    async def _ended_if_expired(self, session: WebSession, err: ServiceError) -> ServiceError:
        if err.reason == "TOKEN_EXPIRED":
            await self._sessions.end(session)
            return session_ended()
        return err


def _metadata(credentials: Credentials, proof: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"DPoP {credentials.access_token}"), ("dpop", proof))
