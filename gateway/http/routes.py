"""The routes of the JSON API: each maps one HTTP method and path onto one full gRPC method
name of the policy table (gateway/policy.py), which decides everything else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from samhandling.audit.v1 import audit_pb2
from samhandling.capacity.v1 import capacity_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
# Public: served without a token, outside the policy table (see receipt_keys.py).
RECEIPT_KEYS_PATH = f"{PREFIX}/consent-receipt-keys"
GET_RECEIPT_KEYS = "/samhandling.consent.v1.ConsentService/GetReceiptKeys"
_PARAMETER = re.compile(r"\{(\w+)\}")
# Imported so that their descriptors are in the default pool.
_PROTOS = (consent_pb2, audit_pb2, summary_pb2, escalation_pb2, capacity_pb2)


@dataclass(frozen=True)
class ApiRoute:
    http_method: str
    path: str  # a Starlette template; each {name} is a field of the request message
    rpc: str  # full gRPC method name, the key of the policy table
    has_body: bool = False  # the fields not in the path come from a JSON body, else from the query
    # Set for a route that answers with one document the response carries as JSON text (a FHIR
    # Bundle): (the field holding it, its media type). Others answer with the response as JSON.
    document: tuple[str, str] | None = None

    @cached_property
    def method(self) -> MethodDescriptor:
        service, _, name = self.rpc.lstrip("/").partition("/")
        return descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]

    @property
    def request_type(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.input_type)

    @property
    def response_type(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.output_type)

    @property
    def streams(self) -> bool:
        """A server-streaming method: answered as NDJSON, one response message per line."""
        return self.method.server_streaming

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(_PARAMETER.findall(self.path))


_CONSENT = "/samhandling.consent.v1.ConsentService/"
_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/"
_CAPACITY = "/samhandling.capacity.v1.CapacityService/"
_ESCALATION = "/samhandling.summary.v1.EscalationService/"
FHIR_JSON = "application/fhir+json"
NDJSON = "application/x-ndjson"
_PATIENT = f"{PREFIX}/patients/{{patient_id}}"
_ESCALATIONS = f"{PREFIX}/escalations"
_AN_ESCALATION = f"{_ESCALATIONS}/{{escalation_id}}"

API_ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", f"{_PATIENT}/rules", _CONSENT + "ListRules"),
    ApiRoute("POST", f"{_PATIENT}/rules", _CONSENT + "CreateRule", has_body=True),
    ApiRoute("POST", f"{_PATIENT}/rules/{{rule_id}}:revoke", _CONSENT + "RevokeRule", has_body=True),
    ApiRoute("GET", f"{_PATIENT}/rules:history", _CONSENT + "ListRuleHistory"),
    ApiRoute("GET", f"{_PATIENT}/notifications", _CONSENT + "ListNotifications"),
    ApiRoute("GET", f"{_PATIENT}/access-log", "/samhandling.audit.v1.AuditService/ListEvents"),
    ApiRoute(
        "GET", f"{_PATIENT}/access-log/{{sequence}}:proof", "/samhandling.audit.v1.AuditService/GetPatientEventProof"
    ),
    # Whom the caller represents: about the caller (the token's person), so no patient in the path.
    ApiRoute("GET", f"{PREFIX}/representations", _CONSENT + "ListRepresentations"),
    ApiRoute("GET", f"{_PATIENT}/summary", _SUMMARY + "GetPatientSummary"),
    ApiRoute("GET", f"{_PATIENT}/municipal-services:status", _SUMMARY + "GetMunicipalServiceStatus"),
    ApiRoute("GET", f"{_PATIENT}/vital-signs", _SUMMARY + "ListVitalSigns"),
    ApiRoute("GET", f"{_PATIENT}/fhir", _SUMMARY + "ExportPatientBundle", document=("bundle_json", FHIR_JSON)),
    ApiRoute("GET", f"{PREFIX}/capacity", _CAPACITY + "GetCapacityOverview"),
    ApiRoute("GET", f"{PREFIX}/capacity:watch", _CAPACITY + "WatchCapacity"),
    ApiRoute("GET", f"{PREFIX}/capacity/units/{{unit_id}}/history", _CAPACITY + "ListCapacityHistory"),
    ApiRoute("POST", f"{PREFIX}/capacity/units/{{unit_id}}:report", _CAPACITY + "ReportCapacity", has_body=True),
    ApiRoute("GET", f"{PREFIX}/alerts", _CAPACITY + "ListAlerts"),
    ApiRoute("POST", f"{PREFIX}/alerts", _CAPACITY + "RaiseAlert", has_body=True),
    ApiRoute("GET", f"{PREFIX}/alerts:watch", _CAPACITY + "WatchAlerts"),
    ApiRoute("POST", f"{PREFIX}/alerts/{{alert_id}}:acknowledge", _CAPACITY + "AcknowledgeAlert", has_body=True),
    # NEWS2 escalation. The inbox and its statistics (no patient data); the statistics take
    # their dates (objects) in a body.
    ApiRoute("GET", _ESCALATIONS, _ESCALATION + "ListEscalations"),
    ApiRoute("GET", f"{_ESCALATIONS}:watch", _ESCALATION + "WatchEscalations"),
    ApiRoute("POST", f"{_ESCALATIONS}:statistics", _ESCALATION + "GetEscalationStatistics", has_body=True),
    # The auditors' signals (late acknowledgements, exhausted chains): no patient data.
    ApiRoute("GET", f"{_ESCALATIONS}:signals", _ESCALATION + "ListEscalationSignals"),
    # The actions come before the escalation itself: its template would take "…:acknowledge" as an id.
    ApiRoute("POST", f"{_AN_ESCALATION}:acknowledge", _ESCALATION + "AcknowledgeEscalation", has_body=True),
    ApiRoute("POST", f"{_AN_ESCALATION}:decline", _ESCALATION + "DeclineEscalation", has_body=True),
    ApiRoute("POST", f"{_AN_ESCALATION}:plan-reassessment", _ESCALATION + "PlanReassessment", has_body=True),
    ApiRoute("POST", f"{_AN_ESCALATION}:resolve", _ESCALATION + "ResolveEscalation", has_body=True),
    ApiRoute("GET", f"{_AN_ESCALATION}/fhir", _ESCALATION + "ExportEscalation", document=("bundle_json", FHIR_JSON)),
    ApiRoute("GET", _AN_ESCALATION, _ESCALATION + "GetEscalation"),
    ApiRoute("GET", f"{_PATIENT}/escalations", _ESCALATION + "ListPatientEscalations"),
    ApiRoute("POST", f"{_PATIENT}/concerns", _ESCALATION + "RaiseConcern", has_body=True),
    ApiRoute("POST", f"{_PATIENT}/follow-ups", _ESCALATION + "EnrolFollowUp", has_body=True),
    ApiRoute("POST", f"{_PATIENT}/follow-ups/{{enrolment_id}}:end", _ESCALATION + "EndFollowUp", has_body=True),
)
