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

class NotScoredReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOT_SCORED_REASON_UNSPECIFIED: _ClassVar[NotScoredReason]
    NOT_SCORED_REASON_UNDER_16: _ClassVar[NotScoredReason]
    NOT_SCORED_REASON_PREGNANT: _ClassVar[NotScoredReason]

class TrendDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TREND_DIRECTION_UNSPECIFIED: _ClassVar[TrendDirection]
    TREND_DIRECTION_IMPROVING: _ClassVar[TrendDirection]
    TREND_DIRECTION_STABLE: _ClassVar[TrendDirection]
    TREND_DIRECTION_WORSENING: _ClassVar[TrendDirection]

class EscalationLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCALATION_LEVEL_UNSPECIFIED: _ClassVar[EscalationLevel]
    ESCALATION_LEVEL_REVIEW: _ClassVar[EscalationLevel]
    ESCALATION_LEVEL_URGENT_REVIEW: _ClassVar[EscalationLevel]
    ESCALATION_LEVEL_URGENT: _ClassVar[EscalationLevel]
    ESCALATION_LEVEL_EMERGENCY: _ClassVar[EscalationLevel]

class NoEscalationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NO_ESCALATION_REASON_UNSPECIFIED: _ClassVar[NoEscalationReason]
    NO_ESCALATION_REASON_NOT_SCORED_UNDER_16: _ClassVar[NoEscalationReason]
    NO_ESCALATION_REASON_NOT_SCORED_PREGNANT: _ClassVar[NoEscalationReason]
    NO_ESCALATION_REASON_LATE: _ClassVar[NoEscalationReason]
    NO_ESCALATION_REASON_BELOW_TRIGGER: _ClassVar[NoEscalationReason]
    NO_ESCALATION_REASON_TOO_OLD: _ClassVar[NoEscalationReason]

class RecorderNoticeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORDER_NOTICE_KIND_UNSPECIFIED: _ClassVar[RecorderNoticeKind]
    RECORDER_NOTICE_KIND_SENT: _ClassVar[RecorderNoticeKind]
    RECORDER_NOTICE_KIND_PHONE_113: _ClassVar[RecorderNoticeKind]
    RECORDER_NOTICE_KIND_PHONE_LEGEVAKT: _ClassVar[RecorderNoticeKind]
    RECORDER_NOTICE_KIND_UNDELIVERABLE: _ClassVar[RecorderNoticeKind]
    RECORDER_NOTICE_KIND_ACKNOWLEDGED: _ClassVar[RecorderNoticeKind]
    RECORDER_NOTICE_KIND_RESOLVED: _ClassVar[RecorderNoticeKind]
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
NOT_SCORED_REASON_UNSPECIFIED: NotScoredReason
NOT_SCORED_REASON_UNDER_16: NotScoredReason
NOT_SCORED_REASON_PREGNANT: NotScoredReason
TREND_DIRECTION_UNSPECIFIED: TrendDirection
TREND_DIRECTION_IMPROVING: TrendDirection
TREND_DIRECTION_STABLE: TrendDirection
TREND_DIRECTION_WORSENING: TrendDirection
ESCALATION_LEVEL_UNSPECIFIED: EscalationLevel
ESCALATION_LEVEL_REVIEW: EscalationLevel
ESCALATION_LEVEL_URGENT_REVIEW: EscalationLevel
ESCALATION_LEVEL_URGENT: EscalationLevel
ESCALATION_LEVEL_EMERGENCY: EscalationLevel
NO_ESCALATION_REASON_UNSPECIFIED: NoEscalationReason
NO_ESCALATION_REASON_NOT_SCORED_UNDER_16: NoEscalationReason
NO_ESCALATION_REASON_NOT_SCORED_PREGNANT: NoEscalationReason
NO_ESCALATION_REASON_LATE: NoEscalationReason
NO_ESCALATION_REASON_BELOW_TRIGGER: NoEscalationReason
NO_ESCALATION_REASON_TOO_OLD: NoEscalationReason
RECORDER_NOTICE_KIND_UNSPECIFIED: RecorderNoticeKind
RECORDER_NOTICE_KIND_SENT: RecorderNoticeKind
RECORDER_NOTICE_KIND_PHONE_113: RecorderNoticeKind
RECORDER_NOTICE_KIND_PHONE_LEGEVAKT: RecorderNoticeKind
RECORDER_NOTICE_KIND_UNDELIVERABLE: RecorderNoticeKind
RECORDER_NOTICE_KIND_ACKNOWLEDGED: RecorderNoticeKind
RECORDER_NOTICE_KIND_RESOLVED: RecorderNoticeKind

