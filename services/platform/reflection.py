"""Server reflection in both versions clients speak: `grpc.reflection.v1` (the stable one,
which grpcurl, buf curl and @grpc/grpc-js tools ask for) and `grpc.reflection.v1alpha`
(older clients, and this suite's CLI).

grpcio-reflection ships only v1alpha. The v1 proto is the v1alpha proto under another
package name (same messages, same field numbers, so the same bytes on the wire), so v1 is
served by the same servicer under v1's method name, and v1's descriptors are added to the
descriptor pool so that reflection describes itself in both versions."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import _async as reflection_aio  # what `reflection.aio` names (not re-exported)
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME
V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
SERVICE_NAMES = (V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)
_V1_FILE = "grpc/reflection/v1/reflection.proto"
_V1ALPHA_PREFIX = ".grpc.reflection.v1alpha."
_V1_PREFIX = ".grpc.reflection.v1."


def enable_server_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Serves reflection v1 and v1alpha on `server`, naming `service_names` and itself."""
    _add_v1_descriptors(descriptor_pool.Default())
    servicer = reflection_aio.ReflectionServicer([*service_names, *SERVICE_NAMES])
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))


def _add_v1_descriptors(pool: descriptor_pool.DescriptorPool) -> None:
    """grpc/reflection/v1/reflection.proto, made from the v1alpha file by renaming its package."""
    try:
        pool.FindFileByName(_V1_FILE)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    proto.ClearField("options")  # v1alpha's language packages; v1's are not needed here
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = _renamed(field.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type, method.output_type = _renamed(method.input_type), _renamed(method.output_type)
    pool.AddSerializedFile(proto.SerializeToString())


def _renamed(type_name: str) -> str:
    return _V1_PREFIX + type_name.removeprefix(_V1ALPHA_PREFIX) if type_name.startswith(_V1ALPHA_PREFIX) else type_name
