"""The google.rpc error model over HTTP: the one table from status code to HTTP status, the
JSON error body, and the refusals of the HTTP layer itself (route, method, media type, size)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import grpc
from starlette.responses import JSONResponse

from services.platform.dpop import ALGORITHMS as DPOP_ALGORITHMS
from services.platform.errors import ServiceError

REALM = "samhandling"
S = grpc.StatusCode

# google/rpc/code.proto names the HTTP status of every code.
HTTP_STATUS: Mapping[grpc.StatusCode, int] = {
    S.OK: 200,
    S.CANCELLED: 499,
    S.UNKNOWN: 500,
    S.INVALID_ARGUMENT: 400,
    S.DEADLINE_EXCEEDED: 504,
    S.NOT_FOUND: 404,
    S.ALREADY_EXISTS: 409,
    S.PERMISSION_DENIED: 403,
    S.RESOURCE_EXHAUSTED: 429,
    S.FAILED_PRECONDITION: 400,
    S.ABORTED: 409,
    S.OUT_OF_RANGE: 400,
    S.UNIMPLEMENTED: 501,
    S.INTERNAL: 500,
    S.UNAVAILABLE: 503,
    S.DATA_LOSS: 500,
    S.UNAUTHENTICATED: 401,
}
# Reasons about the token itself rather than the DPoP proof (RFC 9449 section 7.1).
_TOKEN_BINDING_REASONS = frozenset({"DPOP_REQUIRED", "DPOP_TOKEN_NOT_BOUND", "DPOP_BOUND_TOKEN_AS_BEARER"})


@dataclass
class HttpRefusal(ServiceError):
    """A refusal by the HTTP layer whose HTTP status is more precise than its code's."""

    http_status: int = 400


def http_status(err: ServiceError) -> int:
    return err.http_status if isinstance(err, HttpRefusal) else HTTP_STATUS.get(err.code, 500)


def error_body(err: ServiceError) -> dict:
    return {
        "error": {
            "code": err.code.name,
            "reason": err.reason,
            "message": err.message,
            "fieldViolations": [{"field": f, "description": d} for f, d in err.field_violations.items()],
        }
    }


def error_response(err: ServiceError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    response = JSONResponse(error_body(err), status_code=http_status(err), headers=headers)
    if err.code == S.UNAUTHENTICATED:
        for challenge in challenges(err.reason):
            response.headers.append("www-authenticate", challenge)
    return response


def challenges(reason: str) -> list[str]:
    """WWW-Authenticate challenges for a 401 (RFC 6750 section 3, RFC 9449 section 7.1): both
    schemes are offered; no error code when no credentials came at all."""
    token_error = "" if reason == "TOKEN_MISSING" else ', error="invalid_token"'
    proof_error = token_error
    if reason.startswith("DPOP_") and reason not in _TOKEN_BINDING_REASONS:
        proof_error = ', error="invalid_dpop_proof"'
    algs = " ".join(sorted(DPOP_ALGORITHMS))
    return [f'Bearer realm="{REALM}"{token_error}', f'DPoP realm="{REALM}", algs="{algs}"{proof_error}']


def route_not_found() -> HttpRefusal:
    return HttpRefusal(S.NOT_FOUND, "ROUTE_NOT_FOUND", "no such route in this API", http_status=404)


def method_not_allowed() -> HttpRefusal:
    return HttpRefusal(S.UNIMPLEMENTED, "HTTP_METHOD_NOT_ALLOWED", "this route does not take this HTTP method",
                       http_status=405)


def unsupported_media_type() -> HttpRefusal:
    return HttpRefusal(S.INVALID_ARGUMENT, "UNSUPPORTED_MEDIA_TYPE", "request bodies must be application/json (UTF-8)",
                       http_status=415)


def body_too_large(limit: int) -> HttpRefusal:
    return HttpRefusal(S.INVALID_ARGUMENT, "BODY_TOO_LARGE", f"the request body exceeds {limit} bytes", http_status=413)


def internal() -> ServiceError:
    return ServiceError(S.INTERNAL, "INTERNAL", "internal error")
