"""gRPC handlers of the gateway: every method of the public services, registered in its
own shape and routed through the Enforcer — unary calls answered, server streams relayed.
Methods without a policy, and client streams whatever the table says (they are internal to
the suite, like consent's policy watch), are served only to be refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from samhandling.audit.v1 import audit_pb2
from samhandling.capacity.v1 import capacity_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2
from services.platform.error_reasons import Reason

from .authentication import log_refusal
from .calls import IncomingCall
from .enforcement import Enforcer
from .policy import MethodPolicy

SERVICES: tuple[ServiceDescriptor, ...] = (
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
    summary_pb2.DESCRIPTOR.services_by_name["PatientSummaryService"],
    escalation_pb2.DESCRIPTOR.services_by_name["EscalationService"],
    capacity_pb2.DESCRIPTOR.services_by_name["CapacityService"],
)

# (client streaming, server streaming) -> the handler of that shape.
_SHAPES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def generic_handlers(enforcer: Enforcer, policies: Mapping[str, MethodPolicy]) -> list[grpc.GenericRpcHandler]:
    return [
        grpc.method_handlers_generic_handler(
            service.full_name,
            {method.name: _handler(enforcer, service, method, policies) for method in service.methods},
        )
        for service in SERVICES
    ]


def _handler(
    enforcer: Enforcer, service: ServiceDescriptor, method: MethodDescriptor, policies: Mapping[str, MethodPolicy]
) -> grpc.RpcMethodHandler:
    full_name = f"/{service.full_name}/{method.name}"
    policy = None if method.client_streaming else policies.get(full_name)
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    behaviour = _relay if method.server_streaming else _answer
    return _SHAPES[method.client_streaming, method.server_streaming](
        behaviour(enforcer, full_name, policy, response_type),
        request_deserializer=request_type.FromString,
        response_serializer=response_type.SerializeToString,
    )


def _answer(
    enforcer: Enforcer, full_name: str, policy: MethodPolicy | None, response_type: type[Message]
) -> Callable[[Message, grpc.aio.ServicerContext], Awaitable[Message]]:
    async def answer(request: Message, context: grpc.aio.ServicerContext) -> Message:
        allowed = _servable(full_name, policy, context)
        return await enforcer.handle(IncomingCall.from_grpc(full_name, context), allowed, request, response_type)

    return answer


def _relay(
    enforcer: Enforcer, full_name: str, policy: MethodPolicy | None, response_type: type[Message]
) -> Callable[[Message, grpc.aio.ServicerContext], AsyncIterator[Message]]:
    async def relay(request: Message, context: grpc.aio.ServicerContext) -> AsyncIterator[Message]:
        allowed = _servable(full_name, policy, context)
        call = IncomingCall.from_grpc(full_name, context)
        messages = await enforcer.open_stream(call, allowed, request, response_type)
        try:
            async for message in messages:
                yield message
        finally:
            await messages.aclose()

    return relay


def _servable(full_name: str, policy: MethodPolicy | None, context: grpc.aio.ServicerContext) -> MethodPolicy:
    """The method's policy; a method without one is refused before anything is read or checked."""
    if policy is None:
        refusal = Reason.METHOD_NOT_ALLOWED.error(f"{full_name} is not available through the gateway")
        log_refusal(refusal, full_name, "", context.peer())
        raise refusal
    return policy
