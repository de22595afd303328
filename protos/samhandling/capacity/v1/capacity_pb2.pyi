import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UnitType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNIT_TYPE_UNSPECIFIED: _ClassVar[UnitType]
    UNIT_TYPE_LEGEVAKT: _ClassVar[UnitType]
    UNIT_TYPE_KAD: _ClassVar[UnitType]
    UNIT_TYPE_NURSING_HOME_SHORT_TERM: _ClassVar[UnitType]
    UNIT_TYPE_EMERGENCY_DEPARTMENT: _ClassVar[UnitType]
    UNIT_TYPE_HOSPITAL_WARD: _ClassVar[UnitType]
    UNIT_TYPE_AMBULANCE: _ClassVar[UnitType]

class CapacityStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPACITY_STATUS_UNSPECIFIED: _ClassVar[CapacityStatus]
    CAPACITY_STATUS_NORMAL: _ClassVar[CapacityStatus]
    CAPACITY_STATUS_STRAINED: _ClassVar[CapacityStatus]
    CAPACITY_STATUS_FULL: _ClassVar[CapacityStatus]
UNIT_TYPE_UNSPECIFIED: UnitType
UNIT_TYPE_LEGEVAKT: UnitType
UNIT_TYPE_KAD: UnitType
UNIT_TYPE_NURSING_HOME_SHORT_TERM: UnitType
UNIT_TYPE_EMERGENCY_DEPARTMENT: UnitType
UNIT_TYPE_HOSPITAL_WARD: UnitType
UNIT_TYPE_AMBULANCE: UnitType
CAPACITY_STATUS_UNSPECIFIED: CapacityStatus
CAPACITY_STATUS_NORMAL: CapacityStatus
CAPACITY_STATUS_STRAINED: CapacityStatus
CAPACITY_STATUS_FULL: CapacityStatus

class Resource(_message.Message):
    __slots__ = ("resource_type", "total", "available", "occupied", "status", "note", "report_time", "reported_by")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    REPORTED_BY_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    total: int
    available: int
    occupied: int
    status: CapacityStatus
    note: str
    report_time: _timestamp_pb2.Timestamp
    reported_by: str
    def __init__(self, resource_type: _Optional[str] = ..., total: _Optional[int] = ..., available: _Optional[int] = ..., occupied: _Optional[int] = ..., status: _Optional[_Union[CapacityStatus, str]] = ..., note: _Optional[str] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reported_by: _Optional[str] = ...) -> None: ...

class Unit(_message.Message):
    __slots__ = ("unit_id", "name", "unit_type", "orgnr", "municipality_number", "region", "resources")
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNIT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORGNR_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    unit_id: str
    name: str
    unit_type: UnitType
    orgnr: str
    municipality_number: str
    region: str
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    def __init__(self, unit_id: _Optional[str] = ..., name: _Optional[str] = ..., unit_type: _Optional[_Union[UnitType, str]] = ..., orgnr: _Optional[str] = ..., municipality_number: _Optional[str] = ..., region: _Optional[str] = ..., resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ...) -> None: ...

class GetCapacityOverviewRequest(_message.Message):
    __slots__ = ("municipality_number", "region", "unit_type")
    MUNICIPALITY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    UNIT_TYPE_FIELD_NUMBER: _ClassVar[int]
    municipality_number: str
    region: str
    unit_type: UnitType
    def __init__(self, municipality_number: _Optional[str] = ..., region: _Optional[str] = ..., unit_type: _Optional[_Union[UnitType, str]] = ...) -> None: ...

class GetCapacityOverviewResponse(_message.Message):
    __slots__ = ("units",)
    UNITS_FIELD_NUMBER: _ClassVar[int]
    units: _containers.RepeatedCompositeFieldContainer[Unit]
    def __init__(self, units: _Optional[_Iterable[_Union[Unit, _Mapping]]] = ...) -> None: ...

class ReportCapacityRequest(_message.Message):
    __slots__ = ("unit_id", "resource_type", "total", "available", "occupied", "status", "note")
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    unit_id: str
    resource_type: str
    total: int
    available: int
    occupied: int
    status: CapacityStatus
    note: str
    def __init__(self, unit_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., total: _Optional[int] = ..., available: _Optional[int] = ..., occupied: _Optional[int] = ..., status: _Optional[_Union[CapacityStatus, str]] = ..., note: _Optional[str] = ...) -> None: ...

class ReportCapacityResponse(_message.Message):
    __slots__ = ("unit",)
    UNIT_FIELD_NUMBER: _ClassVar[int]
    unit: Unit
    def __init__(self, unit: _Optional[_Union[Unit, _Mapping]] = ...) -> None: ...
