"""Server reflection over real channels, as a client that speaks only grpc.reflection.v1 asks
it (grpcurl, buf curl and @grpc/grpc-js tools do): the gateway and every backend answer it, and
v1alpha still works for older clients."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from services.backend_lookup import backend
from services.platform.settings import BACKENDS

V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# The v1 and v1alpha messages are the same fields under two package names, so the v1alpha
# classes write and read v1's bytes; only the method name tells the versions apart.
Request = reflection_pb2.ServerReflectionRequest
Response = reflection_pb2.ServerReflectionResponse


async def ask(address: str, method: str, *requests: Request) -> list[Response]:
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.stream_stream(method, Request.SerializeToString, Response.FromString)
        return [answer async for answer in call(iter(requests))]


def files(response: Response) -> list[descriptor_pb2.FileDescriptorProto]:
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]


@pytest.mark.parametrize("version", [V1, V1ALPHA])
async def test_every_server_answers_reflection_in_both_versions(suite, version):
    for component in ("gateway", *BACKENDS):
        address = suite.settings.addresses[component]
        (listed,) = await ask(address, version, Request(list_services=""))
        names = {s.name for s in listed.list_services_response.service}
        assert {
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "grpc.health.v1.Health",
        } <= names, component
        own = sorted(n for n in names if n.startswith("samhandling."))
        assert own, component
        if component != "gateway":  # every service a backend serves (the summary backend: two)
            assert set(own) == {served.service.full_name for served in backend(component).services}, component

        described, itself = await ask(
            address,
            version,
            Request(file_containing_symbol=own[0]),
            Request(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
        )
        assert not described.HasField("error_response"), (component, described.error_response)
        assert any(own[0].rpartition(".")[2] in {s.name for s in f.service} for f in files(described))
        (v1_file,) = [f for f in files(itself) if f.package == "grpc.reflection.v1"]
        (service,) = v1_file.service
        assert [
            (m.name, m.input_type, m.output_type, m.client_streaming, m.server_streaming) for m in service.method
        ] == [
            (
                "ServerReflectionInfo",
                ".grpc.reflection.v1.ServerReflectionRequest",
                ".grpc.reflection.v1.ServerReflectionResponse",
                True,
                True,
            )
        ]
