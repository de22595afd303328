"""The OpenAPI 3.1 description of the JSON API, built from the route table, the policy table
and the proto descriptors (and their doc comments), never written by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from samhandling.audit.v1 import audit_pb2
from samhandling.capacity.v1 import capacity_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2

from ..policy import MethodPolicy
from .errors import HTTP_STATUS, S
from .proto_comments import comments_of
from .proto_schema import ProtoSchemas
from .readiness import READY_PATH
from .routes import GET_RECEIPT_KEYS, NDJSON, OPENAPI_PATH, RECEIPT_KEYS_PATH, ApiRoute

JWK_SET_MEDIA_TYPE = "application/jwk-set+json"
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
# name → (HTTP status, description); every error answer has the Error body.
_ERRORS: Mapping[str, tuple[int, str]] = {
    "InvalidArgument": (400, "Bad input (INVALID_ARGUMENT): a field violation per bad field; nothing was changed."),
    "Unauthenticated": (401, "No valid access token or DPoP proof (UNAUTHENTICATED)."),
    "PermissionDenied": (403, "Not allowed (PERMISSION_DENIED), e.g. CONSENT_DENIED for another patient's data."),
    "NotFound": (404, "No such thing (NOT_FOUND), e.g. RULE_NOT_FOUND."),
    "PayloadTooLarge": (413, "The body is larger than the API accepts (BODY_TOO_LARGE)."),
    "UnsupportedMediaType": (415, "The body is not application/json (UNSUPPORTED_MEDIA_TYPE)."),
    "Internal": (500, "An error of the suite itself (INTERNAL)."),
    "Unavailable": (503, "A service the answer depends on cannot answer now (UNAVAILABLE); nothing was served."),
}
_CALL_ERRORS = ("InvalidArgument", "Unauthenticated", "PermissionDenied", "NotFound", "Internal", "Unavailable")
_BODY_ERRORS = ("PayloadTooLarge", "UnsupportedMediaType")
_PUBLIC_ERRORS = ("Internal", "Unavailable")
_DESCRIPTION = """\
The patients' side of Samhandling: their sharing rules (consent), the notifications about
accesses to their data, and their access log. Every operation is one gRPC method of the
gateway (named in `x-grpc-method`) and passes the same checks: token, method policy,
consent decision, audit event.

- Authenticate with `Authorization: Bearer <token>`, or with `Authorization: DPoP <token>`
  and a `DPoP` proof (RFC 9449) whose `htm` is the HTTP method and `htu` the request URL
  without query and fragment.
- Bodies and answers are the proto3 JSON mapping: field names in lowerCamelCase (the proto
  names are accepted too), enums by name, 64-bit integers as strings, times in RFC 3339 UTC.
  Unknown fields are refused. Query parameters use the proto field names.
- Free text follows one rule (the `Text` schemas): printable characters only, in Unicode
  normalisation form C, line breaks only where a field allows them; lengths in code points.
- Errors follow google.rpc: the HTTP status of the code and the `Error` body with an
  UPPER_SNAKE `reason`; field violations name proto field paths (an unknown key as sent).
