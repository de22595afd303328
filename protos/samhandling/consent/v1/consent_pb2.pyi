import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from samhandling.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RuleType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_TYPE_UNSPECIFIED: _ClassVar[RuleType]
    RULE_TYPE_RESERVATION: _ClassVar[RuleType]
    RULE_TYPE_RESTRICTION: _ClassVar[RuleType]
    RULE_TYPE_BLOCK_PERSON: _ClassVar[RuleType]
    RULE_TYPE_PERMIT: _ClassVar[RuleType]

class RuleEffect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_EFFECT_UNSPECIFIED: _ClassVar[RuleEffect]
    RULE_EFFECT_PERMIT: _ClassVar[RuleEffect]
    RULE_EFFECT_DENY: _ClassVar[RuleEffect]

class RuleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_STATE_UNSPECIFIED: _ClassVar[RuleState]
    RULE_STATE_ACTIVE: _ClassVar[RuleState]
    RULE_STATE_REVOKED: _ClassVar[RuleState]

class Obligation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBLIGATION_UNSPECIFIED: _ClassVar[Obligation]
    OBLIGATION_FLAG_FOR_AUDIT: _ClassVar[Obligation]
    OBLIGATION_NOTIFY_PATIENT: _ClassVar[Obligation]

class NotificationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_KIND_UNSPECIFIED: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_EMERGENCY_ACCESS: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_CONSENT_AT_MOMENT: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_RULE_CHANGED: _ClassVar[NotificationKind]

class RepresentationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPRESENTATION_KIND_UNSPECIFIED: _ClassVar[RepresentationKind]
    REPRESENTATION_KIND_GUARDIAN: _ClassVar[RepresentationKind]
    REPRESENTATION_KIND_POWER_OF_ATTORNEY: _ClassVar[RepresentationKind]

class RepresentationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPRESENTATION_STATUS_UNSPECIFIED: _ClassVar[RepresentationStatus]
    REPRESENTATION_STATUS_IN_FORCE: _ClassVar[RepresentationStatus]
    REPRESENTATION_STATUS_NOT_YET_VALID: _ClassVar[RepresentationStatus]
    REPRESENTATION_STATUS_ENDED: _ClassVar[RepresentationStatus]
    REPRESENTATION_STATUS_CHILD_TURNED_12: _ClassVar[RepresentationStatus]
RULE_TYPE_UNSPECIFIED: RuleType
RULE_TYPE_RESERVATION: RuleType
RULE_TYPE_RESTRICTION: RuleType
RULE_TYPE_BLOCK_PERSON: RuleType
RULE_TYPE_PERMIT: RuleType
RULE_EFFECT_UNSPECIFIED: RuleEffect
RULE_EFFECT_PERMIT: RuleEffect
RULE_EFFECT_DENY: RuleEffect
RULE_STATE_UNSPECIFIED: RuleState
RULE_STATE_ACTIVE: RuleState
RULE_STATE_REVOKED: RuleState
OBLIGATION_UNSPECIFIED: Obligation
OBLIGATION_FLAG_FOR_AUDIT: Obligation
OBLIGATION_NOTIFY_PATIENT: Obligation
NOTIFICATION_KIND_UNSPECIFIED: NotificationKind
NOTIFICATION_KIND_EMERGENCY_ACCESS: NotificationKind
NOTIFICATION_KIND_CONSENT_AT_MOMENT: NotificationKind
NOTIFICATION_KIND_RULE_CHANGED: NotificationKind
REPRESENTATION_KIND_UNSPECIFIED: RepresentationKind
REPRESENTATION_KIND_GUARDIAN: RepresentationKind
REPRESENTATION_KIND_POWER_OF_ATTORNEY: RepresentationKind
REPRESENTATION_STATUS_UNSPECIFIED: RepresentationStatus
REPRESENTATION_STATUS_IN_FORCE: RepresentationStatus
REPRESENTATION_STATUS_NOT_YET_VALID: RepresentationStatus
REPRESENTATION_STATUS_ENDED: RepresentationStatus
REPRESENTATION_STATUS_CHILD_TURNED_12: RepresentationStatus

