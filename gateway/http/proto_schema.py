"""JSON Schemas (OpenAPI 3.1) of proto messages under the proto3 JSON mapping, derived from
the descriptors so that the API description cannot drift from the protos.

As strict as the server, from where the server states its rules: unknown keys are refused at
every level (the decoder parses with unknown fields refused: `additionalProperties: false`);
a field whose proto comment says "Required." is required in a request (the protos' contract,
which the handlers enforce with a `required` field violation; an enum must then not be its
zero value); page sizes take the bounds of services.platform.paging; person numbers the
pattern of services.platform.ids; free text the rule of the one text validator
(services.platform.text), by a shared schema per kind of text and the field's own length."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from services.capacity import alerts as capacity_alerts
from services.capacity import domain as capacity
from services.consent import domain as consent
from services.platform import ids, paging
from services.platform.text import PATTERN_LEAVES, TextField, text_pattern
from services.summary import convert as summary_convert
from services.summary import escalation_episodes as escalation
from services.summary import escalation_routing

F = FieldDescriptor
COMPONENTS = "#/components/schemas/"


def _at_most(limit: int) -> str:
    """A regular expression of the decimal numbers 0..limit (without leading zeros)."""
    digits = str(limit)
    shorter = [f"[1-9][0-9]{{0,{len(digits) - 2}}}" if len(digits) > 1 else "", "0"]
    same = [
        f"{digits[:i]}[{'1' if i == 0 else '0'}-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
        for i, d in enumerate(digits)
        if int(d) > (1 if i == 0 else 0)
    ]
    return "|".join(p for p in [*shorter, *same, digits] if p)


def _positive_at_most(limit: int) -> str:
    """A regular expression of the decimal numbers 1..limit."""
    return "|".join(p for p in _at_most(limit).split("|") if p != "0")


_INT64 = {"type": "string", "format": "int64", "pattern": f"^(?:-?(?:{_at_most(2**63 - 1)})|-9223372036854775808)$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": f"^(?:{_at_most(2**64 - 1)})$"}
_SCALARS: Mapping[int, dict[str, Any]] = {
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"},
    F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    # 64-bit integers are strings in the proto3 JSON mapping (JavaScript numbers lose digits),
    # in their range: the pattern says what format int64 means.
    F.TYPE_INT64: _INT64,
    F.TYPE_SINT64: _INT64,
    F.TYPE_SFIXED64: _INT64,
    F.TYPE_UINT64: _UINT64,
    F.TYPE_FIXED64: _UINT64,
    F.TYPE_FLOAT: {"type": "number", "format": "float"},
    F.TYPE_DOUBLE: {"type": "number", "format": "double"},
}


def _pattern(rule: re.Pattern[str], *, empty: bool = False) -> dict[str, Any]:
    """A validator's regular expression (matched whole) as a JSON Schema pattern; `empty`:
    the field may also be left empty (the validator checks it only when set)."""
    return {"pattern": f"^(?:{rule.pattern})?$" if empty else f"^(?:{rule.pattern})$"}


# Rules of request fields by name, from the validators' own constants: page sizes from
# services.platform.paging, identifiers from services.platform.ids (their checksums are beyond
# a pattern), capacity and alerts from services.capacity, rules from services.consent. Only in
# requests: answers may carry the empty value (a system has no HPR number).
_BY_NAME: Mapping[str, dict[str, Any]] = {
    "page_size": {"minimum": 0, "maximum": paging.MAX_PAGE_SIZE},
    "patient_id": _pattern(ids._PERSON_NUMBER),
    "hpr_number": _pattern(ids._HPR_NUMBER),
    "org_number": _pattern(ids._ORG_NUMBER),
    "target_orgnrs": _pattern(ids._ORG_NUMBER),  # each item
    "actor_orgnr": _pattern(ids._ORG_NUMBER, empty=True),  # ListEvents: optional
    "municipality_number": _pattern(capacity._MUNICIPALITY, empty=True),
    "resource_type": _pattern(capacity._RESOURCE_TYPE, empty=True),
    "total": {"minimum": 0, "maximum": capacity.MAX_COUNT},
    "available": {"minimum": 0, "maximum": capacity.MAX_COUNT},
    "occupied": {"minimum": 0, "maximum": capacity.MAX_COUNT},
    "request_id": _pattern(capacity_alerts._REQUEST_ID),
    "anyone": {"const": True},  # an actor selector's `anyone` is set only as true (consent api)
    "authorization": _pattern(consent._AUTHORIZATION),
    "resume_after": {"pattern": f"^(?:{_at_most(paging.MAX_POSITION)})$"},
    "page_token": {"maxLength": paging.MAX_TOKEN_CHARS},
    "data_categories": {"enum": sorted(f"DATA_CATEGORY_{c.name}" for c in consent.SHAREABLE)},  # each item
}

# Where one request differs from the rule of its field's name (by full field name).
_POSITIVE_INT64 = {"pattern": f"^(?:{_positive_at_most(2**63 - 1)})$"}  # a log position: 1 and up
_ESCALATION = "samhandling.summary.v1."
# The escalation requests whose request_id is free text (the text rule, TEXT_BY_FIELD), not an alert's pattern.
_ESCALATION_CHANGES = (
    "AcknowledgeEscalationRequest",
    "DeclineEscalationRequest",
    "PlanReassessmentRequest",
    "ResolveEscalationRequest",
    "RaiseConcernRequest",
    "EnrolFollowUpRequest",
    "EndFollowUpRequest",
)
# The escalation page sizes the summary service enforces (services/summary/api.py, checked by
# tests/unit/test_gateway_escalation_policy.py; the gateway imports no server module of it).
MAX_INBOX_PAGE = 100
MAX_PATIENT_ESCALATIONS_PAGE = 50
MAX_ESCALATION_SIGNALS_PAGE = 100
_BY_FIELD: Mapping[str, dict[str, Any]] = {
    "samhandling.capacity.v1.ListAlertsRequest.page_size": {"minimum": 0, "maximum": capacity_alerts.MAX_ALERT_PAGE},
    "samhandling.audit.v1.GetEventProofRequest.sequence": _POSITIVE_INT64,
    "samhandling.audit.v1.GetPatientEventProofRequest.sequence": _POSITIVE_INT64,
    f"{_ESCALATION}ListEscalationsRequest.page_size": {"minimum": 0, "maximum": MAX_INBOX_PAGE},
    f"{_ESCALATION}ListPatientEscalationsRequest.page_size": {"minimum": 0, "maximum": MAX_PATIENT_ESCALATIONS_PAGE},
    f"{_ESCALATION}ListEscalationSignalsRequest.page_size": {"minimum": 0, "maximum": MAX_ESCALATION_SIGNALS_PAGE},
    **{f"{_ESCALATION}{request}.request_id": {} for request in _ESCALATION_CHANGES},
    # A date in a request is a whole calendar date (whether it exists, e.g. 31 February, only the server checks).
    "samhandling.common.v1.Date.year": {"minimum": 1, "maximum": 9999},
    "samhandling.common.v1.Date.month": {"minimum": 1, "maximum": 12},
    "samhandling.common.v1.Date.day": {"minimum": 1, "maximum": 31},
    f"{_ESCALATION}OpeningInterval.weekday": {"minimum": 1, "maximum": 7},
    f"{_ESCALATION}OpeningInterval.start_minute": {"minimum": 0, "maximum": 24 * 60 - 1},
    f"{_ESCALATION}OpeningInterval.end_minute": {"minimum": 1, "maximum": 24 * 60},
    # A person closes an escalation with any outcome but the two the escalation sets itself.
    f"{_ESCALATION}ResolveEscalationRequest.outcome": {
        "enum": [f"ESCALATION_OUTCOME_{o.name}" for o in escalation.Outcome if o not in escalation._AUTOMATIC_OUTCOMES]
    },
}
# Members a request's message must set whatever its comments say (by full message name).
_REQUIRED_MEMBERS: Mapping[str, tuple[str, ...]] = {"samhandling.common.v1.Date": ("year", "month", "day")}
# How many items a repeated request field takes (by full field name).
_COUNTS: Mapping[str, dict[str, Any]] = {
    f"{_ESCALATION}OpeningHours.intervals": {"minItems": 1, "maxItems": escalation_routing.MAX_OPENING_INTERVALS},
    f"{_ESCALATION}OpeningHours.closed_dates": {"maxItems": escalation_routing.MAX_CLOSED_DAYS},
}


def _rule(field: FieldDescriptor) -> dict[str, Any]:
    return _BY_FIELD.get(field.full_name, _BY_NAME.get(field.name, {}))


def _strictest(*specs: TextField) -> TextField:
    """One field name that several validators check: what all of them accept."""
    return TextField(
        min(s.max_chars for s in specs),
        multiline=all(s.multiline for s in specs),
        required=any(s.required for s in specs),
    )


# Free-text fields of requests by name, with the field definitions their validators check them
# against (services.platform.text): the document states the text rule of each.
TEXT_FIELDS: Mapping[str, TextField] = {
    "reason": consent.REASON,
    "rule_id": consent.RULE_ID,
    "unit_id": capacity.UNIT_ID,
    "region": _strictest(capacity.REGION, capacity_alerts.REGION),
    "note": _strictest(capacity.NOTE, capacity_alerts.NOTE),
    "message": capacity_alerts.MESSAGE,
    "alert_id": capacity_alerts.ALERT_ID,
    "escalation_id": summary_convert._ESCALATION_ID,
}
# Free-text fields whose rule is not the one of their name (by full field name).
TEXT_BY_FIELD: Mapping[str, TextField] = {
    **{f"{_ESCALATION}{request}.request_id": escalation.REQUEST_ID for request in _ESCALATION_CHANGES},
    f"{_ESCALATION}DeclineEscalationRequest.reason": escalation.REASON,
    f"{_ESCALATION}ResolveEscalationRequest.note": escalation.NOTE,
    f"{_ESCALATION}PlanReassessmentRequest.note": escalation.NOTE,
    f"{_ESCALATION}RaiseConcernRequest.note": replace(escalation.NOTE, required=True),
    f"{_ESCALATION}EnrolFollowUpRequest.team_name": TextField(200, required=True),
    f"{_ESCALATION}EndFollowUpRequest.enrolment_id": summary_convert._ENROLMENT_ID,
    # A request's performer (measured_by, the escalations' *_by): a name of up to 200 characters,
    # not required by the field itself (a health person's token names them; a system naming a
    # person who acts on an escalation must give it, which the server says by field).
    f"{_ESCALATION}Performer.name": replace(escalation.PERSON_NAME, required=False),
}
_REQUIRED = re.compile(r"(?:^|[.;]\s)Required\.")
_WELL_KNOWN: Mapping[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
}


class ProtoSchemas:
    """Collects a component schema for every message and enum it is asked about (and every
    one they reach); `comments` (full name → doc comment) become descriptions."""

    def __init__(self, comments: Mapping[str, str]) -> None:
        self._comments = comments
        self.components: dict[str, dict[str, Any]] = {}
        self._same_input: set[str] = set()  # messages whose request form is their plain form

    def ref(self, descriptor: Descriptor | EnumDescriptor, *, request: bool = False) -> dict[str, Any]:
        """A reference to the component of a message or enum; `request`: the message as a
        request carries it (with the request rules), named `<full name>.input` where it differs."""
        name = descriptor.full_name
        if name not in self.components:
            self.components[name] = {}  # reserved first: messages may recurse
            if isinstance(descriptor, EnumDescriptor):
                self.components[name] = self._enum(descriptor)
            else:
                self.components[name] = self.message(descriptor)
        if request and isinstance(descriptor, Descriptor):
            input_name = f"{name}.input"
            if input_name not in self.components:
                self.components[input_name] = {}
                schema = self.message(descriptor, request=True)
                if schema == self.components[name]:
                    del self.components[input_name]
                    self._same_input.add(name)
                else:
                    self.components[input_name] = schema
            if name not in self._same_input:
                name = input_name
        return {"$ref": COMPONENTS + name}

    def required(self, field: FieldDescriptor) -> bool:
        """Whether a request must set the field: its proto comment says "Required."."""
        return bool(_REQUIRED.search(self._comments.get(field.full_name, "")))

    def request(self, descriptor: Descriptor, omit: Collection[str] = ()) -> dict[str, Any]:
        """The schema of a request body: the message's, with its required fields."""
        schema = self.message(descriptor, omit, request=True)
        required = [f.json_name for f in descriptor.fields if f.name not in omit and self.required(f)]
        return {**schema, "required": required} if required else schema

    def message(self, descriptor: Descriptor, omit: Collection[str] = (), *, request: bool = False) -> dict[str, Any]:
        """The schema of a message, without the fields in `omit` (those a route's path gives)."""
        fields = [f for f in descriptor.fields if f.name not in omit]
        properties = {f.json_name: self.field(f, request=request) for f in fields}
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if request and descriptor.full_name in _REQUIRED_MEMBERS:
            by_name = {f.name: f.json_name for f in descriptor.fields}
            schema["required"] = [by_name[name] for name in _REQUIRED_MEMBERS[descriptor.full_name]]
        notes = [self._comments.get(descriptor.full_name, "")]
        for oneof in descriptor.oneofs:
            members = [f.json_name for f in oneof.fields if f.name not in omit]
            if len(members) == len(fields):  # a message that is one choice: set, it holds exactly one
                notes.append(f"Exactly one of {', '.join(members)}.")
                schema |= {"minProperties": 1, "maxProperties": 1}
            else:
                notes.append(f"At most one of {', '.join(members)}.")
        return _described(schema, " ".join(n for n in notes if n))

    def field(self, field: FieldDescriptor, *, request: bool = False) -> dict[str, Any]:
        """`request`: a field of a request, where a required one must not be empty."""
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            schema: dict[str, Any] = {"type": "object", "additionalProperties": self._single(value)}
        elif field.is_repeated:
            items = self._single(field, request=request)
            if request:
                items |= _rule(field)
                items |= _not_empty(field) if field.type == F.TYPE_ENUM else {}  # nobody asks for "unspecified"
            schema = {"type": "array", "items": items} | (_COUNTS.get(field.full_name, {}) if request else {})
        else:
            schema = self._single(field, request=request)
            if request:
                schema |= _rule(field) | (_not_empty(field) if self.required(field) else {})
                text = TEXT_BY_FIELD.get(field.full_name) or TEXT_FIELDS.get(field.name)
                if text is not None and field.type == F.TYPE_STRING:
                    schema |= self.text(text)
        return _described(schema, self._comments.get(field.full_name, ""))

    def text(self, spec: TextField) -> dict[str, Any]:
        """The schema of a free-text field: the shared schema of its kind of text (its pattern)
        and its own length."""
        kind = f"{'Required' if spec.required else ''}{'Multiline' if spec.multiline else ''}Text"
        if kind not in self.components:
            breaks = "Line breaks (LF, CRLF) and tabs allowed" if spec.multiline else "No line breaks or tabs"
            blank = " Not blank." if spec.required else ""
            self.components[kind] = {
                "type": "string",
                "pattern": text_pattern(spec),
                "description": (
                    f"Free text: printable characters only (no control, format, bidi, private-use or "
                    f"separator characters). {breaks}.{blank} Also refused, beyond the pattern: "
                    f"{PATTERN_LEAVES}. Lengths count code points."
                ),
            }
        return {"allOf": [{"$ref": COMPONENTS + kind}], "maxLength": spec.max_chars}

    def _single(self, field: FieldDescriptor, *, request: bool = False) -> dict[str, Any]:
        if field.type == F.TYPE_ENUM:
            return self.ref(field.enum_type)
        if field.type == F.TYPE_MESSAGE:
            known = _WELL_KNOWN.get(field.message_type.full_name)
            return dict(known) if known is not None else self.ref(field.message_type, request=request)
        return dict(_SCALARS[field.type])

    def _enum(self, descriptor: EnumDescriptor) -> dict[str, Any]:
        values = [v.name for v in descriptor.values]
        lines = [
            f"- `{name}`: {self._comments[f'{descriptor.full_name}.{name}']}"
            for name in values
            if f"{descriptor.full_name}.{name}" in self._comments
        ]
        text = "\n\n".join(t for t in (self._comments.get(descriptor.full_name, ""), "\n".join(lines)) if t)
        return _described({"type": "string", "enum": values}, text)


def _not_empty(field: FieldDescriptor) -> dict[str, Any]:
    """What "set" means for a required field in proto3: not the zero value."""
    if field.type == F.TYPE_ENUM:
        return {"not": {"const": field.enum_type.values_by_number[0].name}}
    if field.type == F.TYPE_STRING:
        return {"minLength": 1}
    return {}


def _described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {**schema, "description": text} if text else schema