- Answers about a patient carry `Cache-Control: no-store`.
"""


def openapi_document(
    routes: Sequence[ApiRoute], policies: Mapping[str, MethodPolicy], *, public_url: str | None = None
) -> dict[str, Any]:
    comments = comments_of(consent_pb2, audit_pb2, summary_pb2, escalation_pb2, capacity_pb2, common_pb2)
    schemas = ProtoSchemas(comments)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation = _operation(route, policies[route.rpc], schemas, comments)
        paths.setdefault(route.path, {})[route.http_method.lower()] = operation
    paths[RECEIPT_KEYS_PATH] = {"get": _receipt_keys_operation(comments)}
    paths[OPENAPI_PATH] = {"get": _openapi_operation()}
    paths[READY_PATH] = {"get": _ready_operation()}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Samhandling gateway JSON API", "version": "v1", "description": _DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": {**dict(sorted(schemas.components.items())), "Error": _error_schema(), "JwkSet": _JWK_SET},
            "responses": {name: _error_response(name) for name in _ERRORS},
            "parameters": {"DPoP": _DPOP_PARAMETER},
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }
    if public_url:
        document["servers"] = [{"url": public_url.rstrip("/")}]
    return document


def _operation(
    route: ApiRoute, policy: MethodPolicy, schemas: ProtoSchemas, comments: Mapping[str, str]
) -> dict[str, Any]:
    request = route.method.input_type
    parameters = [_parameter(request.fields_by_name[name], "path", schemas) for name in route.path_fields]
    if not route.has_body:
        parameters += [_parameter(f, "query", schemas) for f in request.fields if f.name not in route.path_fields]
    body = schemas.request(request, omit=route.path_fields) if route.has_body else None
    operation: dict[str, Any] = {
        "operationId": route.method.name,
        "summary": comments.get(f"{route.method.containing_service.full_name}.{route.method.name}", ""),
        "description": _who_may(policy),
        "tags": [route.method.containing_service.name],
        "x-grpc-method": route.rpc,
        "security": [{"bearer": sorted(set(policy.access.values()))}, {"dpop": sorted(set(policy.access.values()))}],
        "parameters": [*parameters, {"$ref": "#/components/parameters/DPoP"}],
        "responses": {
            "200": _document(route.document)
            if route.document
            else _ndjson(route, schemas)
            if route.streams
            else {
                "description": comments.get(route.method.output_type.full_name, "OK"),
                "content": {"application/json": {"schema": schemas.ref(route.method.output_type)}},
            },
            **_error_refs(_CALL_ERRORS + (_BODY_ERRORS if route.has_body else ())),
        },
    }
    if body is not None:
        # An empty body is an empty object: a body is required only where a field is.
        operation["requestBody"] = {
            "required": bool(body.get("required")),
            "content": {"application/json": {"schema": body}},
        }
    return operation


def _ndjson(route: ApiRoute, schemas: ProtoSchemas) -> dict[str, Any]:
    description = (
        "A stream: one JSON object per line, each a message of this schema; an error after the "
        "stream has started comes as a last line with the error body."
    )
    return _content(description, NDJSON, schemas.ref(route.method.output_type))


def _document(document: tuple[str, str]) -> dict[str, Any]:
    field, media_type = document
    description = f"The document the gRPC response carries in `{field}`, served as is."
    return _content(description, media_type, {"type": "object"})


def _parameter(field: FieldDescriptor, where: str, schemas: ProtoSchemas) -> dict[str, Any]:
    schema = schemas.field(field, request=True)
    description = schema.pop("description", "")
    required = where == "path" or schemas.required(field)
    parameter: dict[str, Any] = {"name": field.name, "in": where, "required": required, "schema": schema}
    if field.is_repeated:
        parameter |= {"style": "form", "explode": True}
    return {**parameter, "description": description} if description else parameter


def _who_may(policy: MethodPolicy) -> str:
    callers = ", ".join(f"{kind.value.lower()} (scope `{scope}`)" for kind, scope in policy.access.items())
    text = f"Callers: {callers}."
    if policy.concerns_patient:
        text += " Decided by the patient's consent and recorded in the audit log, permit or deny."
    return text


def _receipt_keys_operation(comments: Mapping[str, str]) -> dict[str, Any]:
    service, _, method = GET_RECEIPT_KEYS.lstrip("/").partition("/")
    return {
        "operationId": method,
        "summary": comments.get(f"{service}.{method}", "The public keys that verify consent receipts."),
        "description": "Public, no token: a JWK Set (RFC 7517) verifying the `receipt` (a compact JWS) of a rule.",
        "tags": [service.rpartition(".")[2]],
        "x-grpc-method": GET_RECEIPT_KEYS,
        "security": [],
        "responses": {
            "200": _content("The JWK Set.", JWK_SET_MEDIA_TYPE, {"$ref": "#/components/schemas/JwkSet"}),
            **_error_refs(_PUBLIC_ERRORS),
        },
    }


def _openapi_operation() -> dict[str, Any]:
    return {
        "operationId": "GetOpenApi",
        "summary": "This description of the API.",
        "security": [],
        "responses": {"200": _content("An OpenAPI 3.1 document.", "application/json", {"type": "object"})},
    }


def _ready_operation() -> dict[str, Any]:
    status = {"type": "object", "properties": {"status": {"enum": ["SERVING", "NOT_SERVING"]}}}
    return {
        "operationId": "GetReadiness",
        "summary": "Whether this gateway replica takes new requests (for load balancers; no patient data).",
        "security": [],
        "responses": {
            "200": _content("Serving.", "application/json", status),
            "503": _content("Draining: about to stop; send new requests elsewhere.", "application/json", status),
        },
    }


def _error_refs(names: Sequence[str]) -> dict[str, Any]:
    by_status = sorted((_ERRORS[n][0], n) for n in names)
    return {str(status): {"$ref": f"#/components/responses/{name}"} for status, name in by_status}


def _content(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _error_response(name: str) -> dict[str, Any]:
    status, description = _ERRORS[name]
    response = _content(description, "application/json", _ERROR_REF)
    if status == 401:
        challenge = "A Bearer and a DPoP challenge (RFC 6750, RFC 9449); with an error code if a credential was sent."
        response["headers"] = {"WWW-Authenticate": {"description": challenge, "schema": {"type": "string"}}}
    return response


def _error_schema() -> dict[str, Any]:
    violation = {
        "type": "object",
        "required": ["field", "description"],
        "properties": {
            "field": {
                "type": "string",
                "description": "A proto field path (e.g. patient_id, actor.hpr_number), or an unknown key as sent.",
            },
            "description": {"type": "string"},
        },
    }
    return {
        "type": "object",
        "required": ["error"],
        "description": "google.rpc: the status code, the ErrorInfo reason (domain samhandling.no), field violations.",
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "reason", "message", "fieldViolations"],
                "properties": {
                    "code": {"type": "string", "enum": [c.name for c in HTTP_STATUS if c is not S.OK]},
                    "reason": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                    "message": {"type": "string"},
                    "fieldViolations": {"type": "array", "items": violation},
                },
            }
        },
    }


_DPOP_PARAMETER = {
    "name": "DPoP",
    "in": "header",
    "required": False,
    "description": (
        "DPoP proof (RFC 9449) for a DPoP-bound token: htm = the HTTP method, htu = the request URL"
        " without query and fragment, ath = the token's hash."
    ),
    "schema": {"type": "string"},
}
_SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token (RFC 9068) of the suite's issuer.",
    },
    "dpop": {
        "type": "http",
        "scheme": "dpop",  # bearerFormat belongs to the bearer scheme only
        "description": "A DPoP-bound access token (cnf.jkt) with a proof in the DPoP header (RFC 9449).",
    },
}
_JWK_SET = {
    "type": "object",
    "required": ["keys"],
    "description": "A JWK Set (RFC 7517), public keys only.",
    "properties": {
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kty"],
                "properties": {m: {"type": "string"} for m in ("kty", "kid", "use", "alg", "crv", "x", "y", "n", "e")},
            },
        }
    },
}
