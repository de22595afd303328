"""Channels to the backends and the one way the gateway calls them: with a signed
internal assertion for exactly that backend and method, traced."""
from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider

from services.platform import telemetry
from services.platform.assertion import METADATA_KEY, Assertion, AssertionSigner

CALL_TIMEOUT_SECONDS = 10.0


class Backends:
    def __init__(self, addresses: Mapping[str, str], signer: AssertionSigner, tracer_provider: TracerProvider) -> None:
        interceptors = telemetry.client_interceptors(tracer_provider)
        self._channels = {
            name: grpc.aio.insecure_channel(address, interceptors=interceptors) for name, address in addresses.items()
        }
        self._signer = signer

    async def call(self, component: str, assertion: Assertion, request: Message, response_type: type[Message]):
        """Calls `assertion.method` on `component`; raises grpc.aio.AioRpcError on failure."""
        rpc = self._channels[component].unary_unary(
            assertion.method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        metadata = ((METADATA_KEY, self._signer.sign(assertion, component)),)
        return await rpc(request, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