class MunicipalService(_message.Message):
    __slots__ = ("service_id", "iplos_code", "iplos_display", "start_date", "end_date", "service_level", "stay_type", "weekly_extent", "temporarily_ceased", "description", "provider_orgnr", "active", "source_system", "source_record_id")
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
    SOURCE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
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
    source_system: str
    source_record_id: str
    def __init__(self, service_id: _Optional[str] = ..., iplos_code: _Optional[str] = ..., iplos_display: _Optional[str] = ..., start_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., service_level: _Optional[str] = ..., stay_type: _Optional[_Union[StayType, str]] = ..., weekly_extent: _Optional[str] = ..., temporarily_ceased: _Optional[bool] = ..., description: _Optional[str] = ..., provider_orgnr: _Optional[str] = ..., active: _Optional[bool] = ..., source_system: _Optional[str] = ..., source_record_id: _Optional[str] = ...) -> None: ...

class MunicipalServiceInput(_message.Message):
    __slots__ = ("iplos_code", "start_date", "end_date", "service_level", "stay_type", "weekly_extent", "temporarily_ceased", "description", "provider_orgnr")
    IPLOS_CODE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    STAY_TYPE_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_EXTENT_FIELD_NUMBER: _ClassVar[int]
    TEMPORARILY_CEASED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ORGNR_FIELD_NUMBER: _ClassVar[int]
    iplos_code: str
    start_date: _common_pb2.Date
    end_date: _common_pb2.Date
    service_level: str
    stay_type: StayType
    weekly_extent: str
    temporarily_ceased: bool
    description: str
    provider_orgnr: str
    def __init__(self, iplos_code: _Optional[str] = ..., start_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., service_level: _Optional[str] = ..., stay_type: _Optional[_Union[StayType, str]] = ..., weekly_extent: _Optional[str] = ..., temporarily_ceased: _Optional[bool] = ..., description: _Optional[str] = ..., provider_orgnr: _Optional[str] = ...) -> None: ...

class VitalSigns(_message.Message):
    __slots__ = ("measure_time", "respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse", "consciousness", "temperature_celsius", "pregnant")
    MEASURE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPIRATION_RATE_FIELD_NUMBER: _ClassVar[int]
    SPO2_FIELD_NUMBER: _ClassVar[int]
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    ON_OXYGEN_FIELD_NUMBER: _ClassVar[int]
    SYSTOLIC_BP_FIELD_NUMBER: _ClassVar[int]
    PULSE_FIELD_NUMBER: _ClassVar[int]
    CONSCIOUSNESS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    PREGNANT_FIELD_NUMBER: _ClassVar[int]
    measure_time: _timestamp_pb2.Timestamp
    respiration_rate: int
    spo2: int
    spo2_scale: int
    on_oxygen: bool
    systolic_bp: int
    pulse: int
    consciousness: Consciousness
    temperature_celsius: float
    pregnant: bool
    def __init__(self, measure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., respiration_rate: _Optional[int] = ..., spo2: _Optional[int] = ..., spo2_scale: _Optional[int] = ..., on_oxygen: _Optional[bool] = ..., systolic_bp: _Optional[int] = ..., pulse: _Optional[int] = ..., consciousness: _Optional[_Union[Consciousness, str]] = ..., temperature_celsius: _Optional[float] = ..., pregnant: _Optional[bool] = ...) -> None: ...

class Performer(_message.Message):
    __slots__ = ("hpr_number", "name")
    HPR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    hpr_number: str
    name: str
    def __init__(self, hpr_number: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class News2ParameterScores(_message.Message):
    __slots__ = ("respiration_rate", "spo2", "air_or_oxygen", "systolic_bp", "pulse", "consciousness", "temperature")
    RESPIRATION_RATE_FIELD_NUMBER: _ClassVar[int]
    SPO2_FIELD_NUMBER: _ClassVar[int]
    AIR_OR_OXYGEN_FIELD_NUMBER: _ClassVar[int]
    SYSTOLIC_BP_FIELD_NUMBER: _ClassVar[int]
    PULSE_FIELD_NUMBER: _ClassVar[int]
    CONSCIOUSNESS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    respiration_rate: int
    spo2: int
    air_or_oxygen: int
    systolic_bp: int
    pulse: int
    consciousness: int
    temperature: int
    def __init__(self, respiration_rate: _Optional[int] = ..., spo2: _Optional[int] = ..., air_or_oxygen: _Optional[int] = ..., systolic_bp: _Optional[int] = ..., pulse: _Optional[int] = ..., consciousness: _Optional[int] = ..., temperature: _Optional[int] = ...) -> None: ...

class News2Score(_message.Message):
    __slots__ = ("total", "clinical_risk", "red_score", "scored", "not_scored_reason", "parameters", "spo2_scale", "charted_temperature")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CLINICAL_RISK_FIELD_NUMBER: _ClassVar[int]
    RED_SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    NOT_SCORED_REASON_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    CHARTED_TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    total: int
    clinical_risk: ClinicalRisk
    red_score: bool
    scored: bool
    not_scored_reason: NotScoredReason
    parameters: News2ParameterScores
    spo2_scale: int
    charted_temperature: str
    def __init__(self, total: _Optional[int] = ..., clinical_risk: _Optional[_Union[ClinicalRisk, str]] = ..., red_score: _Optional[bool] = ..., scored: _Optional[bool] = ..., not_scored_reason: _Optional[_Union[NotScoredReason, str]] = ..., parameters: _Optional[_Union[News2ParameterScores, _Mapping]] = ..., spo2_scale: _Optional[int] = ..., charted_temperature: _Optional[str] = ...) -> None: ...

class News2TrendPoint(_message.Message):
    __slots__ = ("measure_time", "total")
    MEASURE_TIME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    measure_time: _timestamp_pb2.Timestamp
    total: int
    def __init__(self, measure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total: _Optional[int] = ...) -> None: ...

class News2Trend(_message.Message):
    __slots__ = ("direction", "change", "points")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    direction: TrendDirection
    change: int
    points: _containers.RepeatedCompositeFieldContainer[News2TrendPoint]
    def __init__(self, direction: _Optional[_Union[TrendDirection, str]] = ..., change: _Optional[int] = ..., points: _Optional[_Iterable[_Union[News2TrendPoint, _Mapping]]] = ...) -> None: ...

class VitalSignsRecord(_message.Message):
    __slots__ = ("measurement_id", "vital_signs", "news2", "measured_by", "source_system", "source_record_id")
    MEASUREMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    NEWS2_FIELD_NUMBER: _ClassVar[int]
    MEASURED_BY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    measurement_id: str
    vital_signs: VitalSigns
    news2: News2Score
    measured_by: Performer
    source_system: str
    source_record_id: str
    def __init__(self, measurement_id: _Optional[str] = ..., vital_signs: _Optional[_Union[VitalSigns, _Mapping]] = ..., news2: _Optional[_Union[News2Score, _Mapping]] = ..., measured_by: _Optional[_Union[Performer, _Mapping]] = ..., source_system: _Optional[str] = ..., source_record_id: _Optional[str] = ...) -> None: ...

class Spo2ScaleSetting(_message.Message):
    __slots__ = ("scale", "set_by", "set_time")
    SCALE_FIELD_NUMBER: _ClassVar[int]
    SET_BY_FIELD_NUMBER: _ClassVar[int]
    SET_TIME_FIELD_NUMBER: _ClassVar[int]
    scale: int
    set_by: Performer
    set_time: _timestamp_pb2.Timestamp
    def __init__(self, scale: _Optional[int] = ..., set_by: _Optional[_Union[Performer, _Mapping]] = ..., set_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPatientSummaryRequest(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class GetPatientSummaryResponse(_message.Message):
    __slots__ = ("patient_id", "municipal_services", "active_service_count", "latest_vital_signs", "latest_news2", "withheld_categories", "news2_trend", "latest_not_scored_reason", "spo2_scale_setting", "municipal_services_truncated")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    MUNICIPAL_SERVICES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SERVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    LATEST_NEWS2_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    NEWS2_TREND_FIELD_NUMBER: _ClassVar[int]
    LATEST_NOT_SCORED_REASON_FIELD_NUMBER: _ClassVar[int]
    SPO2_SCALE_SETTING_FIELD_NUMBER: _ClassVar[int]
    MUNICIPAL_SERVICES_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    municipal_services: _containers.RepeatedCompositeFieldContainer[MunicipalService]
    active_service_count: int
    latest_vital_signs: VitalSigns
    latest_news2: News2Score
    withheld_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    news2_trend: News2Trend
    latest_not_scored_reason: NotScoredReason
    spo2_scale_setting: Spo2ScaleSetting
    municipal_services_truncated: bool
    def __init__(self, patient_id: _Optional[str] = ..., municipal_services: _Optional[_Iterable[_Union[MunicipalService, _Mapping]]] = ..., active_service_count: _Optional[int] = ..., latest_vital_signs: _Optional[_Union[VitalSigns, _Mapping]] = ..., latest_news2: _Optional[_Union[News2Score, _Mapping]] = ..., withheld_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ..., news2_trend: _Optional[_Union[News2Trend, _Mapping]] = ..., latest_not_scored_reason: _Optional[_Union[NotScoredReason, str]] = ..., spo2_scale_setting: _Optional[_Union[Spo2ScaleSetting, _Mapping]] = ..., municipal_services_truncated: _Optional[bool] = ...) -> None: ...

class CreateMunicipalServiceRequest(_message.Message):
    __slots__ = ("patient_id", "source_record_id", "service")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    source_record_id: str
    service: MunicipalServiceInput
    def __init__(self, patient_id: _Optional[str] = ..., source_record_id: _Optional[str] = ..., service: _Optional[_Union[MunicipalServiceInput, _Mapping]] = ...) -> None: ...

class CreateMunicipalServiceResponse(_message.Message):
    __slots__ = ("service", "created")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    service: MunicipalService
    created: bool
    def __init__(self, service: _Optional[_Union[MunicipalService, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class UpdateMunicipalServiceRequest(_message.Message):
    __slots__ = ("patient_id", "source_record_id", "service")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    source_record_id: str
    service: MunicipalServiceInput
    def __init__(self, patient_id: _Optional[str] = ..., source_record_id: _Optional[str] = ..., service: _Optional[_Union[MunicipalServiceInput, _Mapping]] = ...) -> None: ...

class UpdateMunicipalServiceResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: MunicipalService
    def __init__(self, service: _Optional[_Union[MunicipalService, _Mapping]] = ...) -> None: ...

class EndMunicipalServiceRequest(_message.Message):
    __slots__ = ("patient_id", "source_record_id", "end_date")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    source_record_id: str
    end_date: _common_pb2.Date
    def __init__(self, patient_id: _Optional[str] = ..., source_record_id: _Optional[str] = ..., end_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class EndMunicipalServiceResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: MunicipalService
    def __init__(self, service: _Optional[_Union[MunicipalService, _Mapping]] = ...) -> None: ...

class SetMunicipalServiceOnHoldRequest(_message.Message):
    __slots__ = ("patient_id", "source_record_id", "on_hold")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HOLD_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    source_record_id: str
    on_hold: bool
    def __init__(self, patient_id: _Optional[str] = ..., source_record_id: _Optional[str] = ..., on_hold: _Optional[bool] = ...) -> None: ...

class SetMunicipalServiceOnHoldResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: MunicipalService
    def __init__(self, service: _Optional[_Union[MunicipalService, _Mapping]] = ...) -> None: ...

class GetMunicipalServiceStatusRequest(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class GetMunicipalServiceStatusResponse(_message.Message):
    __slots__ = ("active_service_count",)
    ACTIVE_SERVICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    active_service_count: int
    def __init__(self, active_service_count: _Optional[int] = ...) -> None: ...

class RecordVitalSignsRequest(_message.Message):
    __slots__ = ("patient_id", "source_record_id", "vital_signs", "measured_by")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    MEASURED_BY_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    source_record_id: str
    vital_signs: VitalSigns
    measured_by: Performer
    def __init__(self, patient_id: _Optional[str] = ..., source_record_id: _Optional[str] = ..., vital_signs: _Optional[_Union[VitalSigns, _Mapping]] = ..., measured_by: _Optional[_Union[Performer, _Mapping]] = ...) -> None: ...

class RecordVitalSignsResponse(_message.Message):
    __slots__ = ("measurement_id", "vital_signs", "news2", "created", "escalation_id", "escalation_level", "no_escalation_reason", "clinical_response", "recorder_notices")
    MEASUREMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    NEWS2_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_ID_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    NO_ESCALATION_REASON_FIELD_NUMBER: _ClassVar[int]
    CLINICAL_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    RECORDER_NOTICES_FIELD_NUMBER: _ClassVar[int]
    measurement_id: str
    vital_signs: VitalSigns
    news2: News2Score
    created: bool
    escalation_id: str
    escalation_level: EscalationLevel
    no_escalation_reason: NoEscalationReason
    clinical_response: RecorderText
    recorder_notices: _containers.RepeatedCompositeFieldContainer[RecorderNotice]
    def __init__(self, measurement_id: _Optional[str] = ..., vital_signs: _Optional[_Union[VitalSigns, _Mapping]] = ..., news2: _Optional[_Union[News2Score, _Mapping]] = ..., created: _Optional[bool] = ..., escalation_id: _Optional[str] = ..., escalation_level: _Optional[_Union[EscalationLevel, str]] = ..., no_escalation_reason: _Optional[_Union[NoEscalationReason, str]] = ..., clinical_response: _Optional[_Union[RecorderText, _Mapping]] = ..., recorder_notices: _Optional[_Iterable[_Union[RecorderNotice, _Mapping]]] = ...) -> None: ...

class RecorderText(_message.Message):
    __slots__ = ("text_nb", "text_en")
    TEXT_NB_FIELD_NUMBER: _ClassVar[int]
    TEXT_EN_FIELD_NUMBER: _ClassVar[int]
    text_nb: str
    text_en: str
    def __init__(self, text_nb: _Optional[str] = ..., text_en: _Optional[str] = ...) -> None: ...

class RecorderNotice(_message.Message):
    __slots__ = ("kind", "text", "phone_numbers", "notice_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    NOTICE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: RecorderNoticeKind
    text: RecorderText
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    notice_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[RecorderNoticeKind, str]] = ..., text: _Optional[_Union[RecorderText, _Mapping]] = ..., phone_numbers: _Optional[_Iterable[str]] = ..., notice_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListVitalSignsRequest(_message.Message):
    __slots__ = ("patient_id", "from_time", "to_time")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    def __init__(self, patient_id: _Optional[str] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListVitalSignsResponse(_message.Message):
    __slots__ = ("measurements", "trend", "truncated")
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    measurements: _containers.RepeatedCompositeFieldContainer[VitalSignsRecord]
    trend: News2Trend
    truncated: bool
    def __init__(self, measurements: _Optional[_Iterable[_Union[VitalSignsRecord, _Mapping]]] = ..., trend: _Optional[_Union[News2Trend, _Mapping]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class SetSpo2ScaleRequest(_message.Message):
    __slots__ = ("patient_id", "scale")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    scale: int
    def __init__(self, patient_id: _Optional[str] = ..., scale: _Optional[int] = ...) -> None: ...

class SetSpo2ScaleResponse(_message.Message):
    __slots__ = ("setting",)
    SETTING_FIELD_NUMBER: _ClassVar[int]
    setting: Spo2ScaleSetting
    def __init__(self, setting: _Optional[_Union[Spo2ScaleSetting, _Mapping]] = ...) -> None: ...

class ExportPatientBundleRequest(_message.Message):
    __slots__ = ("patient_id",)
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    def __init__(self, patient_id: _Optional[str] = ...) -> None: ...

class ExportPatientBundleResponse(_message.Message):
    __slots__ = ("bundle_json", "withheld_categories", "truncated", "municipal_services_truncated")
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    MUNICIPAL_SERVICES_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    bundle_json: str
    withheld_categories: _containers.RepeatedScalarFieldContainer[_common_pb2.DataCategory]
    truncated: bool
    municipal_services_truncated: bool
    def __init__(self, bundle_json: _Optional[str] = ..., withheld_categories: _Optional[_Iterable[_Union[_common_pb2.DataCategory, str]]] = ..., truncated: _Optional[bool] = ..., municipal_services_truncated: _Optional[bool] = ...) -> None: ...
