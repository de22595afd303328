"""gRPC handlers of the gateway: every method of the four public services, each routed
through the Enforcer. Methods without a policy are served only to be refused."""
from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

from samhandling.audit.v1 import audit_pb2
from samhandling.capacity.v1 import capacity_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import summary_pb2
from services.platform.errors import permission_denied

from .authentication import log_refusal
from .calls import IncomingCall
from .enforcement import Enforcer
from .policy import MethodPolicy

SERVICES: tuple[ServiceDescriptor, ...] = (
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
    summary_pb2.DESCRIPTOR.services_by_name["PatientSummaryService"],
    capacity_pb2.DESCRIPTOR.services_by_name["CapacityService"],
)


def generic_handlers(enforcer: Enforcer, policies: Mapping[str, MethodPolicy]) -> list[grpc.GenericRpcHandler]:
    handlers = []
    for service in SERVICES:
        methods = {}
        for method in service.methods:
            full_name = f"/{service.full_name}/{method.name}"
            request_type = message_factory.GetMessageClass(method.input_type)
            response_type = message_factory.GetMessageClass(method.output_type)
            methods[method.name] = grpc.unary_unary_rpc_method_handler(
                _behaviour(enforcer, full_name, policies.get(full_name), response_type),
                request_deserializer=request_type.FromString,
                response_serializer=response_type.SerializeToString,
            )
        handlers.append(grpc.method_handlers_generic_handler(service.full_name, methods))
    return handlers


def _behaviour(enforcer: Enforcer, full_name: str, policy: MethodPolicy | None, response_type):
    async def handle(request, context: grpc.aio.ServicerContext):
        if policy is None:
            refusal = permission_denied("METHOD_NOT_ALLOWED", f"{full_name} is not available through the gateway")
            log_refusal(refusal, full_name, "", context.peer())
            raise refusal
        return await enforcer.handle(IncomingCall.from_grpc(full_name, context), policy, request, response_type)

    return handle
