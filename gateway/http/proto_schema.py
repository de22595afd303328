"""JSON Schemas (OpenAPI 3.1) of proto messages under the proto3 JSON mapping, derived from
the descriptors so that the API description cannot drift from the protos."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

F = FieldDescriptor
COMPONENTS = "#/components/schemas/"
_SCALARS: Mapping[int, dict[str, Any]] = {
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"},
    F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    # 64-bit integers are strings in the proto3 JSON mapping (JavaScript numbers lose digits).
    F.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    F.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    F.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    F.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    F.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    F.TYPE_FLOAT: {"type": "number", "format": "float"},
    F.TYPE_DOUBLE: {"type": "number", "format": "double"},
}
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

    def ref(self, descriptor: Descriptor | EnumDescriptor) -> dict[str, Any]:
        if descriptor.full_name not in self.components:
            self.components[descriptor.full_name] = {}  # reserved first: messages may recurse
            if isinstance(descriptor, EnumDescriptor):
                self.components[descriptor.full_name] = self._enum(descriptor)
            else:
                self.components[descriptor.full_name] = self.message(descriptor)
        return {"$ref": COMPONENTS + descriptor.full_name}

    def message(self, descriptor: Descriptor, omit: Collection[str] = ()) -> dict[str, Any]:
        """The schema of a message, without the fields in `omit` (those a route's path gives)."""
        fields = [f for f in descriptor.fields if f.name not in omit]
        schema: dict[str, Any] = {"type": "object", "properties": {f.json_name: self.field(f) for f in fields}}
        notes = [self._comments.get(descriptor.full_name, "")]
        for oneof in descriptor.oneofs:
            members = [f.json_name for f in oneof.fields if f.name not in omit]
            notes.append(f"At most one of {', '.join(members)}.")
            if len(members) == len(fields):
                schema["maxProperties"] = 1
        return _described(schema, " ".join(n for n in notes if n))

    def field(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            schema: dict[str, Any] = {"type": "object", "additionalProperties": self._single(value)}
        elif field.is_repeated:
            schema = {"type": "array", "items": self._single(field)}
        else:
            schema = self._single(field)
        return _described(schema, self._comments.get(field.full_name, ""))

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == F.TYPE_ENUM:
            return self.ref(field.enum_type)
        if field.type == F.TYPE_MESSAGE:
            known = _WELL_KNOWN.get(field.message_type.full_name)
            return dict(known) if known is not None else self.ref(field.message_type)
        return dict(_SCALARS[field.type])

    def _enum(self, descriptor: EnumDescriptor) -> dict[str, Any]:
        values = [v.name for v in descriptor.values]
        lines = [f"- `{name}`: {self._comments[f'{descriptor.full_name}.{name}']}"
                 for name in values if f"{descriptor.full_name}.{name}" in self._comments]
        text = "\n\n".join(t for t in (self._comments.get(descriptor.full_name, ""), "\n".join(lines)) if t)
        return _described({"type": "string", "enum": values}, text)


def _described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {**schema, "description": text} if text else schema