class ActorSelector(_message.Message):
    __slots__ = ("hpr_number", "org_number", "authorization", "anyone")
    HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORG_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_FIELD_NUMBER: _ClassVar[int]
    ANYONE_FIELD_NUMBER: _ClassVar[int]
    hpr_number: str
    org_number: str
    authorization: str
    anyone: bool
    def __init__(self, hpr_number: _Optional[str] = ..., org_number: _Optional[str] = ..., authorization: _Optional[str] = ..., anyone: _Optional[bool] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("rule_id", "version", "patient_id", "rule_type", "effect", "actor", "data_categories", "purposes", "valid_from", "valid_until", "created_by", "reason", "create_time", "state", "receipt")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_TYPE_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    version: int
    patient_id: str
    rule_type: RuleType
    effect: RuleEffect
    actor: ActorSelector
    data_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    purposes: _containers.RepeatedScalarFieldContainer[_common_pb2.PurposeOfUse]
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    created_by: _common_pb2.Actor
    reason: str
    create_time: _timestamp_pb2.Timestamp
    state: RuleState
    receipt: str
    def __init__(self, rule_id: _Optional[str] = ..., version: _Optional[int] = ..., patient_id: _Optional[str] = ..., rule_type: _Optional[_Union[RuleType, str]] = ..., effect: _Optional[_Union[RuleEffect, str]] = ..., actor: _Optional[_Union[ActorSelector, _Mapping]] = ..., data_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ..., purposes: _Optional[_Iterable[_Union[_common_pb2.PurposeOfUse, str]]] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[RuleState, str]] = ..., receipt: _Optional[str] = ...) -> None: ...

class CheckAccessRequest(_message.Message):
    __slots__ = ("patient_id", "actor", "data_category", "purpose_of_use", "justification", "consent_at_moment", "write")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_OF_USE_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    CONSENT_AT_MOMENT_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    actor: _common_pb2.Actor
    data_category: _common_pb2.DataCategory
    purpose_of_use: _common_pb2.PurposeOfUse
    justification: str
    consent_at_moment: bool
    write: bool
    def __init__(self, patient_id: _Optional[str] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., data_category: _Optional[_Union[_common_pb2.DataCategory, str]] = ..., purpose_of_use: _Optional[_Union[_common_pb2.PurposeOfUse, str]] = ..., justification: _Optional[str] = ..., consent_at_moment: _Optional[bool] = ..., write: _Optional[bool] = ...) -> None: ...

class CheckAccessResponse(_message.Message):
    __slots__ = ("decision", "access_basis", "decided_by", "decision_id", "obligations", "policy_revision")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ACCESS_BASIS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    OBLIGATIONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    decision: _common_pb2.Decision
    access_basis: _common_pb2.AccessBasis
    decided_by: _containers.RepeatedScalarFieldContainer[str]
    decision_id: str
    obligations: _containers.RepeatedScalarFieldContainer[Obligation]
    policy_revision: int
    def __init__(self, decision: _Optional[_Union[_common_pb2.Decision, str]] = ..., access_basis: _Optional[_Union[_common_pb2.AccessBasis, str]] = ..., decided_by: _Optional[_Iterable[str]] = ..., decision_id: _Optional[str] = ..., obligations: _Optional[_Iterable[_Union[Obligation, str]]] = ..., policy_revision: _Optional[int] = ...) -> None: ...

class BatchCheckAccessRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CheckAccessRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CheckAccessRequest, _Mapping]]] = ...) -> None: ...

class BatchCheckAccessResponse(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[CheckAccessResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[CheckAccessResponse, _Mapping]]] = ...) -> None: ...

class ExplainAccessRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: CheckAccessRequest
    def __init__(self, request: _Optional[_Union[CheckAccessRequest, _Mapping]] = ...) -> None: ...

class ExplainAccessResponse(_message.Message):
    __slots__ = ("decision", "explanation")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    decision: CheckAccessResponse
    explanation: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, decision: _Optional[_Union[CheckAccessResponse, _Mapping]] = ..., explanation: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateRuleRequest(_message.Message):
    __slots__ = ("patient_id", "rule_type", "actor", "data_categories", "purposes", "valid_from", "valid_until", "reason")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    rule_type: RuleType
    actor: ActorSelector
    data_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    purposes: _containers.RepeatedScalarFieldContainer[_common_pb2.PurposeOfUse]
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, patient_id: _Optional[str] = ..., rule_type: _Optional[_Union[RuleType, str]] = ..., actor: _Optional[_Union[ActorSelector, _Mapping]] = ..., data_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ..., purposes: _Optional[_Iterable[_Union[_common_pb2.PurposeOfUse, str]]] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: Rule
    def __init__(self, rule: _Optional[_Union[Rule, _Mapping]] = ...) -> None: ...

