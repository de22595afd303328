import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from samhandling.common.v1 import common_pb2 as _common_pb2
from samhandling.summary.v1 import summary_pb2 as _summary_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EscalationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_STATE_UNSPECIFIED: _ClassVar[EscalationState]
    ESCALATION_STATE_OPEN: _ClassVar[EscalationState]
    ESCALATION_STATE_ACKNOWLEDGED: _ClassVar[EscalationState]
    ESCALATION_STATE_REASSESSMENT_PLANNED: _ClassVar[EscalationState]
    ESCALATION_STATE_RESOLVED: _ClassVar[EscalationState]

class EscalationOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_ORIGIN_UNSPECIFIED: _ClassVar[EscalationOrigin]
    ESCALATION_ORIGIN_SCORE: _ClassVar[EscalationOrigin]
    ESCALATION_ORIGIN_CONCERN: _ClassVar[EscalationOrigin]

class EscalationRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_ROLE_UNSPECIFIED: _ClassVar[EscalationRole]
    ESCALATION_ROLE_RESPONSIBLE: _ClassVar[EscalationRole]
    ESCALATION_ROLE_INFORMED: _ClassVar[EscalationRole]
    ESCALATION_ROLE_SOURCE: _ClassVar[EscalationRole]

class EscalationTargetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_TARGET_KIND_UNSPECIFIED: _ClassVar[EscalationTargetKind]
    ESCALATION_TARGET_KIND_FOLLOW_UP_TEAM: _ClassVar[EscalationTargetKind]
    ESCALATION_TARGET_KIND_HOME_NURSING: _ClassVar[EscalationTargetKind]
    ESCALATION_TARGET_KIND_LEGEVAKT: _ClassVar[EscalationTargetKind]

class EscalationNoticeReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_NOTICE_REASON_UNSPECIFIED: _ClassVar[EscalationNoticeReason]
    ESCALATION_NOTICE_REASON_OPENED: _ClassVar[EscalationNoticeReason]
    ESCALATION_NOTICE_REASON_UPGRADED: _ClassVar[EscalationNoticeReason]
    ESCALATION_NOTICE_REASON_TIMEOUT: _ClassVar[EscalationNoticeReason]
    ESCALATION_NOTICE_REASON_PASSED_ON: _ClassVar[EscalationNoticeReason]
    ESCALATION_NOTICE_REASON_CONCERN: _ClassVar[EscalationNoticeReason]
    ESCALATION_NOTICE_REASON_REASSESSMENT_DUE: _ClassVar[EscalationNoticeReason]

class EscalationOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_OUTCOME_UNSPECIFIED: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_MANAGED_IN_PLACE: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_SENT_TO_LEGEVAKT: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_ADMITTED_TO_HOSPITAL: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_AMBULANCE_CALLED: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_NO_ACTION_NEEDED: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_OTHER: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_AUTO_IMPROVED: _ClassVar[EscalationOutcome]
    ESCALATION_OUTCOME_AUTO_NO_WORSENING: _ClassVar[EscalationOutcome]

class EscalationEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_EVENT_KIND_UNSPECIFIED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_OPENED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_UPGRADED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_CONCERN: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_TIMEOUT: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_CHAIN_EXHAUSTED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_ACKNOWLEDGED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_DECLINED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_REASSESSMENT_PLANNED: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_REASSESSMENT_DUE: _ClassVar[EscalationEventKind]
    ESCALATION_EVENT_KIND_RESOLVED: _ClassVar[EscalationEventKind]

class EscalationBox(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_BOX_UNSPECIFIED: _ClassVar[EscalationBox]
    ESCALATION_BOX_RECEIVED: _ClassVar[EscalationBox]
    ESCALATION_BOX_SENT: _ClassVar[EscalationBox]

class EscalationSignalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_SIGNAL_KIND_UNSPECIFIED: _ClassVar[EscalationSignalKind]
    ESCALATION_SIGNAL_KIND_ACKNOWLEDGED_LATE: _ClassVar[EscalationSignalKind]
    ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED: _ClassVar[EscalationSignalKind]
ESCALATION_STATE_UNSPECIFIED: EscalationState
ESCALATION_STATE_OPEN: EscalationState
ESCALATION_STATE_ACKNOWLEDGED: EscalationState
ESCALATION_STATE_REASSESSMENT_PLANNED: EscalationState
ESCALATION_STATE_RESOLVED: EscalationState
ESCALATION_ORIGIN_UNSPECIFIED: EscalationOrigin
ESCALATION_ORIGIN_SCORE: EscalationOrigin
ESCALATION_ORIGIN_CONCERN: EscalationOrigin
ESCALATION_ROLE_UNSPECIFIED: EscalationRole
ESCALATION_ROLE_RESPONSIBLE: EscalationRole
ESCALATION_ROLE_INFORMED: EscalationRole
ESCALATION_ROLE_SOURCE: EscalationRole
ESCALATION_TARGET_KIND_UNSPECIFIED: EscalationTargetKind
ESCALATION_TARGET_KIND_FOLLOW_UP_TEAM: EscalationTargetKind
ESCALATION_TARGET_KIND_HOME_NURSING: EscalationTargetKind
ESCALATION_TARGET_KIND_LEGEVAKT: EscalationTargetKind
ESCALATION_NOTICE_REASON_UNSPECIFIED: EscalationNoticeReason
ESCALATION_NOTICE_REASON_OPENED: EscalationNoticeReason
ESCALATION_NOTICE_REASON_UPGRADED: EscalationNoticeReason
ESCALATION_NOTICE_REASON_TIMEOUT: EscalationNoticeReason
ESCALATION_NOTICE_REASON_PASSED_ON: EscalationNoticeReason
ESCALATION_NOTICE_REASON_CONCERN: EscalationNoticeReason
ESCALATION_NOTICE_REASON_REASSESSMENT_DUE: EscalationNoticeReason
ESCALATION_OUTCOME_UNSPECIFIED: EscalationOutcome
ESCALATION_OUTCOME_MANAGED_IN_PLACE: EscalationOutcome
ESCALATION_OUTCOME_SENT_TO_LEGEVAKT: EscalationOutcome
ESCALATION_OUTCOME_ADMITTED_TO_HOSPITAL: EscalationOutcome
ESCALATION_OUTCOME_AMBULANCE_CALLED: EscalationOutcome
ESCALATION_OUTCOME_NO_ACTION_NEEDED: EscalationOutcome
ESCALATION_OUTCOME_OTHER: EscalationOutcome
ESCALATION_OUTCOME_AUTO_IMPROVED: EscalationOutcome
ESCALATION_OUTCOME_AUTO_NO_WORSENING: EscalationOutcome
ESCALATION_EVENT_KIND_UNSPECIFIED: EscalationEventKind
ESCALATION_EVENT_KIND_OPENED: EscalationEventKind
ESCALATION_EVENT_KIND_UPGRADED: EscalationEventKind
ESCALATION_EVENT_KIND_CONCERN: EscalationEventKind
ESCALATION_EVENT_KIND_TIMEOUT: EscalationEventKind
ESCALATION_EVENT_KIND_CHAIN_EXHAUSTED: EscalationEventKind
ESCALATION_EVENT_KIND_ACKNOWLEDGED: EscalationEventKind
ESCALATION_EVENT_KIND_DECLINED: EscalationEventKind
ESCALATION_EVENT_KIND_REASSESSMENT_PLANNED: EscalationEventKind
ESCALATION_EVENT_KIND_REASSESSMENT_DUE: EscalationEventKind
ESCALATION_EVENT_KIND_RESOLVED: EscalationEventKind
ESCALATION_BOX_UNSPECIFIED: EscalationBox
ESCALATION_BOX_RECEIVED: EscalationBox
ESCALATION_BOX_SENT: EscalationBox
ESCALATION_SIGNAL_KIND_UNSPECIFIED: EscalationSignalKind
ESCALATION_SIGNAL_KIND_ACKNOWLEDGED_LATE: EscalationSignalKind
ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED: EscalationSignalKind

class EscalationInboxItem(_message.Message):
    __slots__ = ("escalation_id", "level", "state", "role", "open_time", "deadline_time", "last_notice_time", "last_notice_reason", "pushed", "chain_exhausted", "declined", "reassess_time", "position")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_NOTICE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_NOTICE_REASON_FIELD_NUMBER: _ClassVar[int]
    PUSHED_FIELD_NUMBER: _ClassVar[int]
    CHAIN_EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    REASSESS_TIME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    level: _summary_pb2.EscalationLevel
    state: EscalationState
    role: EscalationRole
    open_time: _timestamp_pb2.Timestamp
    deadline_time: _timestamp_pb2.Timestamp
    last_notice_time: _timestamp_pb2.Timestamp
    last_notice_reason: EscalationNoticeReason
    pushed: bool
    chain_exhausted: bool
    declined: bool
    reassess_time: _timestamp_pb2.Timestamp
    position: int
    def __init__(self, escalation_id: _Optional[str] = ..., level: _Optional[_Union[_summary_pb2.EscalationLevel, str]] = ..., state: _Optional[_Union[EscalationState, str]] = ..., role: _Optional[_Union[EscalationRole, str]] = ..., open_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_notice_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_notice_reason: _Optional[_Union[EscalationNoticeReason, str]] = ..., pushed: _Optional[bool] = ..., chain_exhausted: _Optional[bool] = ..., declined: _Optional[bool] = ..., reassess_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...

class ListEscalationsRequest(_message.Message):
    __slots__ = ("box", "include_resolved", "page_size", "page_token")
    BOX_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    box: EscalationBox
    include_resolved: bool
    page_size: int
    page_token: str
    def __init__(self, box: _Optional[_Union[EscalationBox, str]] = ..., include_resolved: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEscalationsResponse(_message.Message):
    __slots__ = ("escalations", "next_page_token", "server_time")
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    escalations: _containers.RepeatedCompositeFieldContainer[EscalationInboxItem]
    next_page_token: str
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, escalations: _Optional[_Iterable[_Union[EscalationInboxItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchEscalationsRequest(_message.Message):
    __slots__ = ("box", "resume_after", "pushed_only")
    BOX_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_FIELD_NUMBER: _ClassVar[int]
    PUSHED_ONLY_FIELD_NUMBER: _ClassVar[int]
    box: EscalationBox
    resume_after: int
    pushed_only: bool
    def __init__(self, box: _Optional[_Union[EscalationBox, str]] = ..., resume_after: _Optional[int] = ..., pushed_only: _Optional[bool] = ...) -> None: ...

class EscalationInboxSnapshot(_message.Message):
    __slots__ = ("escalations", "truncated")
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    escalations: _containers.RepeatedCompositeFieldContainer[EscalationInboxItem]
    truncated: bool
    def __init__(self, escalations: _Optional[_Iterable[_Union[EscalationInboxItem, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class WatchEscalationsResponse(_message.Message):
    __slots__ = ("position", "server_time", "snapshot", "change")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    position: int
    server_time: _timestamp_pb2.Timestamp
    snapshot: EscalationInboxSnapshot
    change: EscalationInboxItem
    def __init__(self, position: _Optional[int] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., snapshot: _Optional[_Union[EscalationInboxSnapshot, _Mapping]] = ..., change: _Optional[_Union[EscalationInboxItem, _Mapping]] = ...) -> None: ...

class EscalationTarget(_message.Message):
    __slots__ = ("orgnr", "name", "kind", "role", "added_because", "add_time", "last_notice_time", "declined")
    ORGNR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ADDED_BECAUSE_FIELD_NUMBER: _ClassVar[int]
    ADD_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_NOTICE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    orgnr: str
    name: str
    kind: EscalationTargetKind
    role: EscalationRole
    added_because: EscalationNoticeReason
    add_time: _timestamp_pb2.Timestamp
    last_notice_time: _timestamp_pb2.Timestamp
    declined: bool
    def __init__(self, orgnr: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[EscalationTargetKind, str]] = ..., role: _Optional[_Union[EscalationRole, str]] = ..., added_because: _Optional[_Union[EscalationNoticeReason, str]] = ..., add_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_notice_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., declined: _Optional[bool] = ...) -> None: ...

class EscalationEvent(_message.Message):
    __slots__ = ("kind", "event_time", "level", "orgnr", "person", "text", "outcome", "reassess_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    ORGNR_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASSESS_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: EscalationEventKind
    event_time: _timestamp_pb2.Timestamp
    level: _summary_pb2.EscalationLevel
    orgnr: str
    person: _summary_pb2.Performer
    text: str
    outcome: EscalationOutcome
    reassess_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[EscalationEventKind, str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[_Union[_summary_pb2.EscalationLevel, str]] = ..., orgnr: _Optional[str] = ..., person: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ..., text: _Optional[str] = ..., outcome: _Optional[_Union[EscalationOutcome, str]] = ..., reassess_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Isbar(_message.Message):
    __slots__ = ("identify", "situation", "background", "assessment", "recommendation")
    IDENTIFY_FIELD_NUMBER: _ClassVar[int]
    SITUATION_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    identify: str
    situation: str
    background: str
    assessment: str
    recommendation: str
    def __init__(self, identify: _Optional[str] = ..., situation: _Optional[str] = ..., background: _Optional[str] = ..., assessment: _Optional[str] = ..., recommendation: _Optional[str] = ...) -> None: ...

class Escalation(_message.Message):
    __slots__ = ("escalation_id", "patient_id", "level", "state", "origin", "rules_version", "source_orgnr", "open_time", "deadline_time", "chain_exhausted", "undeliverable", "targets", "events", "measurements", "measurements_left_out", "reassess_time", "outcome", "recorder_notices", "isbar")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ORGNR_FIELD_NUMBER: _ClassVar[int]
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_TIME_FIELD_NUMBER: _ClassVar[int]
    CHAIN_EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    UNDELIVERABLE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_LEFT_OUT_FIELD_NUMBER: _ClassVar[int]
    REASSESS_TIME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RECORDER_NOTICES_FIELD_NUMBER: _ClassVar[int]
    ISBAR_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    patient_id: str
    level: _summary_pb2.EscalationLevel
    state: EscalationState
    origin: EscalationOrigin
    rules_version: str
    source_orgnr: str
    open_time: _timestamp_pb2.Timestamp
    deadline_time: _timestamp_pb2.Timestamp
    chain_exhausted: bool
    undeliverable: bool
    targets: _containers.RepeatedCompositeFieldContainer[EscalationTarget]
    events: _containers.RepeatedCompositeFieldContainer[EscalationEvent]
    measurements: _containers.RepeatedCompositeFieldContainer[_summary_pb2.VitalSignsRecord]
    measurements_left_out: int
    reassess_time: _timestamp_pb2.Timestamp
    outcome: EscalationOutcome
    recorder_notices: _containers.RepeatedCompositeFieldContainer[_summary_pb2.RecorderNotice]
    isbar: Isbar
    def __init__(self, escalation_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., level: _Optional[_Union[_summary_pb2.EscalationLevel, str]] = ..., state: _Optional[_Union[EscalationState, str]] = ..., origin: _Optional[_Union[EscalationOrigin, str]] = ..., rules_version: _Optional[str] = ..., source_orgnr: _Optional[str] = ..., open_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., chain_exhausted: _Optional[bool] = ..., undeliverable: _Optional[bool] = ..., targets: _Optional[_Iterable[_Union[EscalationTarget, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[EscalationEvent, _Mapping]]] = ..., measurements: _Optional[_Iterable[_Union[_summary_pb2.VitalSignsRecord, _Mapping]]] = ..., measurements_left_out: _Optional[int] = ..., reassess_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[_Union[EscalationOutcome, str]] = ..., recorder_notices: _Optional[_Iterable[_Union[_summary_pb2.RecorderNotice, _Mapping]]] = ..., isbar: _Optional[_Union[Isbar, _Mapping]] = ...) -> None: ...

class GetEscalationRequest(_message.Message):
    __slots__ = ("escalation_id",)
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    def __init__(self, escalation_id: _Optional[str] = ...) -> None: ...

class GetEscalationResponse(_message.Message):
    __slots__ = ("escalation", "server_time")
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    escalation: Escalation
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, escalation: _Optional[_Union[Escalation, _Mapping]] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AcknowledgeEscalationRequest(_message.Message):
    __slots__ = ("escalation_id", "request_id", "acknowledged_by")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    request_id: str
    acknowledged_by: _summary_pb2.Performer
    def __init__(self, escalation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., acknowledged_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class AcknowledgeEscalationResponse(_message.Message):
    __slots__ = ("escalation",)
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    escalation: Escalation
    def __init__(self, escalation: _Optional[_Union[Escalation, _Mapping]] = ...) -> None: ...

class DeclineEscalationRequest(_message.Message):
    __slots__ = ("escalation_id", "request_id", "reason", "declined_by")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECLINED_BY_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    request_id: str
    reason: str
    declined_by: _summary_pb2.Performer
    def __init__(self, escalation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., reason: _Optional[str] = ..., declined_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class DeclineEscalationResponse(_message.Message):
    __slots__ = ("escalation",)
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    escalation: Escalation
    def __init__(self, escalation: _Optional[_Union[Escalation, _Mapping]] = ...) -> None: ...

class PlanReassessmentRequest(_message.Message):
    __slots__ = ("escalation_id", "request_id", "reassess_time", "planned_by", "note")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASSESS_TIME_FIELD_NUMBER: _ClassVar[int]
    PLANNED_BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    request_id: str
    reassess_time: _timestamp_pb2.Timestamp
    planned_by: _summary_pb2.Performer
    note: str
    def __init__(self, escalation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., reassess_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., planned_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class PlanReassessmentResponse(_message.Message):
    __slots__ = ("escalation",)
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    escalation: Escalation
    def __init__(self, escalation: _Optional[_Union[Escalation, _Mapping]] = ...) -> None: ...

class ResolveEscalationRequest(_message.Message):
    __slots__ = ("escalation_id", "request_id", "outcome", "note", "resolved_by")
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    request_id: str
    outcome: EscalationOutcome
    note: str
    resolved_by: _summary_pb2.Performer
    def __init__(self, escalation_id: _Optional[str] = ..., request_id: _Optional[str] = ..., outcome: _Optional[_Union[EscalationOutcome, str]] = ..., note: _Optional[str] = ..., resolved_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class ResolveEscalationResponse(_message.Message):
    __slots__ = ("escalation",)
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    escalation: Escalation
    def __init__(self, escalation: _Optional[_Union[Escalation, _Mapping]] = ...) -> None: ...

class RaiseConcernRequest(_message.Message):
    __slots__ = ("patient_id", "request_id", "level", "note", "raised_by")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RAISED_BY_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    request_id: str
    level: _summary_pb2.EscalationLevel
    note: str
    raised_by: _summary_pb2.Performer
    def __init__(self, patient_id: _Optional[str] = ..., request_id: _Optional[str] = ..., level: _Optional[_Union[_summary_pb2.EscalationLevel, str]] = ..., note: _Optional[str] = ..., raised_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class RaiseConcernResponse(_message.Message):
    __slots__ = ("escalation", "recorder_notices")
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    RECORDER_NOTICES_FIELD_NUMBER: _ClassVar[int]
    escalation: Escalation
    recorder_notices: _containers.RepeatedCompositeFieldContainer[_summary_pb2.RecorderNotice]
    def __init__(self, escalation: _Optional[_Union[Escalation, _Mapping]] = ..., recorder_notices: _Optional[_Iterable[_Union[_summary_pb2.RecorderNotice, _Mapping]]] = ...) -> None: ...

class ListPatientEscalationsRequest(_message.Message):
    __slots__ = ("patient_id", "page_size", "page_token")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    page_size: int
    page_token: str
    def __init__(self, patient_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPatientEscalationsResponse(_message.Message):
    __slots__ = ("escalations", "next_page_token")
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    escalations: _containers.RepeatedCompositeFieldContainer[Escalation]
    next_page_token: str
    def __init__(self, escalations: _Optional[_Iterable[_Union[Escalation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class OpeningInterval(_message.Message):
    __slots__ = ("weekday", "start_minute", "end_minute")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    start_minute: int
    end_minute: int
    def __init__(self, weekday: _Optional[int] = ..., start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ...) -> None: ...

class OpeningHours(_message.Message):
    __slots__ = ("intervals", "closed_dates")
    INTERVALS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_DATES_FIELD_NUMBER: _ClassVar[int]
    intervals: _containers.RepeatedCompositeFieldContainer[OpeningInterval]
    closed_dates: _containers.RepeatedCompositeFieldContainer[_common_pb2.Date]
    def __init__(self, intervals: _Optional[_Iterable[_Union[OpeningInterval, _Mapping]]] = ..., closed_dates: _Optional[_Iterable[_Union[_common_pb2.Date, _Mapping]]] = ...) -> None: ...

class FollowUpEnrolment(_message.Message):
    __slots__ = ("enrolment_id", "patient_id", "team_orgnr", "team_name", "opening_hours", "start_time", "end_time", "enrolled_by", "ended_by")
    ENROLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_ORGNR_FIELD_NUMBER: _ClassVar[int]
    TEAM_NAME_FIELD_NUMBER: _ClassVar[int]
    OPENING_HOURS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_BY_FIELD_NUMBER: _ClassVar[int]
    ENDED_BY_FIELD_NUMBER: _ClassVar[int]
    enrolment_id: str
    patient_id: str
    team_orgnr: str
    team_name: str
    opening_hours: OpeningHours
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    enrolled_by: _summary_pb2.Performer
    ended_by: _summary_pb2.Performer
    def __init__(self, enrolment_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., team_orgnr: _Optional[str] = ..., team_name: _Optional[str] = ..., opening_hours: _Optional[_Union[OpeningHours, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., enrolled_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ..., ended_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class EnrolFollowUpRequest(_message.Message):
    __slots__ = ("patient_id", "request_id", "team_name", "opening_hours", "enrolled_by")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_NAME_FIELD_NUMBER: _ClassVar[int]
    OPENING_HOURS_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_BY_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    request_id: str
    team_name: str
    opening_hours: OpeningHours
    enrolled_by: _summary_pb2.Performer
    def __init__(self, patient_id: _Optional[str] = ..., request_id: _Optional[str] = ..., team_name: _Optional[str] = ..., opening_hours: _Optional[_Union[OpeningHours, _Mapping]] = ..., enrolled_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class EnrolFollowUpResponse(_message.Message):
    __slots__ = ("enrolment",)
    ENROLMENT_FIELD_NUMBER: _ClassVar[int]
    enrolment: FollowUpEnrolment
    def __init__(self, enrolment: _Optional[_Union[FollowUpEnrolment, _Mapping]] = ...) -> None: ...

class EndFollowUpRequest(_message.Message):
    __slots__ = ("enrolment_id", "request_id", "ended_by", "patient_id")
    ENROLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ENDED_BY_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    enrolment_id: str
    request_id: str
    ended_by: _summary_pb2.Performer
    patient_id: str
    def __init__(self, enrolment_id: _Optional[str] = ..., request_id: _Optional[str] = ..., ended_by: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ..., patient_id: _Optional[str] = ...) -> None: ...

class EndFollowUpResponse(_message.Message):
    __slots__ = ("enrolment",)
    ENROLMENT_FIELD_NUMBER: _ClassVar[int]
    enrolment: FollowUpEnrolment
    def __init__(self, enrolment: _Optional[_Union[FollowUpEnrolment, _Mapping]] = ...) -> None: ...

class ExportEscalationRequest(_message.Message):
    __slots__ = ("escalation_id",)
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    def __init__(self, escalation_id: _Optional[str] = ...) -> None: ...

class ExportEscalationResponse(_message.Message):
    __slots__ = ("bundle_json",)
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    bundle_json: str
    def __init__(self, bundle_json: _Optional[str] = ...) -> None: ...

class GetEscalationStatisticsRequest(_message.Message):
    __slots__ = ("start_date", "end_date")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    start_date: _common_pb2.Date
    end_date: _common_pb2.Date
    def __init__(self, start_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class EscalationDayStatistics(_message.Message):
    __slots__ = ("day", "level", "opened_count", "acknowledged_count", "median_time_to_acknowledge", "p90_time_to_acknowledge", "timed_out_count")
    DAY_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPENED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_ACKNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    P90_TIME_TO_ACKNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_COUNT_FIELD_NUMBER: _ClassVar[int]
    day: _common_pb2.Date
    level: _summary_pb2.EscalationLevel
    opened_count: int
    acknowledged_count: int
    median_time_to_acknowledge: _duration_pb2.Duration
    p90_time_to_acknowledge: _duration_pb2.Duration
    timed_out_count: int
    def __init__(self, day: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., level: _Optional[_Union[_summary_pb2.EscalationLevel, str]] = ..., opened_count: _Optional[int] = ..., acknowledged_count: _Optional[int] = ..., median_time_to_acknowledge: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., p90_time_to_acknowledge: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., timed_out_count: _Optional[int] = ...) -> None: ...

class GetEscalationStatisticsResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[EscalationDayStatistics]
    def __init__(self, days: _Optional[_Iterable[_Union[EscalationDayStatistics, _Mapping]]] = ...) -> None: ...

class LookupEscalationPatientRequest(_message.Message):
    __slots__ = ("escalation_id",)
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    escalation_id: str
    def __init__(self, escalation_id: _Optional[str] = ...) -> None: ...

class LookupEscalationPatientResponse(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class EscalationSignal(_message.Message):
    __slots__ = ("kind", "escalation_id", "level", "open_time", "deadline_time", "event_time", "late_by", "orgnr", "role", "person")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LATE_BY_FIELD_NUMBER: _ClassVar[int]
    ORGNR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    kind: EscalationSignalKind
    escalation_id: str
    level: _summary_pb2.EscalationLevel
    open_time: _timestamp_pb2.Timestamp
    deadline_time: _timestamp_pb2.Timestamp
    event_time: _timestamp_pb2.Timestamp
    late_by: _duration_pb2.Duration
    orgnr: str
    role: EscalationRole
    person: _summary_pb2.Performer
    def __init__(self, kind: _Optional[_Union[EscalationSignalKind, str]] = ..., escalation_id: _Optional[str] = ..., level: _Optional[_Union[_summary_pb2.EscalationLevel, str]] = ..., open_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., late_by: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., orgnr: _Optional[str] = ..., role: _Optional[_Union[EscalationRole, str]] = ..., person: _Optional[_Union[_summary_pb2.Performer, _Mapping]] = ...) -> None: ...

class ListEscalationSignalsRequest(_message.Message):
    __slots__ = ("kind", "start_time", "end_time", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: EscalationSignalKind
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[_Union[EscalationSignalKind, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEscalationSignalsResponse(_message.Message):
    __slots__ = ("signals", "next_page_token", "truncated")
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    signals: _containers.RepeatedCompositeFieldContainer[EscalationSignal]
    next_page_token: str
    truncated: bool
    def __init__(self, signals: _Optional[_Iterable[_Union[EscalationSignal, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., truncated: _Optional[bool] = ...) -> None: ...
