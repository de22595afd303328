"""The google.rpc error model over HTTP: each error's HTTP status (the catalogue's, in
services/platform/error_reasons.py), the JSON error body, and the refusals of the HTTP layer
itself (route, method, media type, size)."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from starlette.responses import JSONResponse

from services.platform.dpop import ALGORITHMS as DPOP_ALGORITHMS
from services.platform.error_reasons import HTTP_STATUS, Reason, catalogued
from services.platform.errors import ServiceError

REALM = "samhandling"
S = grpc.StatusCode

# Reasons about the token itself rather than the DPoP proof (RFC 9449 section 7.1).
_TOKEN_BINDING_REASONS = frozenset(
    {Reason.DPOP_REQUIRED, Reason.DPOP_TOKEN_NOT_BOUND, Reason.DPOP_BOUND_TOKEN_AS_BEARER}
)


def http_status(err: ServiceError) -> int:
    """The catalogue's HTTP status for the error's reason (more precise than its code's for the
    HTTP layer's own refusals: route, method, media type, size); a reason outside the catalogue
    (a peer's) gets its code's."""
    entry = catalogued(err.reason, err.code)
    return entry.http_status if entry else HTTP_STATUS.get(err.code, 500)


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
    token_error = "" if reason == Reason.TOKEN_MISSING else ', error="invalid_token"'
    proof_error = token_error
    if reason.startswith("DPOP_") and reason not in _TOKEN_BINDING_REASONS:
        proof_error = ', error="invalid_dpop_proof"'
    algs = " ".join(sorted(DPOP_ALGORITHMS))
    return [f'Bearer realm="{REALM}"{token_error}', f'DPoP realm="{REALM}", algs="{algs}"{proof_error}']


def route_not_found() -> ServiceError:
    return Reason.ROUTE_NOT_FOUND.error("no such route in this API")


def method_not_allowed() -> ServiceError:
    return Reason.HTTP_METHOD_NOT_ALLOWED.error("this route does not take this HTTP method")


def unsupported_media_type() -> ServiceError:
    return Reason.UNSUPPORTED_MEDIA_TYPE.error("request bodies must be application/json (UTF-8)")


def body_too_large(limit: int) -> ServiceError:
    return Reason.BODY_TOO_LARGE.error(f"the request body exceeds {limit} bytes")


def internal() -> ServiceError:
    return Reason.INTERNAL.error("internal error")
