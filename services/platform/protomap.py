"""Mapping helpers between protobuf values and domain values, shared by every api module."""
from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import TypeVar

from google.protobuf import timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from samhandling.common.v1 import common_pb2

E = TypeVar("E", bound=Enum)


def _prefix(proto_enum: EnumTypeWrapper) -> str:
    # Buf style: values are prefixed with the enum's name in UPPER_SNAKE_CASE.
    zero = proto_enum.Name(0)
    return zero[: -len("UNSPECIFIED")]


def to_enum(proto_enum: EnumTypeWrapper, value: Enum | None) -> int:
    """Domain enum member (named like the proto value without prefix) to proto number."""
    return 0 if value is None else proto_enum.Value(_prefix(proto_enum) + value.name)


def from_enum(proto_enum: EnumTypeWrapper, number: int, domain: type[E]) -> E | None:
    """Proto number to domain enum member; None for UNSPECIFIED and unknown numbers."""
    if number == 0 or number not in proto_enum.values():
        return None
    return domain[proto_enum.Name(number)[len(_prefix(proto_enum)):]]


def to_timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return ts


def from_timestamp(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def to_date(value: date | None) -> common_pb2.Date | None:
    return None if value is None else common_pb2.Date(year=value.year, month=value.month, day=value.day)
