import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from samhandling.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_READ: _ClassVar[Action]
    ACTION_CREATE: _ClassVar[Action]
    ACTION_UPDATE: _ClassVar[Action]
    ACTION_DELETE: _ClassVar[Action]
    ACTION_SEARCH: _ClassVar[Action]

class Obligation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBLIGATION_UNSPECIFIED: _ClassVar[Obligation]
    OBLIGATION_FLAG_FOR_AUDIT: _ClassVar[Obligation]
    OBLIGATION_NOTIFY_PATIENT: _ClassVar[Obligation]

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_FHIR_JSON: _ClassVar[ExportFormat]
    EXPORT_FORMAT_CSV: _ClassVar[ExportFormat]

class SignalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNAL_KIND_UNSPECIFIED: _ClassVar[SignalKind]
    SIGNAL_KIND_EMERGENCY_OVERRIDE: _ClassVar[SignalKind]
    SIGNAL_KIND_RESTRICTED_ACCESS: _ClassVar[SignalKind]
    SIGNAL_KIND_REPEATED_DENIALS: _ClassVar[SignalKind]
    SIGNAL_KIND_UNUSUAL_VOLUME: _ClassVar[SignalKind]
ACTION_UNSPECIFIED: Action
ACTION_READ: Action
ACTION_CREATE: Action
ACTION_UPDATE: Action
ACTION_DELETE: Action
ACTION_SEARCH: Action
OBLIGATION_UNSPECIFIED: Obligation
OBLIGATION_FLAG_FOR_AUDIT: Obligation
OBLIGATION_NOTIFY_PATIENT: Obligation
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_FHIR_JSON: ExportFormat
EXPORT_FORMAT_CSV: ExportFormat
SIGNAL_KIND_UNSPECIFIED: SignalKind
SIGNAL_KIND_EMERGENCY_OVERRIDE: SignalKind
SIGNAL_KIND_RESTRICTED_ACCESS: SignalKind
SIGNAL_KIND_REPEATED_DENIALS: SignalKind
SIGNAL_KIND_UNUSUAL_VOLUME: SignalKind

class AuditEvent(_message.Message):
    __slots__ = ("event_id", "idempotency_key", "occur_time", "actor", "patient_id", "action", "data_category", "purpose_of_use", "access_basis", "decision", "decided_by", "decision_id", "trace_id", "method", "sequence", "flagged", "justification", "obligations")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_OF_USE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_BASIS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    idempotency_key: str
    occur_time: _timestamp_pb2.Timestamp
    actor: _common_pb2.Actor
    patient_id: str
    action: Action
    data_category: _common_pb2.DataCategory
    purpose_of_use: _common_pb2.PurposeOfUse
    access_basis: _common_pb2.AccessBasis
    decision: _common_pb2.Decision
    decided_by: str
    decision_id: str
    trace_id: str
    method: str
    sequence: int
    flagged: bool
    justification: str
    obligations: _containers.RepeatedScalarFieldContainer[Obligation]
    def __init__(self, event_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., patient_id: _Optional[str] = ..., action: _Optional[_Union[Action, str]] = ..., data_category: _Optional[_Union[_common_pb2.DataCategory, str]] = ..., purpose_of_use: _Optional[_Union[_common_pb2.PurposeOfUse, str]] = ..., access_basis: _Optional[_Union[_common_pb2.AccessBasis, str]] = ..., decision: _Optional[_Union[_common_pb2.Decision, str]] = ..., decided_by: _Optional[str] = ..., decision_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., method: _Optional[str] = ..., sequence: _Optional[int] = ..., flagged: _Optional[bool] = ..., justification: _Optional[str] = ..., obligations: _Optional[_Iterable[_Union[Obligation, str]]] = ...) -> None: ...

class AppendEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ...) -> None: ...

class AppendEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("patient_id", "page_size", "page_token", "start_time", "end_time", "actor_orgnr", "flagged_only", "exclude_patient_actors")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ORGNR_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_ONLY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_PATIENT_ACTORS_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    actor_orgnr: str
    flagged_only: bool
    exclude_patient_actors: bool
    def __init__(self, patient_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor_orgnr: _Optional[str] = ..., flagged_only: _Optional[bool] = ..., exclude_patient_actors: _Optional[bool] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class EventFilter(_message.Message):
    __slots__ = ("patient_id", "actor_hpr_number", "actor_pid", "actor_orgnr_child", "start_time", "end_time", "purpose_of_use", "decision", "access_basis", "flagged_only")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_PID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ORGNR_CHILD_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_OF_USE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ACCESS_BASIS_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_ONLY_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    actor_hpr_number: str
    actor_pid: str
    actor_orgnr_child: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    purpose_of_use: _common_pb2.PurposeOfUse
    decision: _common_pb2.Decision
    access_basis: _common_pb2.AccessBasis
    flagged_only: bool
    def __init__(self, patient_id: _Optional[str] = ..., actor_hpr_number: _Optional[str] = ..., actor_pid: _Optional[str] = ..., actor_orgnr_child: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purpose_of_use: _Optional[_Union[_common_pb2.PurposeOfUse, str]] = ..., decision: _Optional[_Union[_common_pb2.Decision, str]] = ..., access_basis: _Optional[_Union[_common_pb2.AccessBasis, str]] = ..., flagged_only: _Optional[bool] = ...) -> None: ...

class SearchEventsRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: EventFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[EventFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportEventsRequest(_message.Message):
    __slots__ = ("filter", "format", "limit")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    filter: EventFilter
    format: ExportFormat
    limit: int
    def __init__(self, filter: _Optional[_Union[EventFilter, _Mapping]] = ..., format: _Optional[_Union[ExportFormat, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class ExportEventsResponse(_message.Message):
    __slots__ = ("content_type", "content", "event_count", "truncated")
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    content: bytes
    event_count: int
    truncated: bool
    def __init__(self, content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., event_count: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("kind", "actor", "day", "summary", "events")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    kind: SignalKind
    actor: _common_pb2.Actor
    day: _common_pb2.Date
    summary: str
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    def __init__(self, kind: _Optional[_Union[SignalKind, str]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., day: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., summary: _Optional[str] = ..., events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ...) -> None: ...

class ListSignalsRequest(_message.Message):
    __slots__ = ("kind", "start_time", "end_time", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: SignalKind
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[_Union[SignalKind, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSignalsResponse(_message.Message):
    __slots__ = ("signals", "next_page_token")
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    next_page_token: str
    def __init__(self, signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetEventProofRequest(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class GetEventProofResponse(_message.Message):
    __slots__ = ("proof",)
    PROOF_FIELD_NUMBER: _ClassVar[int]
    proof: str
    def __init__(self, proof: _Optional[str] = ...) -> None: ...

class GetPatientEventProofRequest(_message.Message):
    __slots__ = ("patient_id", "sequence")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    sequence: int
    def __init__(self, patient_id: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class GetPatientEventProofResponse(_message.Message):
    __slots__ = ("proof",)
    PROOF_FIELD_NUMBER: _ClassVar[int]
    proof: str
    def __init__(self, proof: _Optional[str] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    def __init__(self, checkpoint: _Optional[str] = ...) -> None: ...

class GetVerifierKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVerifierKeyResponse(_message.Message):
    __slots__ = ("vkey", "origin")
    VKEY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    vkey: str
    origin: str
    def __init__(self, vkey: _Optional[str] = ..., origin: _Optional[str] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("leaf_index", "tree_size")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetInclusionProofResponse(_message.Message):
    __slots__ = ("hashes",)
    HASHES_FIELD_NUMBER: _ClassVar[int]
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_size", "second_size")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofResponse(_message.Message):
    __slots__ = ("hashes",)
    HASHES_FIELD_NUMBER: _ClassVar[int]
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetLeavesRequest(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Leaf(_message.Message):
    __slots__ = ("index", "leaf_hash", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    leaf_hash: bytes
    data: bytes
    def __init__(self, index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., data: _Optional[bytes] = ...) -> None: ...

class GetLeavesResponse(_message.Message):
    __slots__ = ("leaves",)
    LEAVES_FIELD_NUMBER: _ClassVar[int]
    leaves: _containers.RepeatedCompositeFieldContainer[Leaf]
    def __init__(self, leaves: _Optional[_Iterable[_Union[Leaf, _Mapping]]] = ...) -> None: ...
