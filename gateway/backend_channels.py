"""Channels to the backends and the one way the gateway calls them: with a signed
internal assertion for exactly that backend and method, traced.

A server stream carries its assertion once, when it opens: the backend verifies it when it
accepts the call (services.platform.interceptors), so the assertion's short lifetime bounds
the opening, not the stream. The enforcer ends the stream when the caller's token expires.

Each request is serialised once, here; the assertion is bound to the hash of those bytes and
those very bytes are sent (the channel's serializer passes them through), so what the backend
hashes is what was signed (services.platform.assertion, "request binding")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider

from services.platform import telemetry
from services.platform.assertion import METADATA_KEY, Assertion, AssertionSigner, request_binding
from services.platform.channels import open_channel
from services.platform.readiness import channel_ready
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
        """One channel per backend, balanced over all its replicas (services.platform.channels)."""
        interceptors = telemetry.client_interceptors(tracer_provider)
        self._channels = {
            name: open_channel(address, tls=tls, interceptors=interceptors) for name, address in addresses.items()
        }
        self._signer = signer
        self.tracer_provider = tracer_provider

    async def call(self, component: str, assertion: Assertion, request: Message, response_type: type[M]) -> M:
        """Calls `assertion.method` on `component`; raises grpc.aio.AioRpcError on failure."""
        rpc = self._channels[component].unary_unary(
            assertion.method, request_serializer=_as_sent, response_deserializer=response_type.FromString
        )
        body, metadata = self._signed(component, assertion, request)
        return await rpc(body, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)

    def stream(
        self, component: str, assertion: Assertion, request: Message, response_type: type[Message]
    ) -> grpc.aio.UnaryStreamCall:
        """Opens the server stream `assertion.method` on `component`, without a deadline (its
        owner cancels it); reading it raises grpc.aio.AioRpcError on failure."""
        rpc = self._channels[component].unary_stream(
            assertion.method, request_serializer=_as_sent, response_deserializer=response_type.FromString
        )
        body, metadata = self._signed(component, assertion, request)
        return rpc(body, metadata=metadata)

    def _signed(
        self, component: str, assertion: Assertion, request: Message
    ) -> tuple[bytes, tuple[tuple[str, str], ...]]:
        """The request's bytes, and the metadata whose assertion is bound to exactly them."""
        body = request.SerializeToString()
        return body, ((METADATA_KEY, self._signer.sign(assertion, component, request=request_binding(body))),)

    async def reachable(self, component: str, timeout: float) -> bool:
        """Whether a serving replica of `component` is connected, or gets so within `timeout`
        (for readiness: no call is made, services.platform.readiness.channel_ready)."""
        return await channel_ready(self._channels[component], timeout)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)  # no grace: calls still open are cancelled


def _as_sent(body: bytes) -> bytes:
    """The channel's request serializer: the bytes the assertion was bound to, unchanged."""
    return body