class ListRulesRequest(_message.Message):
    __slots__ = ("patient_id", "include_revoked", "page_size", "page_token")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    include_revoked: bool
    page_size: int
    page_token: str
    def __init__(self, patient_id: _Optional[str] = ..., include_revoked: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRulesResponse(_message.Message):
    __slots__ = ("rules", "policy_revision", "next_page_token")
    RULES_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    policy_revision: int
    next_page_token: str
    def __init__(self, rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., policy_revision: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeRuleRequest(_message.Message):
    __slots__ = ("patient_id", "rule_id", "reason")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    rule_id: str
    reason: str
    def __init__(self, patient_id: _Optional[str] = ..., rule_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: Rule
    def __init__(self, rule: _Optional[_Union[Rule, _Mapping]] = ...) -> None: ...

class ListRuleHistoryRequest(_message.Message):
    __slots__ = ("patient_id", "page_size", "page_token")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    page_size: int
    page_token: str
    def __init__(self, patient_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRuleHistoryResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Rule]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Notification(_message.Message):
    __slots__ = ("notification_id", "patient_id", "kind", "create_time", "actor", "text", "reference")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    patient_id: str
    kind: NotificationKind
    create_time: _timestamp_pb2.Timestamp
    actor: _common_pb2.Actor
    text: str
    reference: str
    def __init__(self, notification_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., kind: _Optional[_Union[NotificationKind, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., text: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class ListNotificationsRequest(_message.Message):
    __slots__ = ("patient_id", "page_size", "page_token")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    page_size: int
    page_token: str
    def __init__(self, patient_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNotificationsResponse(_message.Message):
    __slots__ = ("notifications", "next_page_token")
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[Notification]
    next_page_token: str
    def __init__(self, notifications: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetReceiptKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRepresentationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Representation(_message.Message):
    __slots__ = ("representation_id", "patient_id", "patient_name", "kind", "valid_from", "valid_until", "status")
    REPRESENTATION_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    representation_id: str
    patient_id: str
    patient_name: str
    kind: RepresentationKind
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    status: RepresentationStatus
    def __init__(self, representation_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., patient_name: _Optional[str] = ..., kind: _Optional[_Union[RepresentationKind, str]] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[RepresentationStatus, str]] = ...) -> None: ...

class ListRepresentationsResponse(_message.Message):
    __slots__ = ("representations",)
    REPRESENTATIONS_FIELD_NUMBER: _ClassVar[int]
    representations: _containers.RepeatedCompositeFieldContainer[Representation]
    def __init__(self, representations: _Optional[_Iterable[_Union[Representation, _Mapping]]] = ...) -> None: ...

class GetReceiptKeysResponse(_message.Message):
    __slots__ = ("jwks_json",)
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    jwks_json: str
    def __init__(self, jwks_json: _Optional[str] = ...) -> None: ...

class WatchPolicyChangesRequest(_message.Message):
    __slots__ = ("subscribe", "acknowledge")
    class Subscribe(_message.Message):
        __slots__ = ("subscriber_id",)
        SUBSCRIBER_ID_FIELD_NUMBER: _ClassVar[int]
        subscriber_id: str
        def __init__(self, subscriber_id: _Optional[str] = ...) -> None: ...
    class Acknowledge(_message.Message):
        __slots__ = ("sequence",)
        SEQUENCE_FIELD_NUMBER: _ClassVar[int]
        sequence: int
        def __init__(self, sequence: _Optional[int] = ...) -> None: ...
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    subscribe: WatchPolicyChangesRequest.Subscribe
    acknowledge: WatchPolicyChangesRequest.Acknowledge
    def __init__(self, subscribe: _Optional[_Union[WatchPolicyChangesRequest.Subscribe, _Mapping]] = ..., acknowledge: _Optional[_Union[WatchPolicyChangesRequest.Acknowledge, _Mapping]] = ...) -> None: ...

class WatchPolicyChangesResponse(_message.Message):
    __slots__ = ("change", "heartbeat")
    class PolicyChange(_message.Message):
        __slots__ = ("sequence", "patient_id", "policy_revision")
        SEQUENCE_FIELD_NUMBER: _ClassVar[int]
        PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
        POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
        sequence: int
        patient_id: str
        policy_revision: int
        def __init__(self, sequence: _Optional[int] = ..., patient_id: _Optional[str] = ..., policy_revision: _Optional[int] = ...) -> None: ...
    class Heartbeat(_message.Message):
        __slots__ = ("lease",)
        LEASE_FIELD_NUMBER: _ClassVar[int]
        lease: _duration_pb2.Duration
        def __init__(self, lease: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    change: WatchPolicyChangesResponse.PolicyChange
    heartbeat: WatchPolicyChangesResponse.Heartbeat
    def __init__(self, change: _Optional[_Union[WatchPolicyChangesResponse.PolicyChange, _Mapping]] = ..., heartbeat: _Optional[_Union[WatchPolicyChangesResponse.Heartbeat, _Mapping]] = ...) -> None: ...
