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

class AlertSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_SEVERITY_UNSPECIFIED: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_INFO: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_WARNING: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_CRITICAL: _ClassVar[AlertSeverity]

class AlertEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_EVENT_KIND_UNSPECIFIED: _ClassVar[AlertEventKind]
    ALERT_EVENT_KIND_RAISED: _ClassVar[AlertEventKind]
    ALERT_EVENT_KIND_ACKNOWLEDGED: _ClassVar[AlertEventKind]
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
ALERT_SEVERITY_UNSPECIFIED: AlertSeverity
ALERT_SEVERITY_INFO: AlertSeverity
ALERT_SEVERITY_WARNING: AlertSeverity
ALERT_SEVERITY_CRITICAL: AlertSeverity
ALERT_EVENT_KIND_UNSPECIFIED: AlertEventKind
ALERT_EVENT_KIND_RAISED: AlertEventKind
ALERT_EVENT_KIND_ACKNOWLEDGED: AlertEventKind

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

class ResourceTotal(_message.Message):
    __slots__ = ("resource_type", "total", "available", "occupied", "unit_count")
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_FIELD_NUMBER: _ClassVar[int]
    UNIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    resource_type: str
    total: int
    available: int
    occupied: int
    unit_count: int
    def __init__(self, resource_type: _Optional[str] = ..., total: _Optional[int] = ..., available: _Optional[int] = ..., occupied: _Optional[int] = ..., unit_count: _Optional[int] = ...) -> None: ...

