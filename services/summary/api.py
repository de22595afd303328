"""gRPC mapping of the summary service: proto in, store and pure rules, proto out."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.errors import invalid_argument, not_found, permission_denied
from services.platform.ids import person_number_violations
from services.platform.interceptors import asserted_patient, current_assertion
from services.platform.protomap import to_date, to_enum, to_timestamp

from .news2 import score_news2
from .okt import MunicipalService, is_active
from .store import SummaryStore, UnknownPatient
from .vitals import OSLO, Measurement, news2_applies

# The categories a summary is made of, in the order they are reported as withheld.
SUMMARY_CATEGORIES = (common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES, common_pb2.DATA_CATEGORY_VITAL_SIGNS)

class SummaryApi(summary_pb2_grpc.PatientSummaryServiceServicer):
    def __init__(
        self,
        store: SummaryStore,
        *,
        allow_synthetic: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._allow_synthetic = allow_synthetic
        self._clock = clock

    async def GetPatientSummary(self, request: summary_pb2.GetPatientSummaryRequest, context):
        if problems := person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic):
            raise invalid_argument(problems)
        asserted_patient(request.patient_id)
        categories = set(current_assertion().data_categories)
        with_services = common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES in categories
        with_vitals = common_pb2.DATA_CATEGORY_VITAL_SIGNS in categories
        # Checked before the lookup so a caller without a category cannot probe who exists.
        if not (with_services or with_vitals):
            raise permission_denied("CATEGORY_NOT_PERMITTED", "no data category of the summary was permitted")
        try:
            summary = await asyncio.to_thread(self._store.get_summary, request.patient_id)
        except UnknownPatient:
            raise not_found("PATIENT_NOT_FOUND", "no such patient") from None
        # Named, never filled: the caller learns that something was left out, not what.
        withheld = [c for c in SUMMARY_CATEGORIES if c not in categories]
        response = summary_pb2.GetPatientSummaryResponse(patient_id=request.patient_id, withheld_categories=withheld)
        if with_services:
            today = self._clock().astimezone(OSLO).date()
            services = [_service(s, is_active(s, today)) for s in summary.services]
            response.municipal_services.extend(services)
            response.active_service_count = sum(s.active for s in services)
        if with_vitals and summary.latest is not None:
            response.latest_vital_signs.CopyFrom(_vital_signs(summary.latest))
            # Under-16s get their measurements without a score (NEWS2 is not validated for them).
            if news2_applies(summary.patient.birth_date, summary.latest.measured_at):
                response.latest_news2.CopyFrom(_news2(summary.latest))
        return response


def _service(record: MunicipalService, active: bool) -> summary_pb2.MunicipalService:
    return summary_pb2.MunicipalService(
        service_id=record.service_id,
        iplos_code=record.iplos_code,
        iplos_display=record.iplos_display,
        start_date=to_date(record.start_date),
        end_date=to_date(record.end_date),
        service_level=record.service_level,
        stay_type=to_enum(summary_pb2.StayType, record.stay),
        weekly_extent=record.weekly_extent,
        temporarily_ceased=record.temporarily_ceased,
        description=record.description,
        provider_orgnr=record.provider_orgnr,
        active=active,
    )


def _vital_signs(measurement: Measurement) -> summary_pb2.VitalSigns:
    o = measurement.observation
    return summary_pb2.VitalSigns(
        measure_time=to_timestamp(measurement.measured_at),
        respiration_rate=o.respiration_rate,
        spo2=o.spo2,
        spo2_scale=int(o.spo2_scale),
        on_oxygen=o.on_oxygen,
        systolic_bp=o.systolic_bp,
        pulse=o.pulse,
        consciousness=to_enum(summary_pb2.Consciousness, o.consciousness),
        temperature_celsius=o.temperature,
    )


def _news2(measurement: Measurement) -> summary_pb2.News2Score:
    result = score_news2(measurement.observation)
    return summary_pb2.News2Score(
        total=result.total,
        clinical_risk=to_enum(summary_pb2.ClinicalRisk, result.risk),
        red_score=result.red_score,
    )
