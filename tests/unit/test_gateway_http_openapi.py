"""The OpenAPI document is derived from the routes, the policy table and the protos."""

from __future__ import annotations

import re

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.sdk.trace import TracerProvider

from gateway.http.app import create_app
from gateway.http.openapi import openapi_document
from gateway.http.proto_comments import parse_comments
from gateway.http.proto_schema import ProtoSchemas
from gateway.http.routes import API_ROUTES, OPENAPI_PATH, RECEIPT_KEYS_PATH, ApiRoute
from gateway.policy import POLICIES
from samhandling.audit.v1 import audit_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform import paging
from services.platform.vocabulary import ActorKind
from tests.fixtures.openapi_refs import refs, resolve

SAMPLE = """\
syntax = "proto3";

// Detached comment, not about the package.

package demo.v1;

// A service.
service Demo {
  // Does it.
  rpc Do(DoRequest) returns (DoResponse);
}

// Asks.
message DoRequest {
  // Whom.
  // Two lines.
  string who = 1;
  // A choice.
  oneof pick {
    // By number.
    int64 number = 2;
  }
  // Labels.
  map<string, string> labels = 3;
  // Nested.
  message Inner {
    // Deep.
    bool deep = 1;
  }
}

// Empty.
message DoResponse {}

// Colours.
enum Colour {
  // None.
  COLOUR_UNSPECIFIED = 0;
  // Red.
  COLOUR_RED = 1;
}
"""


@pytest.fixture(scope="module")
def document():
    return openapi_document(API_ROUTES, POLICIES)


def test_comments_are_keyed_by_full_name():
    assert parse_comments(SAMPLE) == {
        "demo.v1.Demo": "A service.",
        "demo.v1.Demo.Do": "Does it.",
        "demo.v1.DoRequest": "Asks.",
        "demo.v1.DoRequest.who": "Whom. Two lines.",
        "demo.v1.DoRequest.pick": "A choice.",
        "demo.v1.DoRequest.number": "By number.",
        "demo.v1.DoRequest.labels": "Labels.",
        "demo.v1.DoRequest.Inner": "Nested.",
        "demo.v1.DoRequest.Inner.deep": "Deep.",
        "demo.v1.DoResponse": "Empty.",
        "demo.v1.Colour": "Colours.",
        "demo.v1.Colour.COLOUR_UNSPECIFIED": "None.",
        "demo.v1.Colour.COLOUR_RED": "Red.",
    }


def test_every_route_is_described_with_its_grpc_method_and_policy(document):
    for route in API_ROUTES:
        operation = document["paths"][route.path][route.http_method.lower()]
        assert operation["x-grpc-method"] == route.rpc
        assert operation["operationId"] == route.rpc.rpartition("/")[2]
        assert operation["summary"]  # the rpc's doc comment
        scopes = sorted(set(POLICIES[route.rpc].access.values()))
        assert operation["security"] == [{"bearer": scopes}, {"dpop": scopes}]
        path_parameters = [p["name"] for p in operation["parameters"] if p.get("in") == "path"]
        assert path_parameters == list(route.path_fields)
        assert ("requestBody" in operation) is route.has_body
    assert document["paths"][RECEIPT_KEYS_PATH]["get"]["security"] == []
    assert document["paths"][OPENAPI_PATH]["get"]["security"] == []


def test_query_parameters_are_the_request_fields_not_in_the_path(document):
    events = document["paths"]["/api/v1/patients/{patient_id}/access-log"]["get"]
    query = {p["name"]: p["schema"] for p in events["parameters"] if p.get("in") == "query"}
    assert query == {
        "page_size": {"type": "integer", "format": "int32", "minimum": 0, "maximum": paging.MAX_PAGE_SIZE},
        "page_token": {"type": "string", "maxLength": paging.MAX_TOKEN_CHARS},
        # The access log's filters (ListEvents), as the audit service checks them.
        "start_time": {"type": "string", "format": "date-time"},
        "end_time": {"type": "string", "format": "date-time"},
        "actor_orgnr": {"type": "string", "pattern": "^(?:[0-9]{9})?$"},
        "flagged_only": {"type": "boolean"},
        "exclude_patient_actors": {"type": "boolean"},
    }