class GetCapacityOverviewResponse(_message.Message):
    __slots__ = ("units", "totals", "position")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    units: _containers.RepeatedCompositeFieldContainer[Unit]
    totals: _containers.RepeatedCompositeFieldContainer[ResourceTotal]
    position: int
    def __init__(self, units: _Optional[_Iterable[_Union[Unit, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[ResourceTotal, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

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

class CapacityReport(_message.Message):
    __slots__ = ("unit_id", "resource", "position")
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    unit_id: str
    resource: Resource
    position: int
    def __init__(self, unit_id: _Optional[str] = ..., resource: _Optional[_Union[Resource, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class ListCapacityHistoryRequest(_message.Message):
    __slots__ = ("unit_id", "resource_type", "from_time", "to_time")
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    unit_id: str
    resource_type: str
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    def __init__(self, unit_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCapacityHistoryResponse(_message.Message):
    __slots__ = ("reports", "truncated")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[CapacityReport]
    truncated: bool
    def __init__(self, reports: _Optional[_Iterable[_Union[CapacityReport, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class WatchCapacityRequest(_message.Message):
    __slots__ = ("municipality_number", "region", "unit_type", "resume_after")
    MUNICIPALITY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    UNIT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_FIELD_NUMBER: _ClassVar[int]
    municipality_number: str
    region: str
    unit_type: UnitType
    resume_after: int
    def __init__(self, municipality_number: _Optional[str] = ..., region: _Optional[str] = ..., unit_type: _Optional[_Union[UnitType, str]] = ..., resume_after: _Optional[int] = ...) -> None: ...

class CapacitySnapshot(_message.Message):
    __slots__ = ("units", "totals")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    units: _containers.RepeatedCompositeFieldContainer[Unit]
    totals: _containers.RepeatedCompositeFieldContainer[ResourceTotal]
    def __init__(self, units: _Optional[_Iterable[_Union[Unit, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[ResourceTotal, _Mapping]]] = ...) -> None: ...

class WatchCapacityResponse(_message.Message):
    __slots__ = ("position", "snapshot", "change")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    position: int
    snapshot: CapacitySnapshot
    change: CapacityReport
    def __init__(self, position: _Optional[int] = ..., snapshot: _Optional[_Union[CapacitySnapshot, _Mapping]] = ..., change: _Optional[_Union[CapacityReport, _Mapping]] = ...) -> None: ...

class AlertArea(_message.Message):
    __slots__ = ("region", "municipality_number")
    REGION_FIELD_NUMBER: _ClassVar[int]
    MUNICIPALITY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    region: str
    municipality_number: str
    def __init__(self, region: _Optional[str] = ..., municipality_number: _Optional[str] = ...) -> None: ...

class Acknowledgement(_message.Message):
    __slots__ = ("orgnr", "acknowledge_time", "client_id", "hpr_number", "name", "note")
    ORGNR_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_TIME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    orgnr: str
    acknowledge_time: _timestamp_pb2.Timestamp
    client_id: str
    hpr_number: str
    name: str
    note: str
    def __init__(self, orgnr: _Optional[str] = ..., acknowledge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_id: _Optional[str] = ..., hpr_number: _Optional[str] = ..., name: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "severity", "message", "area", "target_orgnrs", "sender_orgnr", "sender_client_id", "raise_time", "expire_time", "acknowledgements", "pending_orgnrs")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    TARGET_ORGNRS_FIELD_NUMBER: _ClassVar[int]
    SENDER_ORGNR_FIELD_NUMBER: _ClassVar[int]
    SENDER_CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RAISE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGEMENTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_ORGNRS_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    severity: AlertSeverity
    message: str
    area: AlertArea
    target_orgnrs: _containers.RepeatedScalarFieldContainer[str]
    sender_orgnr: str
    sender_client_id: str
    raise_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    acknowledgements: _containers.RepeatedCompositeFieldContainer[Acknowledgement]
    pending_orgnrs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, alert_id: _Optional[str] = ..., severity: _Optional[_Union[AlertSeverity, str]] = ..., message: _Optional[str] = ..., area: _Optional[_Union[AlertArea, _Mapping]] = ..., target_orgnrs: _Optional[_Iterable[str]] = ..., sender_orgnr: _Optional[str] = ..., sender_client_id: _Optional[str] = ..., raise_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledgements: _Optional[_Iterable[_Union[Acknowledgement, _Mapping]]] = ..., pending_orgnrs: _Optional[_Iterable[str]] = ...) -> None: ...

class RaiseAlertRequest(_message.Message):
    __slots__ = ("severity", "message", "target_orgnrs", "area", "expire_time", "request_id")
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ORGNRS_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    severity: AlertSeverity
    message: str
    target_orgnrs: _containers.RepeatedScalarFieldContainer[str]
    area: AlertArea
    expire_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, severity: _Optional[_Union[AlertSeverity, str]] = ..., message: _Optional[str] = ..., target_orgnrs: _Optional[_Iterable[str]] = ..., area: _Optional[_Union[AlertArea, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RaiseAlertResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class AcknowledgeAlertRequest(_message.Message):
    __slots__ = ("alert_id", "note")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    note: str
    def __init__(self, alert_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AcknowledgeAlertResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("include_expired", "page_size", "page_token")
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    include_expired: bool
    page_size: int
    page_token: str
    def __init__(self, include_expired: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "next_page_token")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    next_page_token: str
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchAlertsRequest(_message.Message):
    __slots__ = ("resume_after",)
    RESUME_AFTER_FIELD_NUMBER: _ClassVar[int]
    resume_after: int
    def __init__(self, resume_after: _Optional[int] = ...) -> None: ...

class AlertSnapshot(_message.Message):
    __slots__ = ("alerts", "truncated")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    truncated: bool
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class AlertEvent(_message.Message):
    __slots__ = ("kind", "alert")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    kind: AlertEventKind
    alert: Alert
    def __init__(self, kind: _Optional[_Union[AlertEventKind, str]] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class WatchAlertsResponse(_message.Message):
    __slots__ = ("position", "snapshot", "alert_event")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    ALERT_EVENT_FIELD_NUMBER: _ClassVar[int]
    position: int
    snapshot: AlertSnapshot
    alert_event: AlertEvent
    def __init__(self, position: _Optional[int] = ..., snapshot: _Optional[_Union[AlertSnapshot, _Mapping]] = ..., alert_event: _Optional[_Union[AlertEvent, _Mapping]] = ...) -> None: ...
