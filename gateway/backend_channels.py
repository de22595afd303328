"""Channels to the backends and the one way the gateway calls them: with a signed
internal assertion for exactly that backend and method, traced.

A server stream carries its assertion once, when it opens: the backend verifies it when it
accepts the call (services.platform.interceptors), so the assertion's short lifetime bounds
the opening, not the stream. The enforcer ends the stream when the caller's token expires.

Each request is serialised once, here; the assertion is bound to the hash of those bytes and
those very bytes are sent (the channel's serializer passes them through), so what the backend
hashes is what was signed (services.platform.assertion, "request binding").

Each call goes to the backend replica with the fewest of this gateway's calls in flight, a lone
caller staying on one replica (services.platform.replica_set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider

from services.platform import telemetry
from services.platform.assertion import METADATA_KEY, Assertion, AssertionSigner, request_binding
from services.platform.replica_set import ReplicaSet, replica_set
from services.platform.tls import TlsFiles

CALL_TIMEOUT_SECONDS = 10.0
M = TypeVar("M", bound=Message)


class BackendChannels:
    def __init__(
        self,
        addresses: Mapping[str, str],
        signer: AssertionSigner,
        tracer_provider: TracerProvider,
        tls: TlsFiles | None = None,
    ) -> None:
        """The replicas of each backend, each reached through its own channel
        (services.platform.replica_set)."""
        interceptors = telemetry.client_interceptors(tracer_provider)
        self._replicas: dict[str, ReplicaSet] = {
            name: replica_set(address, tls=tls, interceptors=interceptors) for name, address in addresses.items()
        }
        self._signer = signer
        self.tracer_provider = tracer_provider

    async def call(self, component: str, assertion: Assertion, request: Message, response_type: type[M]) -> M:
        """Calls `assertion.method` on `component`; raises grpc.aio.AioRpcError on failure."""
        body, metadata = self._signed(component, assertion, request)
        async with self._replicas[component].picked() as channel:
            rpc = channel.unary_unary(
                assertion.method, request_serializer=_as_sent, response_deserializer=response_type.FromString
            )
            return await rpc(body, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)

    async def stream(
        self, component: str, assertion: Assertion, request: Message, response_type: type[Message]
    ) -> grpc.aio.UnaryStreamCall:
        """Opens the server stream `assertion.method` on `component`, without a deadline (its
        owner cancels it); reading it raises grpc.aio.AioRpcError on failure."""
        body, metadata = self._signed(component, assertion, request)

        def open_call(channel: grpc.aio.Channel) -> grpc.aio.UnaryStreamCall:
            rpc = channel.unary_stream(
                assertion.method, request_serializer=_as_sent, response_deserializer=response_type.FromString
            )
            return rpc(body, metadata=metadata)

        return await self._replicas[component].stream(open_call)

    def _signed(
        self, component: str, assertion: Assertion, request: Message
    ) -> tuple[bytes, tuple[tuple[str, str], ...]]:
        """The request's bytes, and the metadata whose assertion is bound to exactly them."""
        body = request.SerializeToString()
        return body, ((METADATA_KEY, self._signer.sign(assertion, component, request=request_binding(body))),)

    def replicas(self, component: str) -> ReplicaSet:
        return self._replicas[component]

    async def reachable(self, component: str, timeout: float) -> bool:
        """Whether a serving replica of `component` is connected, or gets so within `timeout`
        (for readiness: no call is made, services.platform.readiness.channel_ready)."""
        return await self._replicas[component].reachable(timeout)

    async def close(self) -> None:
        for replicas in self._replicas.values():
            await replicas.close()  # no grace: calls still open are cancelled


def _as_sent(body: bytes) -> bytes:
    """The channel's request serializer: the bytes the assertion was bound to, unchanged."""
    return body
