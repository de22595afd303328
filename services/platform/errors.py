"""The one error model: google.rpc.Status with one ErrorInfo and optional BadRequest.

Domain code raises these; the server interceptor turns them into the wire status, so no
handler builds a status by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "samhandling.no"


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
        details[0].Pack(error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata))
        if self.field_violations:
            bad = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                    for f, d in self.field_violations.items()
                ]
            )
            details.append(any_pb2.Any())
            details[-1].Pack(bad)
        status = status_pb2.Status(code=_CODES[self.code], message=self.message, details=details)
        return rpc_status.to_status(status)


_CODES = {c: getattr(code_pb2, c.name) for c in grpc.StatusCode}


def invalid_argument(field_violations: dict[str, str], reason: str = "INVALID_ARGUMENT") -> ServiceError:
    first = next(iter(field_violations))
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, reason, f"invalid {first}: {field_violations[first]}",
                        field_violations)


def unauthenticated(reason: str, message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.UNAUTHENTICATED, reason, message)


def permission_denied(reason: str, message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.PERMISSION_DENIED, reason, message)


def not_found(reason: str, message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.NOT_FOUND, reason, message)


def unavailable(reason: str, message: str) -> ServiceError:
    return ServiceError(grpc.StatusCode.UNAVAILABLE, reason, message)


def error_info(rpc_error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    """The (reason, field violations) of a received error; for clients and tests."""
    # from_call reads code(), details() and trailing_metadata(): a grpc.Call or a grpc.aio.AioRpcError.
    has_status = hasattr(rpc_error, "trailing_metadata")
    status = rpc_status.from_call(rpc_error) if has_status else None  # type: ignore[arg-type]
    reason, violations = "", {}
    for detail in status.details if status else ():
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(bad):
            violations = {v.field: v.description for v in bad.field_violations}
    return reason, violations


class RelayedError(ServiceError):
    """A google.rpc error received from another service, passed on unchanged."""

    def __init__(self, rpc_error: grpc.aio.AioRpcError) -> None:
        reason, violations = error_info(rpc_error)
        super().__init__(rpc_error.code(), reason, rpc_error.details() or "", violations)
        self._trailing = tuple(rpc_error.trailing_metadata() or ())

    def to_status(self) -> grpc.Status:
        return _Status(self.code, self.message, self._trailing)


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple
