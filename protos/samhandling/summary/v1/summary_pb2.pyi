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

class StayType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAY_TYPE_UNSPECIFIED: _ClassVar[StayType]
    STAY_TYPE_DAY: _ClassVar[StayType]
    STAY_TYPE_SHORT_TERM: _ClassVar[StayType]

class Consciousness(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSCIOUSNESS_UNSPECIFIED: _ClassVar[Consciousness]
    CONSCIOUSNESS_ALERT: _ClassVar[Consciousness]
    CONSCIOUSNESS_NEW_CONFUSION: _ClassVar[Consciousness]
    CONSCIOUSNESS_VOICE: _ClassVar[Consciousness]
    CONSCIOUSNESS_PAIN: _ClassVar[Consciousness]
    CONSCIOUSNESS_UNRESPONSIVE: _ClassVar[Consciousness]

class ClinicalRisk(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLINICAL_RISK_UNSPECIFIED: _ClassVar[ClinicalRisk]
    CLINICAL_RISK_LOW: _ClassVar[ClinicalRisk]
    CLINICAL_RISK_LOW_MEDIUM: _ClassVar[ClinicalRisk]
    CLINICAL_RISK_MEDIUM: _ClassVar[ClinicalRisk]
    CLINICAL_RISK_HIGH: _ClassVar[ClinicalRisk]
STAY_TYPE_UNSPECIFIED: StayType
STAY_TYPE_DAY: StayType
STAY_TYPE_SHORT_TERM: StayType
CONSCIOUSNESS_UNSPECIFIED: Consciousness
CONSCIOUSNESS_ALERT: Consciousness
CONSCIOUSNESS_NEW_CONFUSION: Consciousness
CONSCIOUSNESS_VOICE: Consciousness
CONSCIOUSNESS_PAIN: Consciousness
CONSCIOUSNESS_UNRESPONSIVE: Consciousness
CLINICAL_RISK_UNSPECIFIED: ClinicalRisk
CLINICAL_RISK_LOW: ClinicalRisk
CLINICAL_RISK_LOW_MEDIUM: ClinicalRisk
CLINICAL_RISK_MEDIUM: ClinicalRisk
CLINICAL_RISK_HIGH: ClinicalRisk

class MunicipalService(_message.Message):
    __slots__ = ("service_id", "iplos_code", "iplos_display", "start_date", "end_date", "service_level", "stay_type", "weekly_extent", "temporarily_ceased", "description", "provider_orgnr", "active")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    IPLOS_CODE_FIELD_NUMBER: _ClassVar[int]
    IPLOS_DISPLAY_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    STAY_TYPE_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_EXTENT_FIELD_NUMBER: _ClassVar[int]
    TEMPORARILY_CEASED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ORGNR_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    iplos_code: str
    iplos_display: str
    start_date: _common_pb2.Date
    end_date: _common_pb2.Date
    service_level: str
    stay_type: StayType
    weekly_extent: str
    temporarily_ceased: bool
    description: str
    provider_orgnr: str
    active: bool
    def __init__(self, service_id: _Optional[str] = ..., iplos_code: _Optional[str] = ..., iplos_display: _Optional[str] = ..., start_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., service_level: _Optional[str] = ..., stay_type: _Optional[_Union[StayType, str]] = ..., weekly_extent: _Optional[str] = ..., temporarily_ceased: _Optional[bool] = ..., description: _Optional[str] = ..., provider_orgnr: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class VitalSigns(_message.Message):
    __slots__ = ("measure_time", "respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse", "consciousness", "temperature_celsius")
    MEASURE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPIRATION_RATE_FIELD_NUMBER: _ClassVar[int]
    SPO2_FIELD_NUMBER: _ClassVar[int]
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    ON_OXYGEN_FIELD_NUMBER: _ClassVar[int]
    SYSTOLIC_BP_FIELD_NUMBER: _ClassVar[int]
    PULSE_FIELD_NUMBER: _ClassVar[int]
    CONSCIOUSNESS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    measure_time: _timestamp_pb2.Timestamp
    respiration_rate: int
    spo2: int
    spo2_scale: int
    on_oxygen: bool
    systolic_bp: int
    pulse: int
    consciousness: Consciousness
    temperature_celsius: float
    def __init__(self, measure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., respiration_rate: _Optional[int] = ..., spo2: _Optional[int] = ..., spo2_scale: _Optional[int] = ..., on_oxygen: _Optional[bool] = ..., systolic_bp: _Optional[int] = ..., pulse: _Optional[int] = ..., consciousness: _Optional[_Union[Consciousness, str]] = ..., temperature_celsius: _Optional[float] = ...) -> None: ...

class News2Score(_message.Message):
    __slots__ = ("total", "clinical_risk", "red_score")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CLINICAL_RISK_FIELD_NUMBER: _ClassVar[int]
    RED_SCORE_FIELD_NUMBER: _ClassVar[int]
    total: int
    clinical_risk: ClinicalRisk
    red_score: bool
    def __init__(self, total: _Optional[int] = ..., clinical_risk: _Optional[_Union[ClinicalRisk, str]] = ..., red_score: _Optional[bool] = ...) -> None: ...

class GetPatientSummaryRequest(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class GetPatientSummaryResponse(_message.Message):
    __slots__ = ("patient_id", "municipal_services", "active_service_count", "latest_vital_signs", "latest_news2", "withheld_categories")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    MUNICIPAL_SERVICES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SERVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    LATEST_NEWS2_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    municipal_services: _containers.RepeatedCompositeFieldContainer[MunicipalService]
    active_service_count: int
    latest_vital_signs: VitalSigns
    latest_news2: News2Score
    withheld_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    def __init__(self, patient_id: _Optional[str] = ..., municipal_services: _Optional[_Iterable[_Union[MunicipalService, _Mapping]]] = ..., active_service_count: _Optional[int] = ..., latest_vital_signs: _Optional[_Union[VitalSigns, _Mapping]] = ..., latest_news2: _Optional[_Union[News2Score, _Mapping]] = ..., withheld_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ...) -> None: ...
