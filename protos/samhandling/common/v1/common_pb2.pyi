from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PurposeOfUse(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_OF_USE_UNSPECIFIED: _ClassVar[PurposeOfUse]
    PURPOSE_OF_USE_TREAT: _ClassVar[PurposeOfUse]
    PURPOSE_OF_USE_ETREAT: _ClassVar[PurposeOfUse]
    PURPOSE_OF_USE_COC: _ClassVar[PurposeOfUse]
    PURPOSE_OF_USE_BTG: _ClassVar[PurposeOfUse]

class DataCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_CATEGORY_UNSPECIFIED: _ClassVar[DataCategory]
    DATA_CATEGORY_MUNICIPAL_SERVICES: _ClassVar[DataCategory]
    DATA_CATEGORY_VITAL_SIGNS: _ClassVar[DataCategory]
    DATA_CATEGORY_CONSENT: _ClassVar[DataCategory]
    DATA_CATEGORY_ACCESS_LOG: _ClassVar[DataCategory]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_PERMIT: _ClassVar[Decision]
    DECISION_DENY: _ClassVar[Decision]

class AccessBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_BASIS_UNSPECIFIED: _ClassVar[AccessBasis]
    ACCESS_BASIS_CARE_RELATIONSHIP: _ClassVar[AccessBasis]
    ACCESS_BASIS_EXPLICIT_PERMIT: _ClassVar[AccessBasis]
    ACCESS_BASIS_EMERGENCY: _ClassVar[AccessBasis]
    ACCESS_BASIS_OWN_DATA: _ClassVar[AccessBasis]
    ACCESS_BASIS_AUDIT: _ClassVar[AccessBasis]
    ACCESS_BASIS_NONE: _ClassVar[AccessBasis]
    ACCESS_BASIS_CONSENT_AT_MOMENT: _ClassVar[AccessBasis]
    ACCESS_BASIS_RESERVATION: _ClassVar[AccessBasis]
    ACCESS_BASIS_RESTRICTION: _ClassVar[AccessBasis]
    ACCESS_BASIS_BLOCK: _ClassVar[AccessBasis]
    ACCESS_BASIS_REPRESENTATIVE: _ClassVar[AccessBasis]

class ActorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTOR_KIND_UNSPECIFIED: _ClassVar[ActorKind]
    ACTOR_KIND_SYSTEM: _ClassVar[ActorKind]
    ACTOR_KIND_PERSONNEL: _ClassVar[ActorKind]
    ACTOR_KIND_PATIENT: _ClassVar[ActorKind]
    ACTOR_KIND_AUDITOR: _ClassVar[ActorKind]
PURPOSE_OF_USE_UNSPECIFIED: PurposeOfUse
PURPOSE_OF_USE_TREAT: PurposeOfUse
PURPOSE_OF_USE_ETREAT: PurposeOfUse
PURPOSE_OF_USE_COC: PurposeOfUse
PURPOSE_OF_USE_BTG: PurposeOfUse
DATA_CATEGORY_UNSPECIFIED: DataCategory
DATA_CATEGORY_MUNICIPAL_SERVICES: DataCategory
DATA_CATEGORY_VITAL_SIGNS: DataCategory
DATA_CATEGORY_CONSENT: DataCategory
DATA_CATEGORY_ACCESS_LOG: DataCategory
DECISION_UNSPECIFIED: Decision
DECISION_PERMIT: Decision
DECISION_DENY: Decision
ACCESS_BASIS_UNSPECIFIED: AccessBasis
ACCESS_BASIS_CARE_RELATIONSHIP: AccessBasis
ACCESS_BASIS_EXPLICIT_PERMIT: AccessBasis
ACCESS_BASIS_EMERGENCY: AccessBasis
ACCESS_BASIS_OWN_DATA: AccessBasis
ACCESS_BASIS_AUDIT: AccessBasis
ACCESS_BASIS_NONE: AccessBasis
ACCESS_BASIS_CONSENT_AT_MOMENT: AccessBasis
ACCESS_BASIS_RESERVATION: AccessBasis
ACCESS_BASIS_RESTRICTION: AccessBasis
ACCESS_BASIS_BLOCK: AccessBasis
ACCESS_BASIS_REPRESENTATIVE: AccessBasis
ACTOR_KIND_UNSPECIFIED: ActorKind
ACTOR_KIND_SYSTEM: ActorKind
ACTOR_KIND_PERSONNEL: ActorKind
ACTOR_KIND_PATIENT: ActorKind
ACTOR_KIND_AUDITOR: ActorKind

class Actor(_message.Message):
    __slots__ = ("kind", "client_id", "client_name", "pid", "name", "hpr_number", "authorization", "orgnr_parent", "orgnr_child")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_FIELD_NUMBER: _ClassVar[int]
    ORGNR_PARENT_FIELD_NUMBER: _ClassVar[int]
    ORGNR_CHILD_FIELD_NUMBER: _ClassVar[int]
    kind: ActorKind
    client_id: str
    client_name: str
    pid: str
    name: str
    hpr_number: str
    authorization: str
    orgnr_parent: str
    orgnr_child: str
    def __init__(self, kind: _Optional[_Union[ActorKind, str]] = ..., client_id: _Optional[str] = ..., client_name: _Optional[str] = ..., pid: _Optional[str] = ..., name: _Optional[str] = ..., hpr_number: _Optional[str] = ..., authorization: _Optional[str] = ..., orgnr_parent: _Optional[str] = ..., orgnr_child: _Optional[str] = ...) -> None: ...

class Date(_message.Message):
    __slots__ = ("year", "month", "day")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    year: int
    month: int
    day: int
    def __init__(self, year: _Optional[int] = ..., month: _Optional[int] = ..., day: _Optional[int] = ...) -> None: ...
