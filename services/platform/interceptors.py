"""The server interceptor every process shares: request decoding, assertion check and error mapping.

Every request is decoded by a wrapped deserializer that never raises: bytes that do not parse
as the method's request message become `INVALID_ARGUMENT MALFORMED_REQUEST` (logged as one line,
without the bytes), not gRPC's own UNKNOWN with a Python class name and a traceback. Anything
else unexpected in a handler becomes `INTERNAL INTERNAL` with a generic message, logged once as
one line naming the exception class and where it was raised, never its message (which may hold
request data or SQL parameters); so does a failed call to another service the handler let
through (gRPC would answer it with UNKNOWN and no ErrorInfo).

For backends, a call with one request is admitted against the SHA-256 of the request's bytes
as they arrived: the request deserializer is wrapped so it hashes the bytes it parses
(`_bound`), and the handler is given only the parsed message once the assertion, bound to
those bytes, has been verified and its `jti` claimed (services.platform.assertion). A method
the backend declares read-only (`Backend.read_only`: it changes nothing in the backend) has
its claim run beside the handler instead of before it: every other check still comes first,
and the handler's answer (a response or an error) is released only once the claim has
succeeded; on a refused claim the refusal is the answer and the handler is cancelled
(docs/internal-assertion.md, "A read's claim beside its handler"). A method the backend claims
in its handler (`Backend.claimed_in_handler`: the audit log's AppendEvents) is given its claim
not made: the handler inserts the claim's row in the transaction that stores what the call
writes (`handler_claim`, services.platform.replay_store.claim_tickets), so the claim and the
write commit together or not at all. Its answer is released only once the claim is settled: a
handler that did not commit the claim (it refused the call before, or its transaction failed)
has it made here, before its answer goes out, and a refused claim is then the answer.

Every call is also timed into `rpc.server.duration` with its method and final status code
(services.platform.rpc_metrics); a method the server does not have counts as `_OTHER`."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

import grpc

from services.platform.error_reasons import Reason

from . import rpc_metrics
from .assertion import METADATA_KEY, STREAM_BINDING, Assertion, AssertionVerifier, request_binding
from .errors import ServiceError, invalid_argument
from .gated import released_once
from .replay_store import ReplayStore, ReplayTicket

log = logging.getLogger(__name__)

# Infrastructure services answer without an assertion: they reveal no patient data.
_OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_assertion: contextvars.ContextVar[Assertion] = contextvars.ContextVar("samhandling_assertion")
_handler_claim: contextvars.ContextVar[HandlerClaim | None] = contextvars.ContextVar(
    "samhandling_handler_claim", default=None
)


def current_assertion() -> Assertion:
    """The verified gateway assertion of the call being handled."""
    return _assertion.get()


class HandlerClaim:
    """The claim of a call's assertion, left to its handler: `ticket` is the row to insert in
    the transaction that stores the call's writes. The handler calls `settled` once that
    transaction has committed (the claim made), or once the claim was found refused (a replay:
    nothing of the call was stored, and the handler refuses it)."""

    __slots__ = ("ticket", "is_settled", "_fallback", "_store")

    def __init__(self, ticket: ReplayTicket, fallback: PendingClaim, store: ReplayStore) -> None:
        self.ticket = ticket
        self.is_settled = False
        self._fallback = fallback
        self._store = store

    def settled(self) -> None:
        self.is_settled = True
        self._store.sweep_soon()  # the claims the handler commits are swept as the store's own are

    async def settle(self) -> None:
        """Makes the claim in the replay store unless the handler settled it (raises ServiceError
        when refused or undecidable)."""
        if not self.is_settled:
            await self._fallback()
            self.is_settled = True


def handler_claim() -> HandlerClaim | None:
    """The claim the call's handler is to make (None: the claim was made before the handler)."""
    return _handler_claim.get()


async def abort(context: grpc.aio.ServicerContext, err: ServiceError) -> None:
    status = err.to_status()
    await context.abort(status.code, status.details, status.trailing_metadata)


