"""The one error model: google.rpc.Status with one ErrorInfo and optional BadRequest.

Domain code raises these, each with a reason of the catalogue (`error_reasons.Reason`, which
gives its code); the server interceptor turns them into the wire status, so no handler builds
a status by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.platform.error_reasons import Reason

ERROR_DOMAIN = "samhandling.no"
# The status travels in trailers (grpc-message percent-encoded, grpc-status-details-bin in
# base64) that gRPC clients accept up to 8 KiB by default; a longer status is dropped and the
# client sees RESOURCE_EXHAUSTED instead. Every text of it is therefore cut to a bound (in UTF-8
# bytes), so an error that names a long input keeps its code and reason: the whole status stays
# under 5 KiB on the wire.
MAX_MESSAGE_BYTES = 200
MAX_FIELD_BYTES = 80
MAX_DESCRIPTION_BYTES = 160
MAX_VIOLATIONS_BYTES = 2400  # all field violations together; those beyond are left out
MAX_METADATA_ENTRIES = 4
MAX_METADATA_KEY_BYTES = 64
MAX_METADATA_VALUE_BYTES = 128


@dataclass
class ServiceError(Exception):
    """An error that carries its wire mapping: status code, UPPER_SNAKE reason, message."""

    code: grpc.StatusCode
    reason: str
    message: str
    field_violations: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code.name} {self.reason}: {self.message}"

    def to_status(self) -> grpc.Status:
        details = [any_pb2.Any()]
        metadata = {
            _cut(k, MAX_METADATA_KEY_BYTES): _cut(v, MAX_METADATA_VALUE_BYTES)
            for k, v in list(self.metadata.items())[:MAX_METADATA_ENTRIES]
        }
        details[0].Pack(error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=metadata))
        if self.field_violations:
            bad = error_details_pb2.BadRequest(field_violations=_bounded_violations(self.field_violations))
            details.append(any_pb2.Any())
            details[-1].Pack(bad)
        status = status_pb2.Status(
            code=_CODES[self.code], message=_cut(self.message, MAX_MESSAGE_BYTES), details=details
        )
        return rpc_status.to_status(status)


def _bounded_violations(violations: dict[str, str]) -> list[error_details_pb2.BadRequest.FieldViolation]:
    """Each violation cut to its bounds, in order, as many as fit in MAX_VIOLATIONS_BYTES."""
    bounded, used = [], 0
    for name, description in violations.items():
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=_cut(name, MAX_FIELD_BYTES), description=_cut(description, MAX_DESCRIPTION_BYTES)
        )
        used += violation.ByteSize()
        if used > MAX_VIOLATIONS_BYTES:
            break
        bounded.append(violation)
    return bounded


def _cut(text: str, limit: int) -> str:
    """`text`, or as much of it as fits in `limit` UTF-8 bytes with "…" to show it was cut."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - len("…".encode())].decode(errors="ignore") + "…"


_CODES = {c: getattr(code_pb2, c.name) for c in grpc.StatusCode}


def invalid_argument(field_violations: dict[str, str], reason: Reason = Reason.INVALID_ARGUMENT) -> ServiceError:
    first = next(iter(field_violations))
    return _entry(reason, grpc.StatusCode.INVALID_ARGUMENT).error(
        f"invalid {first}: {field_violations[first]}", field_violations
    )


# The helpers by code take a catalogued reason and refuse one catalogued with another code; the
# product raises `Reason.X.error(...)` (one way), tests build expected errors with these.
def unauthenticated(reason: Reason, message: str) -> ServiceError:
    return _entry(reason, grpc.StatusCode.UNAUTHENTICATED).error(message)


def permission_denied(reason: Reason, message: str) -> ServiceError:
    return _entry(reason, grpc.StatusCode.PERMISSION_DENIED).error(message)


def not_found(reason: Reason, message: str) -> ServiceError:
    return _entry(reason, grpc.StatusCode.NOT_FOUND).error(message)


def unavailable(reason: Reason, message: str) -> ServiceError:
    return _entry(reason, grpc.StatusCode.UNAVAILABLE).error(message)


def _entry(reason: Reason | str, code: grpc.StatusCode) -> Reason:
    entry = Reason[reason]  # a plain string (from a test) must name an entry too
    if entry.code != code:
        raise ValueError(f"{entry.value} is catalogued as {entry.code.name}, not {code.name}")
    return entry


def error_info(rpc_error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    """The (reason, field violations) of a received error; for clients and tests. ("", {})
    when it carries no google.rpc status, or one that contradicts the call's code."""
    try:
        # from_call reads code(), details() and trailing_metadata(): a grpc.Call or a grpc.aio.AioRpcError.
        has_status = hasattr(rpc_error, "trailing_metadata")
        status = rpc_status.from_call(rpc_error) if has_status else None  # type: ignore[arg-type]
    except ValueError:  # the status's code is not the call's: not the error model
        status = None
    reason, violations = "", {}
    for detail in status.details if status else ():
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad):
            violations = {v.field: v.description for v in bad.field_violations}
    return reason, violations


class RelayedError(ServiceError):
    """A google.rpc error received from another service, passed on unchanged. One without a
    readable ErrorInfo (a status the transport replaced, e.g. RESOURCE_EXHAUSTED for oversized
    trailers) is not the error model: it becomes UNAVAILABLE BACKEND_UNAVAILABLE."""

    def __init__(self, rpc_error: grpc.aio.AioRpcError) -> None:
        reason, violations = error_info(rpc_error)
        self._trailing: tuple | None = tuple(rpc_error.trailing_metadata() or ())
        if not reason:
            super().__init__(
                Reason.BACKEND_UNAVAILABLE.code, Reason.BACKEND_UNAVAILABLE.value, "a service cannot answer now"
            )
            self._trailing = None
            return
        super().__init__(rpc_error.code(), reason, rpc_error.details() or "", violations)

    def to_status(self) -> grpc.Status:
        if self._trailing is None:
            return super().to_status()
        return _Status(self.code, self.message, self._trailing)


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple
