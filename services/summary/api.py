"""gRPC handlers of the summary service: parse (wire.py), check what the gateway's assertion
permits, call the store off the event loop, answer. Reads show only the permitted categories
and name the others as withheld; writes are recorded as the calling system's (its client id
is the source system of every record it writes)."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar, TypeAlias, TypeVar

import grpc

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from services.platform.ids import InvalidIdentifier, validate_person_number
from services.platform.interceptors import asserted_patient, current_assertion
from services.platform.norway_date import today_in_norway
from services.platform.paging import newest_fitting
from services.platform.protomap import read_timestamp, to_enum

from . import wire
from .fhir import patient_bundle
from .news2 import Observation, Spo2Scale
from .okt import MunicipalService, is_active, record_violations
from .patients import MAX_OPEN_SERVICES
from .store import (
    ConflictingRetry,
    ScaleChanged,
    ScaleNotInForce,
    SummaryStore,
    TooManyOpenServices,
    UnknownPatient,
    UnknownRecord,
)
from .trend import SUMMARY_POINTS, news2_trend, points_of, scored_points
from .vitals import Measurement, Performer, assess

C = common_pb2
# The categories a summary is made of, in the order they are reported as withheld.
SUMMARY_CATEGORIES = (C.DATA_CATEGORY_MUNICIPAL_SERVICES, C.DATA_CATEGORY_VITAL_SIGNS)
MAX_LISTED = 1000
T = TypeVar("T")
# The requests that change one stored municipal service (named by patient and source_record_id).
_ServiceChange: TypeAlias = (
    summary_pb2.UpdateMunicipalServiceRequest | summary_pb2.EndMunicipalServiceRequest
    | summary_pb2.SetMunicipalServiceOnHoldRequest
)
# A measurement is about 9 kB of FHIR JSON (eight resources): the newest 300 keep a Bundle under
# gRPC's default 4 MB message limit at every hop; the response says when older ones were left out.
MAX_EXPORTED = 300
MAX_BUNDLE_BYTES = 3_500_000
MAX_RANGE = timedelta(days=366)


class SummaryApi(summary_pb2_grpc.PatientSummaryServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"GetPatientSummary", "GetMunicipalServiceStatus", "ListVitalSigns", "ExportPatientBundle"})

    def __init__(
        self, store: SummaryStore, *, allow_synthetic: bool, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._allow_synthetic = allow_synthetic
        self._clock = clock

    # -- reads -------------------------------------------------------------------------

    async def GetPatientSummary(
        self, request: summary_pb2.GetPatientSummaryRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.GetPatientSummaryResponse:
        today = self._today()
        (with_services, with_vitals), born = self._granted_born(request.patient_id, SUMMARY_CATEGORIES, today)
        summary = await self._run(self._store.get_summary, request.patient_id, today)
        response = summary_pb2.GetPatientSummaryResponse(
            patient_id=request.patient_id, withheld_categories=_withheld(with_services, with_vitals)
        )
        if with_services:
            response.municipal_services.extend(wire.service_to_proto(s, is_active(s, today)) for s in summary.services)
            response.active_service_count = summary.active_service_count
            response.municipal_services_truncated = summary.services_truncated
        if with_vitals:
            response.spo2_scale_setting.CopyFrom(wire.setting_to_proto(summary.spo2_setting))
        if with_vitals and summary.latest is not None:
            # Each measurement assessed once: the latest's NEWS2 and the trend come from the same.
            assessed = [(m, assess(m, born)) for m in summary.recent]
            latest, assessment = assessed[-1]
            response.latest_vital_signs.CopyFrom(wire.vital_signs_to_proto(latest))
            if assessment.result is not None:
                response.latest_news2.CopyFrom(wire.news2_to_proto(assessment, latest.observation.spo2_scale))
            else:
                response.latest_not_scored_reason = to_enum(summary_pb2.NotScoredReason, assessment.not_scored)
            response.news2_trend.CopyFrom(wire.trend_to_proto(news2_trend(points_of(assessed), SUMMARY_POINTS)))
        return response

    async def GetMunicipalServiceStatus(
        self, request: summary_pb2.GetMunicipalServiceStatusRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.GetMunicipalServiceStatusResponse:
        self._granted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        summary = await self._run(self._store.get_summary, request.patient_id, self._today())
        return summary_pb2.GetMunicipalServiceStatusResponse(active_service_count=summary.active_service_count)

    async def ListVitalSigns(
        self, request: summary_pb2.ListVitalSignsRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.ListVitalSignsResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_VITAL_SIGNS)
        start, end = self._range(request)
        patient, measurements, truncated = await self._run(
            self._store.list_measurements, request.patient_id, start, end, MAX_LISTED
        )
        assessed = [(m, assess(m, patient.birth_date)) for m in measurements]
        records, cut = newest_fitting([wire.record_to_proto(m, a) for m, a in assessed])
        return summary_pb2.ListVitalSignsResponse(
            measurements=records,
            trend=wire.trend_to_proto(news2_trend(scored_points(measurements, patient.birth_date))),
            truncated=truncated or cut,
        )

    async def ExportPatientBundle(
        self, request: summary_pb2.ExportPatientBundleRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.ExportPatientBundleResponse:
        with_services, with_vitals = self._granted(request.patient_id, *SUMMARY_CATEGORIES)
        summary = await self._run(self._store.get_summary, request.patient_id, self._today())
        measurements, truncated = None, False
        if with_vitals:
            # Everything recorded, including times a bedside clock put slightly ahead.
            _, listed, truncated = await self._run(
                self._store.list_measurements, request.patient_id, datetime.min.replace(tzinfo=UTC),
                self._clock() + wire.FUTURE_TOLERANCE, MAX_EXPORTED,
            )
            measurements = [(m, assess(m, summary.patient.birth_date)) for m in listed]
        now, today = self._clock(), self._today()
        while True:
            bundle = patient_bundle(
                summary.patient, services=summary.services if with_services else None, measurements=measurements,
                today=today, generated_at=now, truncated=truncated,
                services_truncated=with_services and summary.services_truncated,
            )
            encoded = json.dumps(bundle, ensure_ascii=False)
            # Long names can make a measurement larger than usual: keep the newest half until it fits.
            if len(encoded.encode()) <= MAX_BUNDLE_BYTES or not measurements:
                break
            measurements, truncated = measurements[len(measurements) // 2 + 1:], True
        return summary_pb2.ExportPatientBundleResponse(
            bundle_json=encoded, withheld_categories=_withheld(with_services, with_vitals), truncated=truncated,
            municipal_services_truncated=with_services and summary.services_truncated,
        )

    # -- writes from source systems ----------------------------------------------------

    async def CreateMunicipalService(
        self, request: summary_pb2.CreateMunicipalServiceRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.CreateMunicipalServiceResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        record = self._service_input(request)
        stored, created = await self._run(self._store.create_service, request.patient_id, record, self._today())
        return summary_pb2.CreateMunicipalServiceResponse(service=self._service_out(stored), created=created)

    async def UpdateMunicipalService(
        self, request: summary_pb2.UpdateMunicipalServiceRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.UpdateMunicipalServiceResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        record = self._service_input(request)
        stored = await self._change(request, lambda old: replace(record, service_id=old.service_id))
        return summary_pb2.UpdateMunicipalServiceResponse(service=self._service_out(stored))

    async def EndMunicipalService(
        self, request: summary_pb2.EndMunicipalServiceRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.EndMunicipalServiceResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        problems = wire.source_id_violations(request.source_record_id)
        end = None
        if not request.HasField("end_date"):
            problems["end_date"] = "required: the last day of the service"
        else:
            try:
                end = wire.parse_date(request.end_date)
            except ValueError:
                problems["end_date"] = "not a calendar date"
        if problems:
            raise invalid_argument(problems)
        stored = await self._change(request, lambda old: _checked(replace(old, end_date=end)))
        return summary_pb2.EndMunicipalServiceResponse(service=self._service_out(stored))

    async def SetMunicipalServiceOnHold(
        self, request: summary_pb2.SetMunicipalServiceOnHoldRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.SetMunicipalServiceOnHoldResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        if problems := wire.source_id_violations(request.source_record_id):
            raise invalid_argument(problems)
        stored = await self._change(request, lambda old: replace(old, temporarily_ceased=request.on_hold))
        return summary_pb2.SetMunicipalServiceOnHoldResponse(service=self._service_out(stored))

    async def RecordVitalSigns(
        self, request: summary_pb2.RecordVitalSignsRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.RecordVitalSignsResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_VITAL_SIGNS)
        patient = await self._run(self._store.get_patient, request.patient_id)
        given = request.vital_signs
        measured_at, problems = wire.vital_signs_violations(given, patient.spo2_scale, patient.birth_date, self._clock())
        performer, performer_problems = self._performer(request)
        problems = wire.source_id_violations(request.source_record_id) | problems | performer_problems
        if problems:
            raise invalid_argument(problems)
        assert measured_at is not None, "vital_signs_violations names a missing or invalid measure_time"
        measurement = Measurement(
            measured_at=measured_at,
            observation=Observation(**wire.observation_values(given, patient.spo2_scale)),
            pregnant=given.pregnant,
            measured_by=performer,
            source_system=current_assertion().actor.client_id,
            source_record_id=request.source_record_id,
        )
        stored, created = await self._run(
            self._store.record_measurement, request.patient_id, measurement, given.spo2_scale
        )
        assessment = assess(stored, patient.birth_date)
        return summary_pb2.RecordVitalSignsResponse(
            measurement_id=stored.measurement_id,
            vital_signs=wire.vital_signs_to_proto(stored),
            news2=wire.news2_to_proto(assessment, stored.observation.spo2_scale),
            created=created,
        )

    async def SetSpo2Scale(
        self, request: summary_pb2.SetSpo2ScaleRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.SetSpo2ScaleResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_VITAL_SIGNS)
        if request.scale not in (1, 2):
            raise invalid_argument({"scale": "1, or 2 for hypercapnic respiratory failure with a 88-92 % target"})
        actor = current_assertion().actor
        # The choice is clinical: recorded with the health person who made it.
        if actor.kind != C.ACTOR_KIND_PERSONNEL or not actor.hpr_number:
            raise Reason.CLINICIAN_REQUIRED.error("only a health person with an HPR number sets the SpO2 scale")
        setting = await self._run(
            self._store.set_spo2_scale, request.patient_id, Spo2Scale(request.scale),
            Performer(actor.hpr_number, actor.name), self._clock(),
        )
        return summary_pb2.SetSpo2ScaleResponse(setting=wire.setting_to_proto(setting))

    # -- helpers -----------------------------------------------------------------------

    async def _permitted(self, patient_id: str, *categories: int) -> tuple[bool, ...]:
        """Which of `categories` the gateway permitted (_granted); then the patient must exist,
        before anything else of the request is checked: an unknown number is PATIENT_NOT_FOUND
        whatever else is wrong, which the gateway answers to anyone but the patient as it
        answers a reservation (docs/consent.md "What a caller without a basis learns about a patient")."""
        permitted = self._granted(patient_id, *categories)
        await self._run(self._store.get_patient, patient_id)
        return permitted

    def _granted(self, patient_id: str, *categories: int) -> tuple[bool, ...]:
        """Which of `categories` the gateway permitted; refuses when none (before any lookup,
        so a caller without a category cannot probe who exists). A read whose request has
        nothing else to check looks the patient up with its own read (the store's get_summary
        raises UnknownPatient: PATIENT_NOT_FOUND), not with a lookup of its own first."""
        return self._granted_born(patient_id, categories, self._today())[0]

    def _granted_born(
        self, patient_id: str, categories: tuple[int, ...], today: date
    ) -> tuple[tuple[bool, ...], date]:
        """_granted, and the patient's birth date from the number it validated (validating it is
        dearer than a summary's NEWS2 scoring: once per read)."""
        try:
            number = validate_person_number(patient_id, allow_synthetic=self._allow_synthetic, today=today)
        except InvalidIdentifier as exc:
            raise invalid_argument({"patient_id": str(exc)}) from None
        asserted_patient(patient_id)
        granted = set(current_assertion().data_categories)
        permitted = tuple(c in granted for c in categories)
        if not any(permitted):
            raise Reason.CATEGORY_NOT_PERMITTED.error("no data category of this call was permitted")
        return permitted, number.birth_date

    def _service_input(
        self, request: summary_pb2.CreateMunicipalServiceRequest | summary_pb2.UpdateMunicipalServiceRequest
    ) -> MunicipalService:
        actor = current_assertion().actor
        record, problems = wire.service_from_input(
            request.service, source_system=actor.client_id, source_record_id=request.source_record_id,
            default_provider=actor.orgnr_child,
        )
        problems = wire.source_id_violations(request.source_record_id) | problems
        if not request.HasField("service"):
            problems = {"service": "required"} | {k: v for k, v in problems.items() if not k.startswith("service.")}
        if problems:
            raise invalid_argument(problems)
        return record

    async def _change(
        self, request: _ServiceChange, change: Callable[[MunicipalService], MunicipalService]
    ) -> MunicipalService:
        return await self._run(
            self._store.change_service, request.patient_id, current_assertion().actor.client_id,
            request.source_record_id, change, self._today(),
        )

    def _service_out(self, record: MunicipalService) -> summary_pb2.MunicipalService:
        return wire.service_to_proto(record, is_active(record, self._today()))

    def _performer(self, request: summary_pb2.RecordVitalSignsRequest) -> tuple[Performer | None, dict[str, str]]:
        """Who measured: a health person's own token names them (they record their own
        measurements); a system names the health person, or nobody when it does not know."""
        actor = current_assertion().actor
        named = request.measured_by if request.HasField("measured_by") else None
        if actor.kind == C.ACTOR_KIND_PERSONNEL and actor.hpr_number:
            if named is not None and named.hpr_number != actor.hpr_number:
                return None, {"measured_by.hpr_number": "a health person records their own measurements; leave it out"}
            return Performer(actor.hpr_number, actor.name), {}
        if named is None:
            return None, {}
        if problems := wire.performer_violations(named, "measured_by"):
            return None, problems
        return Performer(named.hpr_number, named.name), {}

    def _range(self, request: summary_pb2.ListVitalSignsRequest) -> tuple[datetime, datetime]:
        problems: dict[str, str] = {}
        start = read_timestamp(request, "from_time", problems)
        end = read_timestamp(request, "to_time", problems) or self._clock()
        if not request.HasField("from_time"):
            problems["from_time"] = "required"
        if problems:
            raise invalid_argument(problems)
        assert start is not None, "from_time is set and valid, or problems named it"
        if end <= start:
            raise invalid_argument({"to_time": "must be after from_time"})
        if end - start > MAX_RANGE:
            raise invalid_argument({"to_time": "at most 366 days after from_time"})
        return start, end

    def _today(self) -> date:
        return today_in_norway(self._clock)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(function, *args)
        except UnknownPatient:
            raise Reason.PATIENT_NOT_FOUND.error("no such patient") from None
        except UnknownRecord:
            raise Reason.SERVICE_NOT_FOUND.error(
                "no municipal service with this source_record_id from this system for this patient"
            ) from None
        except ScaleNotInForce:
            raise invalid_argument(
                {"vital_signs.spo2_scale": "not the scale in force; leave it 0, only a clinician's SetSpo2Scale changes it"}
            ) from None
        except ScaleChanged:
            raise Reason.SPO2_SCALE_CHANGED.error(
                "the patient's SpO2 scale changed while recording; send the measurement again",
            ) from None
        except TooManyOpenServices:
            raise Reason.OPEN_SERVICES_LIMIT.error(
                f"the patient has {MAX_OPEN_SERVICES} open municipal services; end one before registering another",
            ) from None
        except ConflictingRetry:
            raise Reason.SOURCE_RECORD_CONFLICT.error(
                "this source_record_id is already used for other content; update the record instead",
            ) from None


def _withheld(*permitted: bool) -> list[common_pb2.DataCategory]:
    # Named, never filled: the caller learns that something was left out, not what.
    return [c for c, ok in zip(SUMMARY_CATEGORIES, permitted, strict=True) if not ok]


def _checked(record: MunicipalService) -> MunicipalService:
    """A change must leave a valid record (e.g. an end date not before the start)."""
    if problems := record_violations(record):
        raise invalid_argument(problems)
    return record
