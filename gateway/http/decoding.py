"""From an HTTP request's path, query and JSON body to the proto request message, pure.

The proto3 JSON mapping (json_format) does the conversion, unknown fields refused; before it
runs, every key is checked on its own so that a bad request is answered with one field
violation per bad field (proto field paths, as in the gRPC API; an unknown key as sent)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.platform.errors import invalid_argument

F = FieldDescriptor
_WELL_KNOWN = {
    "google.protobuf.Timestamp": "an RFC 3339 time with a UTC offset, e.g. 2026-01-31T12:00:00Z",
    "google.protobuf.Duration": "a duration in seconds with the suffix s, e.g. 90s",
}
_INTEGERS = {F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32, F.TYPE_UINT32, F.TYPE_FIXED32}
_LONGS = {F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64, F.TYPE_UINT64, F.TYPE_FIXED64}


def request_message(
    message_type: type[Message],
    *,
    path: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: Mapping[str, Any] | None,
) -> Message:
    """`body` None: the route takes no body, so the fields not in the path come from the query."""
    # types-protobuf adds upb's class to DESCRIPTOR's type; it is a Descriptor (DescriptorMetaclass).
    descriptor = cast(Descriptor, message_type.DESCRIPTOR)
    fields = _fields_by_key(descriptor)
    payload: dict[str, Any] = dict(path)
    problems: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for key, value in query:
        values.setdefault(key, []).append(value)
    for key, given in values.items():
        field = fields.get(key)
        if body is not None or field is None or field.name in path:
            problems[key] = "unknown query parameter"
        elif not field.is_repeated and len(given) > 1:
            problems[field.name] = "given more than once"
        else:
            payload[key] = _from_text(field, given)
    for key, value in (body or {}).items():
        field = fields.get(key)
        if field is not None and field.name in path:
            problems[field.name] = "given by the path; leave it out of the body"
        else:
            payload[key] = value
    problems |= _violations(payload, descriptor, "")
    if problems:
        raise invalid_argument(problems)
    return json_format.ParseDict(payload, message_type(), ignore_unknown_fields=False)


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from a UTF-8 body; duplicate keys and NaN/Infinity are refused, so no
    two parsers can read the same body differently."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise invalid_argument({"body": "nested too deeply"}) from None
    except ValueError as exc:  # UnicodeDecodeError is one too
        raise invalid_argument({"body": f"not valid JSON: {_reason(exc)}"}) from None
    if not isinstance(value, dict):
        raise invalid_argument({"body": "must be a JSON object"})
    return value


def _violations(payload: Mapping[str, Any], descriptor: Descriptor, prefix: str) -> dict[str, str]:
    """Each key converted on its own; nested objects field by field; then the whole object,
    which catches what only the combination breaks (two members of one oneof)."""
    fields, problems, seen = _fields_by_key(descriptor), {}, set()
    message_type = message_factory.GetMessageClass(descriptor)
    for key, value in payload.items():
        field = fields.get(key)
        if field is None:
            problems[prefix + key] = "unknown field"
            continue
        path = prefix + field.name
        if field.name in seen:  # json_format would silently keep one of the two
            problems[path] = "given twice, by its proto name and its JSON name"
            continue
        seen.add(field.name)
        if _is_plain_message(field) and isinstance(value, dict):
            nested = _violations(value, field.message_type, path + ".")
            if nested:
                problems |= nested
                continue
        try:
            json_format.ParseDict({key: value}, message_type(), ignore_unknown_fields=False)
        except json_format.ParseError:
            problems[path] = _expected(field)
    if not problems:
        try:
            json_format.ParseDict(dict(payload), message_type(), ignore_unknown_fields=False)
        except json_format.ParseError:
            problems[prefix.rstrip(".") or "body"] = _combination(descriptor, payload)
    return problems


def _expected(field: FieldDescriptor) -> str:
    if field.is_repeated:
        return f"must be a list, each {_expected_one(field)}"
    return f"must be {_expected_one(field)}"


def _expected_one(field: FieldDescriptor) -> str:
    if field.type == F.TYPE_ENUM:
        return "one of " + ", ".join(v.name for v in field.enum_type.values if v.number != 0)
    if field.type == F.TYPE_MESSAGE:
        return _WELL_KNOWN.get(field.message_type.full_name, "an object")
    if field.type == F.TYPE_BOOL:
        return "true or false"
    if field.type in _INTEGERS:
        return "a 32-bit integer" + (" not below 0" if field.type in (F.TYPE_UINT32, F.TYPE_FIXED32) else "")
    if field.type in _LONGS:
        return "a 64-bit integer (a string or a number)"
    if field.type in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return "a number"
    if field.type == F.TYPE_BYTES:
        return "base64 text"
    return "a string"


def _combination(descriptor: Descriptor, payload: Mapping[str, Any]) -> str:
    fields = _fields_by_key(descriptor)
    given = [fields[k] for k in payload if k in fields]
    for oneof in descriptor.oneofs:
        members = [f.name for f in given if f.containing_oneof is oneof]
        if len(members) > 1:
            return f"at most one of {', '.join(f.name for f in oneof.fields)} may be set"
    return "not a valid request"


def _from_text(field: FieldDescriptor, given: list[str]) -> Any:
    """Query text as its JSON value: booleans become true/false; everything else the proto3
    JSON mapping already reads from strings (integers, enums by name, times)."""
    values: list[Any] = [{"true": True, "false": False}.get(v, v) if field.type == F.TYPE_BOOL else v for v in given]
    return values if field.is_repeated else values[0]


def _fields_by_key(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """A field by its proto name or its JSON name; the mapping accepts both."""
    return {**{f.json_name: f for f in descriptor.fields}, **{f.name: f for f in descriptor.fields}}


def _is_plain_message(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and not field.is_repeated and field.message_type.full_name not in _WELL_KNOWN


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) < len(keys):
        raise ValueError("a key is given twice")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _reason(exc: ValueError) -> str:
    return "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
