"""Hypothesis strategies for protobuf messages, built from their descriptors.

`messages(descriptor)` walks the message's fields: every field is left unset or given a value
of its type — integers with their edge values (0, ±1, the type's bounds), floats including NaN
and ±infinity, enums including numbers the enum does not define, strings including control
characters, NUL, ESC and bidi overrides, bytes, repeated fields and maps of a bounded size, and
nested messages down to a bounded depth (deeper ones are left unset). `hints` mixes chosen
values into fields of a given name (e.g. real patient ids), so a fuzz run gets past the first
check as well as failing it. `mutations(base)` changes one or two fields (at any depth) of a
valid request, so the fuzz also reaches the checks behind the first. `raw_requests()` is
arbitrary bytes, most of them not a valid encoding of anything."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

Hints = Mapping[str, st.SearchStrategy[Any]]

MAX_REPEATED = 3
MAX_DEPTH = 3
MAX_TEXT = 40
MAX_BYTES = 64
MAX_RAW = 256

_F = FieldDescriptor
_INT_RANGES = {
    _F.TYPE_INT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _F.TYPE_INT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _F.TYPE_UINT32: (0, 2**32 - 1),
    _F.TYPE_FIXED32: (0, 2**32 - 1),
    _F.TYPE_UINT64: (0, 2**64 - 1),
    _F.TYPE_FIXED64: (0, 2**64 - 1),
}

# Texts a validator must meet: empty, blank, controls, NUL, ESC, bidi overrides, a combining
# mark without a base, non-NFC forms, digits shaped like a person number, the longest text.
EDGE_TEXTS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e",
    "abc\u202edef",
    "\u0301",
    "e\u0301",
    "\ufeff",
    "\r\n",
    "\t",
    "\u2028",
    "00000000000",
    "99999999999",
    "x" * 1000,
)


def integers(field_type: int) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field_type]
    edges = sorted({low, high, 0, 1, max(low, -1), high - 1, 2**31 - 1 if high > 2**31 else high})
    return st.sampled_from(edges) | st.integers(low, high)


def texts() -> st.SearchStrategy[str]:
    # Lone surrogates cannot be encoded as UTF-8; every other code point can be sent.
    any_char = st.characters(blacklist_categories=("Cs",))
    return st.sampled_from(EDGE_TEXTS) | st.text(any_char, max_size=MAX_TEXT)


def scalars(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t in _INT_RANGES:
        return integers(t)
    if t == _F.TYPE_BOOL:
        return st.booleans()
    if t == _F.TYPE_FLOAT:
        return st.floats(width=32)
    if t == _F.TYPE_DOUBLE:
        return st.floats()
    if t == _F.TYPE_STRING:
        return texts()
    if t == _F.TYPE_BYTES:
        return st.binary(max_size=MAX_BYTES)
    if t == _F.TYPE_ENUM:
        defined = [v.number for v in field.enum_type.values]
        if field.enum_type.is_closed:  # proto2 enums cannot hold an undefined number
            return st.sampled_from(defined)
        return st.sampled_from(defined) | st.integers(-(2**31), 2**31 - 1)
    raise TypeError(f"no strategy for field type {t} of {field.full_name}")


def messages(
    descriptor: Descriptor, *, depth: int = MAX_DEPTH, hints: Hints | None = None
) -> st.SearchStrategy[Message]:
    """Messages of `descriptor`'s type, each field unset or set to any value of its type."""
    return _messages(descriptor, depth, dict(hints or {}))


def _messages(
    descriptor: Descriptor, depth: int, hints: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Message]:
    cls = message_factory.GetMessageClass(descriptor)
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        value = _field_values(field, depth, hints)
        if value is not None:
            optional[field.name] = value
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


def _field_values(field: FieldDescriptor, depth: int, hints: dict[str, st.SearchStrategy[Any]]):
    if _is_map(field):
        key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        value = _single(value_field, depth - 1, hints)
        if value is None:
            return None
        return st.dictionaries(scalars(key_field), value, max_size=MAX_REPEATED)
    single = _single(field, depth, hints)
    if single is None:
        return None
    if field.is_repeated:
        return st.lists(single, max_size=MAX_REPEATED)
    return single


def _single(field: FieldDescriptor, depth: int, hints: dict[str, st.SearchStrategy[Any]]):
    if field.type in (_F.TYPE_MESSAGE, _F.TYPE_GROUP):
        if depth <= 0:
            return None
        return _messages(field.message_type, depth - 1, hints)
    generic = scalars(field)
    hint = hints.get(field.name)
    # Half the time a hinted value: `hint | generic` would give it a third of the draws or less.
    return generic if hint is None else st.booleans().flatmap(lambda hinted: hint if hinted else generic)


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == _F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        _assign(message, cls.DESCRIPTOR.fields_by_name[name], value)
    return message


def _assign(message: Message, field: FieldDescriptor, value: Any) -> None:
    """Sets `field` of `message` to `value` (a list for a repeated field, a dict for a map)."""
    if field.type == _F.TYPE_MESSAGE or field.is_repeated:
        message.ClearField(field.name)
        target = getattr(message, field.name)
        if _is_map(field):
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif field.is_repeated:
            target.extend(value)
        else:
            target.CopyFrom(value)
    else:
        setattr(message, field.name, value)


def mutations(base: Message, *, hints: Hints | None = None, max_changes: int = 2) -> st.SearchStrategy[Message]:
    """`base` with 1..max_changes of its fields cleared or set to any value of their type. The
    field is chosen level by level: one of the message's fields, and for a nested message
    either all of it or (as often) one of its own fields, down to MAX_DEPTH."""
    hints = dict(hints or {})

    @st.composite
    def mutated(draw: st.DrawFn) -> Message:
        message = type(base)()
        message.CopyFrom(base)
        for _ in range(draw(st.integers(1, max_changes))):
            parent, depth = message, MAX_DEPTH
            field = draw(st.sampled_from(list(parent.DESCRIPTOR.fields)))
            while (
                field.type == _F.TYPE_MESSAGE
                and not field.is_repeated
                and depth > 1
                and field.message_type.fields
                and draw(st.booleans())
            ):
                parent, depth = getattr(parent, field.name), depth - 1
                field = draw(st.sampled_from(list(parent.DESCRIPTOR.fields)))
            values = _field_values(field, 2, hints)
            if values is None or draw(st.integers(0, 9)) == 0:
                parent.ClearField(field.name)
            else:
                _assign(parent, field, draw(values))
        return message

    return mutated()


def raw_requests() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, and a few known-bad encodings: a truncated varint, a length beyond the
    end, an invalid wire type, a group that never ends, a field number 0."""
    known_bad = st.sampled_from(
        [b"\x08", b"\x0a\x05ab", b"\x0f", b"\x0b", b"\x00\x00", b"\xff" * 11, b"\x0a\xff\xff\xff\xff\x0f"]
    )
    return known_bad | st.binary(max_size=MAX_RAW)
