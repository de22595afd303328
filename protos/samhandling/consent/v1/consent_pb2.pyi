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

class RuleType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_TYPE_UNSPECIFIED: _ClassVar[RuleType]
    RULE_TYPE_RESERVATION: _ClassVar[RuleType]
    RULE_TYPE_RESTRICTION: _ClassVar[RuleType]
    RULE_TYPE_BLOCK_PERSON: _ClassVar[RuleType]
    RULE_TYPE_PERMIT: _ClassVar[RuleType]
RULE_TYPE_UNSPECIFIED: RuleType
RULE_TYPE_RESERVATION: RuleType
RULE_TYPE_RESTRICTION: RuleType
RULE_TYPE_BLOCK_PERSON: RuleType
RULE_TYPE_PERMIT: RuleType

class Rule(_message.Message):
    __slots__ = ("rule_id", "patient_id", "rule_type", "data_categories", "hpr_number", "org_number", "create_time", "expire_time", "revoke_time")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORG_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    patient_id: str
    rule_type: RuleType
    data_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    hpr_number: str
    org_number: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, rule_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., rule_type: _Optional[_Union[RuleType, str]] = ..., data_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ..., hpr_number: _Optional[str] = ..., org_number: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckAccessRequest(_message.Message):
    __slots__ = ("patient_id", "actor", "data_category", "purpose_of_use")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_OF_USE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    actor: _common_pb2.Actor
    data_category: _common_pb2.DataCategory
    purpose_of_use: _common_pb2.PurposeOfUse
    def __init__(self, patient_id: _Optional[str] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., data_category: _Optional[_Union[_common_pb2.DataCategory, str]] = ..., purpose_of_use: _Optional[_Union[_common_pb2.PurposeOfUse, str]] = ...) -> None: ...

class CheckAccessResponse(_message.Message):
    __slots__ = ("decision", "access_basis", "decided_by", "decision_id")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ACCESS_BASIS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision: _common_pb2.Decision
    access_basis: _common_pb2.AccessBasis
    decided_by: str
    decision_id: str
    def __init__(self, decision: _Optional[_Union[_common_pb2.Decision, str]] = ..., access_basis: _Optional[_Union[_common_pb2.AccessBasis, str]] = ..., decided_by: _Optional[str] = ..., decision_id: _Optional[str] = ...) -> None: ...

class CreateRuleRequest(_message.Message):
    __slots__ = ("patient_id", "rule_type", "data_categories", "hpr_number", "org_number", "expire_time")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORG_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    rule_type: RuleType
    data_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    hpr_number: str
    org_number: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, patient_id: _Optional[str] = ..., rule_type: _Optional[_Union[RuleType, str]] = ..., data_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ..., hpr_number: _Optional[str] = ..., org_number: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: Rule
    def __init__(self, rule: _Optional[_Union[Rule, _Mapping]] = ...) -> None: ...

class ListRulesRequest(_message.Message):
    __slots__ = ("patient_id", "include_revoked")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    include_revoked: bool
    def __init__(self, patient_id: _Optional[str] = ..., include_revoked: _Optional[bool] = ...) -> None: ...

class ListRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[Rule]
    def __init__(self, rules: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ...) -> None: ...

class RevokeRuleRequest(_message.Message):
    __slots__ = ("patient_id", "rule_id")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    rule_id: str
    def __init__(self, patient_id: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

class RevokeRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: Rule
    def __init__(self, rule: _Optional[_Union[Rule, _Mapping]] = ...) -> None: ...
