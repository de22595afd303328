"""The server interceptor every process shares: assertion check and error mapping."""
from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from .assertion import METADATA_KEY, Assertion, AssertionVerifier
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

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or details.method.startswith(_OPEN_PREFIXES):
            return handler
        metadata = dict(details.invocation_metadata or ())
        admit = self._admission(metadata.get(METADATA_KEY), details.method)
        # Every shape of call is wrapped: a handler left unwrapped would skip the assertion check.
        if handler.unary_unary:
            wrap, behaviour, make = _unary, handler.unary_unary, grpc.unary_unary_rpc_method_handler
        elif handler.unary_stream:
            wrap, behaviour, make = _stream, handler.unary_stream, grpc.unary_stream_rpc_method_handler
        elif handler.stream_unary:
            wrap, behaviour, make = _unary, handler.stream_unary, grpc.stream_unary_rpc_method_handler
        else:
            wrap, behaviour, make = _stream, handler.stream_stream, grpc.stream_stream_rpc_method_handler
        return make(wrap(behaviour, admit, details.method), handler.request_deserializer, handler.response_serializer)

    def _admission(self, token: str | None, method: str) -> Callable[[], None]:
        def admit() -> None:
            if self._verifier is not None:
                _assertion.set(self._verifier.verify(token, method))

        return admit


def _internal(method: str) -> ServiceError:
    log.exception("unhandled error in %s", method)
    return ServiceError(grpc.StatusCode.INTERNAL, "INTERNAL", "internal error")


def _unary(behaviour, admit: Callable[[], None], method: str):
    """Unary response; `request` is the request, or the request iterator of a client stream."""

    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            admit()
            return await behaviour(request, context)
        except ServiceError as err:
            await abort(context, err)
        except (grpc.aio.AbortError, grpc.RpcError):
            raise
        except Exception:
            await abort(context, _internal(method))

    return run


def _stream(behaviour, admit: Callable[[], None], method: str):
    """Streamed response from an async generator; `request` as for `_unary`."""

    async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            admit()
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