async def _unknown_method(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    """Any call of a method the server does not have (raw bytes in, nothing out)."""
    await abort(context, Reason.METHOD_NOT_FOUND.error("this server has no such method"))
    yield b""  # never reached: makes this an async generator, as a stream handler is


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Maps ServiceError to its google.rpc status (anything unexpected to INTERNAL) and, for
    backends, refuses every call without a valid gateway assertion for this method.
    `read_only`: full method names ("/package.Service/Method") whose single request and single
    response change nothing in the backend, so their assertion's claim may run beside the
    handler; any other method is claimed before its handler runs."""

    def __init__(
        self,
        verifier: AssertionVerifier | None = None,
        metrics: rpc_metrics.RpcMetrics | None = None,
        read_only: Collection[str] = (),
        claimed_in_handler: Collection[str] = (),
        tickets: ReplayStore | None = None,
    ) -> None:
        """`claimed_in_handler`: full method names with one request and one response whose
        handler inserts its assertion's claim (`tickets.ticket`) in its own transaction."""
        self._verifier = verifier
        self._metrics = metrics or rpc_metrics.GLOBAL
        self._read_only = frozenset(read_only)
        self._claimed_in_handler = frozenset(claimed_in_handler)
        if self._claimed_in_handler and tickets is None:
            raise ValueError("methods claimed in their handler need the replay store's tickets")
        self._tickets = tickets

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            # No such method here: gRPC's own UNIMPLEMENTED would carry no ErrorInfo. The answer
            # is the same for every caller, so it reveals nothing an assertion would protect.
            unknown = _stream(
                _unknown_method, self._admission(None, None, details.method), details.method, self._measure(None)
            )
            return grpc.stream_stream_rpc_method_handler(unknown)
        # Infrastructure services (health, reflection) are admitted without an assertion, but
        # decoded and error-mapped like every other.
        verifier = None if details.method.startswith(_OPEN_PREFIXES) else self._verifier
        metadata = dict(details.invocation_metadata or ())
        token = metadata.get(METADATA_KEY)  # a text key: a str, never bytes
        # Only a read with one request and one response has its claim beside the handler: a
        # stream's messages go out as they are made, before any claim could be awaited.
        unary = verifier is not None and handler.unary_unary is not None
        beside = unary and details.method in self._read_only
        tickets = self._tickets if unary and details.method in self._claimed_in_handler else None
        admit = self._admission(verifier, token if isinstance(token, str) else None, details.method, beside, tickets)
        deserializer = _decoding(handler.request_deserializer)
        # Every shape of call is wrapped: a handler left unwrapped would skip the assertion check.
        # A single request is admitted against the hash of its bytes as received (`_bound`);
        # a request stream against the stream marker (services.platform.assertion).
        # The handler's behaviour is the servicer's coroutine or async generator (grpc-stubs types it sync).
        wrap: Callable[[Any, Admission, str, Measure], Callable[[Any, grpc.aio.ServicerContext], Any]]
        behaviour: Any
        if handler.unary_unary:
            behaviour, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler
        elif handler.unary_stream:
            behaviour, make = handler.unary_stream, grpc.unary_stream_rpc_method_handler
        elif handler.stream_unary:
            behaviour, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler
        else:
            behaviour, make = handler.stream_stream, grpc.stream_stream_rpc_method_handler
        # The wrapper keeps the handler's own form: a streaming handler yields its responses
        # (an async generator, or a function returning one), unless it is a coroutine writing
        # them with context.write (as health's Watch); a unary one returns its response.
        reader_writer = inspect.iscoroutinefunction(behaviour)
        wrap = _stream if handler.response_streaming and not reader_writer else _unary
        if verifier is not None and not handler.request_streaming:
            deserializer = _bound(deserializer)
        return make(
            wrap(behaviour, admit, details.method, self._measure(details.method)),
            deserializer,
            handler.response_serializer,
        )

    def _measure(self, method: str | None) -> Measure:
        """Records a call of `method` (None: one the server does not have) that began at `started`."""
        attributes = rpc_metrics.method_attributes(method)

        def measure(code: grpc.StatusCode, started: float) -> None:
            self._metrics.record(attributes, code, started)

        return measure

    @staticmethod
    def _admission(
        verifier: AssertionVerifier | None,
        token: str | None,
        method: str,
        beside: bool = False,
        tickets: ReplayStore | None = None,
    ) -> Admission:
        """`beside`: the claim is not made here but handed back, to run beside the handler;
        `tickets`: nor here, but handed back as the HandlerClaim the handler makes."""

        async def admit(request: Any) -> tuple[Any, PendingClaim | None]:
            pending: PendingClaim | None = None
            if verifier is not None:
                if isinstance(request, _BoundRequest):
                    assertion, claim_until = verifier.check(token, method, request.binding)
                    request = request.message
                else:
                    assertion, claim_until = verifier.check(token, method, STREAM_BINDING)
                pending = functools.partial(verifier.claim, assertion.jti, claim_until)
                if tickets is not None:  # handed back: `_unary` settles it once the handler has ended
                    claim = HandlerClaim(tickets.ticket(assertion.jti, claim_until), pending, tickets)
                    _handler_claim.set(claim)
                    pending = claim.settle
                elif not beside:
                    await pending()
                    pending = None
                _assertion.set(assertion)
            # Only an admitted call learns whether its request could be read.
            if request is _UNDECODABLE:
                if pending is not None:  # even this refusal waits for the claim
                    await pending()
                raise _malformed(method)
            if hasattr(request, "__aiter__"):  # a request stream
                return _decoded(request, method), pending
            return request, pending

        return admit


# Records a call's final status code and its start (time.perf_counter()) in rpc.server.duration.
Measure = Callable[[grpc.StatusCode, float], None]

# The claim of a checked assertion's `jti`, not yet made (raises ServiceError when refused).
PendingClaim = Callable[[], Awaitable[None]]

# Admits a call (raises ServiceError otherwise): given the call's request as deserialised
# (a `_BoundRequest`, or a request iterator), returns what the handler is given, and the claim
# still to be made beside the handler (None: claimed already, or nothing to claim).
Admission = Callable[[Any], Awaitable[tuple[Any, PendingClaim | None]]]


class _Undecodable:
    """Stands for a request whose bytes do not parse as the method's request message."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<undecodable request>"


_UNDECODABLE = _Undecodable()


def _decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """The request deserializer, answering `_UNDECODABLE` instead of raising: gRPC would
    answer a raising deserializer with UNKNOWN and log a traceback with the exception."""
    if deserializer is None:
        return None

    def deserialize(body: bytes) -> Any:
        try:
            return deserializer(body)
        except Exception:  # DecodeError, or whatever else a parser raises: the bytes are unusable
            return _UNDECODABLE

    return deserialize


async def _decoded(requests: AsyncIterator[Any], method: str) -> AsyncIterator[Any]:
    """A request stream, refused at the first message that could not be decoded."""
    async for request in requests:
        if request is _UNDECODABLE:
            raise _malformed(method)
        yield request


def _malformed(method: str) -> ServiceError:
    log.info("malformed request refused", extra={"method": method})
    return invalid_argument(
        {"request": "the bytes do not decode as this method's request message"}, reason=Reason.MALFORMED_REQUEST
    )


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


def _internal(method: str, exc: Exception) -> ServiceError:
    """INTERNAL with a generic message; logged once, as one line: the exception's class and
    the frames it passed through, never its message or arguments (they may hold request data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames[-8:]))
    log.error("unhandled error", extra={"method": method, "error": exc.__class__.__name__, "at": where})
    return Reason.INTERNAL.error("internal error")