def test_the_document_states_what_the_server_enforces(document):
    """Issue 12 point 21: required fields, bounds, patterns, and no unknown keys at any level."""
    vitals = document["paths"]["/api/v1/patients/{patient_id}/vital-signs"]["get"]
    parameters = {p["name"]: p for p in vitals["parameters"] if "name" in p}
    assert parameters["from_time"]["required"] is True and parameters["to_time"]["required"] is False
    assert parameters["patient_id"]["schema"]["pattern"] == "^(?:[0-9]{11})$"

    create = document["paths"]["/api/v1/patients/{patient_id}/rules"]["post"]["requestBody"]
    body = create["content"]["application/json"]["schema"]
    assert create["required"] is True and body["required"] == ["ruleType"]
    assert body["properties"]["ruleType"]["not"] == {"const": "RULE_TYPE_UNSPECIFIED"}
    assert body["properties"]["reason"]["maxLength"] == 500
    assert body["properties"]["dataCategories"]["items"]["enum"] == [
        "DATA_CATEGORY_MUNICIPAL_SERVICES",
        "DATA_CATEGORY_VITAL_SIGNS",
    ]
    schemas = document["components"]["schemas"]
    actor = schemas[body["properties"]["actor"]["$ref"].rpartition("/")[2]]
    assert actor["additionalProperties"] is False and (actor["minProperties"], actor["maxProperties"]) == (1, 1)
    assert actor["properties"]["orgNumber"]["pattern"] == "^(?:[0-9]{9})$"
    messages = {name: schema for name, schema in schemas.items() if name.startswith("samhandling.")}
    assert all(s["additionalProperties"] is False for s in messages.values() if s["type"] == "object")
    revoke = document["paths"]["/api/v1/patients/{patient_id}/rules/{rule_id}:revoke"]["post"]["requestBody"]
    assert revoke["required"] is False  # no field of the body is required: an empty body is {}


def _request_strings(document: dict) -> dict[str, dict]:
    """Every string schema a request carries (query and path parameters, bodies, the request
    forms of messages), by where it is."""
    found: dict[str, dict] = {}

    def walk(schema: object, where: str) -> None:
        if isinstance(schema, dict):
            if schema.get("type") == "string":
                found[where] = schema
            for key, value in schema.items():
                walk(value, f"{where}/{key}")
        elif isinstance(schema, list):
            for index, value in enumerate(schema):
                walk(value, f"{where}/{index}")

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("path", "query"):
                    walk(parameter["schema"], f"{method} {path} {parameter['name']}")
            walk(operation.get("requestBody", {}), f"{method} {path} body")
    for name, schema in document["components"]["schemas"].items():
        if name.endswith(".input"):
            walk(schema, name)
    return found


def _proto_field(where: str) -> FieldDescriptor:
    """The request field a string schema found by _request_strings describes."""
    if where.startswith("samhandling."):  # a component: "<message>.input/properties/<json name>"
        message, _, rest = where.partition(".input/")
        descriptor = descriptor_pool.Default().FindMessageTypeByName(message)
    else:  # "<method> <path> <parameter>" or "<method> <path> body/…/properties/<json name>"
        method, path, rest = where.split(" ", 2)
        (route,) = [r for r in API_ROUTES if (r.http_method.lower(), r.path) == (method, path)]
        descriptor = route.method.input_type
    name = rest.rpartition("/")[2]
    return {f.json_name: f for f in descriptor.fields}.get(name) or descriptor.fields_by_name[name]


