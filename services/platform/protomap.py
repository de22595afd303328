"""Mapping helpers between protobuf values and domain values, shared by every api module."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import TypeVar, cast

from google.protobuf import timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import Message

from samhandling.common.v1 import common_pb2

E = TypeVar("E", bound=Enum)
# A generated proto enum: the .pyi stubs declare it an int subclass whose values are its members;
# at run time it is an EnumTypeWrapper whose values are plain ints.
P = TypeVar("P", bound=int)


def _prefix(proto_enum: EnumTypeWrapper) -> str:
    # Buf style: values are prefixed with the enum's name in UPPER_SNAKE_CASE.
    zero = proto_enum.Name(0)
    return zero[: -len("UNSPECIFIED")]


def to_enum(proto_enum: type[P], value: Enum | None) -> P:
    """Domain enum member (named like the proto value without prefix) to proto number."""
    wrapper = cast(EnumTypeWrapper, proto_enum)  # what the stubs call a class is a wrapper object
    return cast(P, 0 if value is None else wrapper.Value(_prefix(wrapper) + value.name))


def from_enum(proto_enum: EnumTypeWrapper, number: int, domain: type[E]) -> E | None:
    """Proto number to domain enum member; None for UNSPECIFIED and unknown numbers."""
    if number == 0 or number not in proto_enum.values():
        return None
    return domain[proto_enum.Name(number)[len(_prefix(proto_enum)) :]]


def to_timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return ts


def from_timestamp(ts: timestamp_pb2.Timestamp) -> datetime:
    """Raises ValueError for a Timestamp outside years 1-9999 or with nanos out of range."""
    return ts.ToDatetime(tzinfo=UTC)


INVALID_TIMESTAMP = "not a valid timestamp (years 1-9999, nanos 0-999999999)"


def read_timestamp(message: Message, name: str, problems: dict[str, str], path: str = "") -> datetime | None:
    """The Timestamp field `name` of a request as an aware UTC datetime; None when it is unset,
    or invalid — then `problems` names it (as `path`, or `name`), so the caller answers
    INVALID_ARGUMENT with every bad field rather than failing on the first."""
    if not message.HasField(name):
        return None
    try:
        return from_timestamp(getattr(message, name))
    except ValueError:
        problems[path or name] = INVALID_TIMESTAMP
        return None


def to_date(value: date | None) -> common_pb2.Date | None:
    return None if value is None else common_pb2.Date(year=value.year, month=value.month, day=value.day)
