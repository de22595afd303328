"""The server interceptor every process shares: assertion check and error mapping.

For backends, a call with one request is admitted against the SHA-256 of the request's bytes
as they arrived: the request deserializer is wrapped so it hashes the bytes it parses
(`_bound`), and the handler is given only the parsed message once the assertion, bound to
those bytes, has been verified and its `jti` claimed (services.platform.assertion)."""
from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from .assertion import METADATA_KEY, STREAM_BINDING, Assertion, AssertionVerifier, request_binding
from .errors import ServiceError, permission_denied

log = logging.getLogger(__name__)

# Infrastructure services answer without an assertion: they reveal no patient data.
_OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_assertion: contextvars.ContextVar[Assertion] = contextvars.ContextVar("samhandling_assertion")


def current_assertion() -> Assertion:
    """The verified gateway assertion of the call being handled."""
    return _assertion.get()


async def abort(context: grpc.aio.ServicerContext, err: ServiceError) -> None:
    status = err.to_status()
    await context.abort(status.code, status.details, status.trailing_metadata)


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Maps ServiceError to its google.rpc status (anything unexpected to INTERNAL) and, for
    backends, refuses every call without a valid gateway assertion for this method."""

    def __init__(self, verifier: AssertionVerifier | None = None) -> None:
        self._verifier = verifier

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_OPEN_PREFIXES):
            return handler
        metadata = dict(details.invocation_metadata or ())
        token = metadata.get(METADATA_KEY)  # a text key: a str, never bytes
        admit = self._admission(token if isinstance(token, str) else None, details.method)
        deserializer = handler.request_deserializer
        # Every shape of call is wrapped: a handler left unwrapped would skip the assertion check.
        # A single request is admitted against the hash of its bytes as received (`_bound`);
        # a request stream against the stream marker (services.platform.assertion).
        # The handler's behaviour is the servicer's coroutine or async generator (grpc-stubs types it sync).
        wrap: Callable[[Any, Admission, str], Callable[[Any, grpc.aio.ServicerContext], Any]]
        behaviour: Any
        if handler.unary_unary:
            wrap, behaviour, make = _unary, handler.unary_unary, grpc.unary_unary_rpc_method_handler
        elif handler.unary_stream:
            wrap, behaviour, make = _stream, handler.unary_stream, grpc.unary_stream_rpc_method_handler
        elif handler.stream_unary:
            wrap, behaviour, make = _unary, handler.stream_unary, grpc.stream_unary_rpc_method_handler
        else:
            wrap, behaviour, make = _stream, handler.stream_stream, grpc.stream_stream_rpc_method_handler
        if self._verifier is not None and not handler.request_streaming:
            deserializer = _bound(deserializer)
        return make(wrap(behaviour, admit, details.method), deserializer, handler.response_serializer)

    def _admission(self, token: str | None, method: str) -> Admission:
        async def admit(request: Any) -> Any:
            if self._verifier is None:
                return request
            if isinstance(request, _BoundRequest):
                _assertion.set(await self._verifier.verify(token, method, request.binding))
                return request.message
            _assertion.set(await self._verifier.verify(token, method, STREAM_BINDING))
            return request

        return admit


# Admits a call (raises ServiceError otherwise): given the call's request as deserialised
# (a `_BoundRequest`, or a request iterator), returns what the handler is given.
Admission = Callable[[Any], Awaitable[Any]]


class _BoundRequest:
    """A request message with the binding of the bytes it was parsed from."""

    __slots__ = ("message", "binding")

    def __init__(self, message: Any, binding: str) -> None:
        self.message = message
        self.binding = binding


def _bound(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], _BoundRequest]:
    """The request deserializer, also hashing the bytes it is given: what was on the wire."""

    def deserialize(body: bytes) -> _BoundRequest:
        return _BoundRequest(deserializer(body) if deserializer else body, request_binding(body))

    return deserialize


def _internal(method: str) -> ServiceError:
    log.exception("unhandled error in %s", method)
    return ServiceError(grpc.StatusCode.INTERNAL, "INTERNAL", "internal error")


def _unary(
    behaviour: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], admit: Admission, method: str
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    """Unary response; `request` is the request, or the request iterator of a client stream."""

    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            request = await admit(request)
            return await behaviour(request, context)
        except ServiceError as err:
            await abort(context, err)
        except (grpc.aio.AbortError, grpc.RpcError):
            raise
        except Exception:
            await abort(context, _internal(method))

    return run


def _stream(
    behaviour: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]], admit: Admission, method: str
) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
    """Streamed response from an async generator; `request` as for `_unary`."""

    async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            request = await admit(request)
            async for item in behaviour(request, context):
                yield item
        except ServiceError as err:
            await abort(context, err)
        except (grpc.aio.AbortError, grpc.RpcError):
            raise
        except Exception:
            await abort(context, _internal(method))

    return run


def asserted_patient(patient_id: str) -> None:
    """Refuses a request about another patient than the one the gateway decided for."""
    if current_assertion().patient_id != patient_id:
        raise permission_denied(
            "ASSERTION_PATIENT_MISMATCH", "the request concerns another patient than the gateway authorised"
        )