def test_every_free_text_field_of_a_request_states_the_text_rule(document):
    """Issue 12 points 3 and 21 together: every string a request carries is an enum, a time, a
    number, an identifier with its pattern, or free text with the one text rule (the shared
    schema of its kind, whose pattern text.py derives from the validator) and the length of the
    validator's field definition. Only page tokens (opaque, bounded) are none of these."""
    from gateway.http.proto_schema import TEXT_BY_FIELD, TEXT_FIELDS
    from services.platform.text import text_pattern

    schemas = document["components"]["schemas"]
    unstated = {
        where
        for where, s in _request_strings(document).items()
        if not {"enum", "const", "not", "pattern", "format", "allOf"} & s.keys()
    }
    assert {where.rpartition(" ")[2] for where in unstated} == {"page_token"}, unstated
    texts = {where: s for where, s in _request_strings(document).items() if "allOf" in s}
    fields = {where: _proto_field(where) for where in texts}
    used = {f.full_name for f in fields.values()} & set(TEXT_BY_FIELD)
    assert used == set(TEXT_BY_FIELD)
    assert {f.name for f in fields.values() if f.full_name not in TEXT_BY_FIELD} == set(TEXT_FIELDS)
    for where, schema in texts.items():
        field = fields[where]
        spec = TEXT_BY_FIELD.get(field.full_name) or TEXT_FIELDS[field.name]
        kind = schemas[schema["allOf"][0]["$ref"].rpartition("/")[2]]
        assert (schema["maxLength"], kind["pattern"]) == (spec.max_chars, text_pattern(spec)), where
        assert "NFC" in kind["description"] and "unassigned" in kind["description"]


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("0", True),
        ("9223372036854775807", True),
        ("-9223372036854775808", True),
        ("9223372036854775808", False),
        ("-9223372036854775809", False),
        ("1e3", False),
        ("", False),
    ],
)
def test_64_bit_integers_are_stated_with_their_range(text, valid):

    from gateway.http.proto_schema import _SCALARS, F

    assert bool(re.search(_SCALARS[F.TYPE_INT64]["pattern"], text)) is valid


def test_request_bodies_are_the_request_messages_without_the_path_fields(document):
    revoke = document["paths"]["/api/v1/patients/{patient_id}/rules/{rule_id}:revoke"]["post"]
    schema = revoke["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"reason"} and schema["additionalProperties"] is False


@pytest.mark.parametrize("message", [consent_pb2.Rule, consent_pb2.Notification, audit_pb2.AuditEvent])
def test_schemas_have_exactly_the_proto_fields_in_json_names(document, message):
    schema = document["components"]["schemas"][message.DESCRIPTOR.full_name]
    assert set(schema["properties"]) == {f.json_name for f in message.DESCRIPTOR.fields}
    assert schema["description"]  # the message's doc comment


def test_proto3_json_types():
    schemas = ProtoSchemas({})
    fields = consent_pb2.Rule.DESCRIPTOR.fields_by_name
    assert schemas.field(fields["version"]) == {"type": "integer", "format": "int32"}
    assert schemas.field(fields["valid_from"]) == {"type": "string", "format": "date-time"}
    assert schemas.field(fields["data_categories"]) == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/samhandling.common.v1.DataCategory"},
    }
    revision = schemas.field(consent_pb2.ListRulesResponse.DESCRIPTOR.fields_by_name["policy_revision"])
    assert revision["type"] == "string" and revision["format"] == "int64"
    selector = schemas.message(consent_pb2.ActorSelector.DESCRIPTOR)
    assert selector["maxProperties"] == 1 and selector["properties"]["anyone"] == {"type": "boolean"}
    assert schemas.components["samhandling.common.v1.DataCategory"]["enum"][0] == "DATA_CATEGORY_UNSPECIFIED"


def test_every_reference_resolves(document):
    for ref in set(refs(document)):
        assert resolve(document, ref), ref


def test_the_error_codes_and_a_public_base_url(document):
    codes = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert {"UNAUTHENTICATED", "PERMISSION_DENIED", "INVALID_ARGUMENT"} <= set(codes) and "OK" not in codes
    assert "servers" not in document
    public = openapi_document(API_ROUTES, POLICIES, public_url="https://helse.example/samhandling/")
    assert public["servers"] == [{"url": "https://helse.example/samhandling"}]


def test_a_route_without_a_policy_is_refused_at_startup():
    check_access = "/samhandling.consent.v1.ConsentService/CheckAccess"  # internal: not in the table
    unlisted = ApiRoute("GET", "/api/v1/patients/{patient_id}/decision", check_access)
    with pytest.raises(ValueError, match="CheckAccess"):
        create_app(None, None, TracerProvider(), routes=[unlisted])  # type: ignore[arg-type]


def test_the_new_consent_reads_are_for_patients_only():
    for name in ("ListRuleHistory", "ListNotifications"):
        policy = POLICIES[f"/samhandling.consent.v1.ConsentService/{name}"]
        assert dict(policy.access) == {ActorKind.PATIENT: "samhandling:patient"}
        assert policy.patient_field == "patient_id" and policy.action == audit_pb2.ACTION_READ