def _ended_with(context: grpc.aio.ServicerContext, exc: BaseException) -> grpc.StatusCode:
    """The status code of a call whose handler raised `exc`, for the metrics."""
    if isinstance(exc, ServiceError):
        return exc.code
    if isinstance(exc, grpc.aio.AbortError):  # the call was answered (context.abort)
        return rpc_metrics.ended_with(context, grpc.StatusCode.UNKNOWN)
    if isinstance(exc, (asyncio.CancelledError, GeneratorExit)):  # the caller went away, or the server stops
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.INTERNAL


async def _answer(context: grpc.aio.ServicerContext, method: str, exc: BaseException) -> None:
    """Answers a call whose handler raised `exc` with the error model (context.abort, which
    raises): a ServiceError as itself, anything unexpected as INTERNAL. A call already answered,
    cancelled or closed is left to end with what it raised."""
    if isinstance(exc, ServiceError):
        await abort(context, exc)
    elif isinstance(exc, Exception) and not isinstance(exc, grpc.aio.AbortError):
        await abort(context, _internal(method, exc))


Behaviour = Callable[[Any, grpc.aio.ServicerContext], Any]


def _unary(
    behaviour: Behaviour, admit: Admission, method: str, measure: Measure
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    """A handler that is a coroutine: it returns the response, or (a server stream written with
    context.write, as health's Watch) None. `request` is the request, or the request iterator
    of a client stream. Its final status code is given to `measure`."""

    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started, code = time.perf_counter(), grpc.StatusCode.OK
        try:
            request, pending = await admit(request)
            claim = _handler_claim.get()
            if claim is not None:
                return await _claimed_in_handler(claim, behaviour(request, context))
            if pending is not None:
                return await released_once(pending(), behaviour(request, context))
            return await behaviour(request, context)
        except (Exception, asyncio.CancelledError, GeneratorExit) as exc:
            code = _ended_with(context, exc)
            await _answer(context, method, exc)
            raise
        finally:
            measure(rpc_metrics.ended_with(context, code) if code is grpc.StatusCode.OK else code, started)

    return run


async def _claimed_in_handler(claim: HandlerClaim, answer: Awaitable[Any]) -> Any:
    """`answer`'s outcome, released once its handler's claim is settled: made here if the
    handler did not commit it, and then a refusal is the answer instead."""
    try:
        result = await answer
    except grpc.aio.AbortError:  # answered already (context.abort): the claim is still made
        with contextlib.suppress(ServiceError):
            await claim.settle()
        raise
    except asyncio.CancelledError:
        # The caller went away (its deadline, a disconnect) while the handler waited, e.g. in the
        # group commit's queue, where a cancelled call is dropped unstored: the assertion is
        # still used up, by a claim made apart from this cancelled task (refused, harmlessly,
        # when the handler's own transaction committed it after all).
        settling = asyncio.ensure_future(_settle_quietly(claim))
        _SETTLING.add(settling)
        settling.add_done_callback(_SETTLING.discard)
        raise
    except Exception:  # an error is an answer too: released once the claim is settled
        await claim.settle()
        raise
    await claim.settle()
    return result


# The claims of cancelled calls being made (held until they end, so none is collected unfinished).
_SETTLING: set[asyncio.Future[None]] = set()


async def _settle_quietly(claim: HandlerClaim) -> None:
    with contextlib.suppress(ServiceError):
        await claim.settle()


def _stream(
    behaviour: Behaviour, admit: Admission, method: str, measure: Measure
) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
    """A handler that is an async generator of the responses; `request` as for `_unary`."""

    async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started, code = time.perf_counter(), grpc.StatusCode.OK
        try:
            request, pending = await admit(request)
            if pending is not None:  # only a call with one response is admitted with its claim pending
                await pending()
            async for item in behaviour(request, context):
                yield item
        except (Exception, asyncio.CancelledError, GeneratorExit) as exc:
            code = _ended_with(context, exc)
            await _answer(context, method, exc)
            raise
        finally:
            measure(rpc_metrics.ended_with(context, code) if code is grpc.StatusCode.OK else code, started)

    return run


def asserted_patient(patient_id: str) -> None:
    """Refuses a request about another patient than the one the gateway decided for."""
    if current_assertion().patient_id != patient_id:
        raise Reason.ASSERTION_PATIENT_MISMATCH.error(
            "the request concerns another patient than the gateway authorised"
        )
