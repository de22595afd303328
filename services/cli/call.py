"""`samhandling call METHOD JSON`: a grpcurl-like call through the gateway that learns the
method's types from the server's reflection service, like any standard tool would. A server
stream (e.g. WatchCapacity) prints one compact JSON line per message until it ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from services.platform.dpop import grpc_target, make_proof

from .token import Token


class UnknownMethod(ValueError):
    pass


def call(
    address: str, method: str, body: str, token: Token, *, public_url: str = "", justification: str | None = None
) -> Iterator[str]:
    """The answer as JSON: one (indented) for a unary method, one line per message of a stream."""
    service_name, _, method_name = method.strip("/").rpartition("/")
    full_name = f"/{service_name}/{method_name}"
    with grpc.insecure_channel(address) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        try:
            descriptor = pool.FindServiceByName(service_name).FindMethodByName(method_name)
        except KeyError:
            raise UnknownMethod(f"the gateway serves no method {method!r}") from None
        request_type = message_factory.GetMessageClass(descriptor.input_type)
        response_type = message_factory.GetMessageClass(descriptor.output_type)
        # Unary or streaming, by the descriptor; what it returns is read accordingly below.
        shape: Any = channel.unary_stream if descriptor.server_streaming else channel.unary_unary
        rpc = shape(
            full_name, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString
        )
        request = json_format.Parse(body or "{}", request_type())
        metadata = [("authorization", f"{token.scheme} {token.access_token}")]
        if token.dpop_key is not None:
            proof = make_proof(
                token.dpop_key, "POST", grpc_target(public_url, full_name), access_token=token.access_token
            )
            metadata.append(("dpop", proof))
        if justification:
            metadata.append(("x-samhandling-justification", quote(justification)))
        if descriptor.server_streaming:
            for message in rpc(request, metadata=metadata):  # no deadline: it ends when the gateway ends it
                yield json_format.MessageToJson(message, ensure_ascii=False, indent=None)
        else:
            yield json_format.MessageToJson(rpc(request, metadata=metadata, timeout=30), ensure_ascii=False)
