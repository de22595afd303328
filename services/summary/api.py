"""gRPC handlers of the summary service: parse (convert.py), check what the gateway's assertion
permits, run the use case (use_cases.py) off the event loop, render (convert.py). Reads show
only the permitted categories and name the others as withheld; writes are recorded as the
calling system's (its client id is the source system of every record it writes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import grpc
from google.protobuf.message import Message

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2, escalation_pb2_grpc, summary_pb2, summary_pb2_grpc
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.ids import InvalidIdentifier, validate_person_number
from services.platform.interceptors import asserted_patient, current_assertion
from services.platform.norway_date import today_in_norway
from services.platform.paging import fitting, page, page_violations
from services.platform.text import TextField, text_violations
from services.platform.watch import Heartbeat

from . import convert, use_cases
from .convert import SUMMARY_CATEGORIES
from .escalation_episodes import PERSON_NAME, Episode, Responder
from .escalation_views import EscalationView
from .news2 import Spo2Scale
from .okt import MunicipalService, is_active
from .vitals import Performer

if TYPE_CHECKING:
    from services.platform.wakeups import Wakeups

    from .escalation_inbox_store import EscalationInboxStore
    from .escalation_signal_store import EscalationSignalStore
    from .store import SummaryStore

C = common_pb2
# Inbox pages (escalation.proto): ListEscalations 1-100, 50 by default; ListPatientEscalations 1-50, 20.
DEFAULT_INBOX_PAGE, MAX_INBOX_PAGE = 50, 100
DEFAULT_PATIENT_PAGE, MAX_PATIENT_PAGE = 20, 50
# ListEscalationSignals: 1-100, 50 by default.
DEFAULT_SIGNAL_PAGE, MAX_SIGNAL_PAGE = 50, 100
MAX_RANGE = timedelta(days=366)
T = TypeVar("T")


class SummaryApi(summary_pb2_grpc.PatientSummaryServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"GetPatientSummary", "GetMunicipalServiceStatus", "ListVitalSigns", "ExportPatientBundle"}
    )

    def __init__(
        self,
        store: SummaryStore,
        escalation: use_cases.Escalation,
        *,
        allow_synthetic: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        wakeups: Wakeups | None = None,
    ) -> None:
        self._store = store
        self.escalation = escalation  # its episodes are swept beside the calls (main.py)
        self._allow_synthetic = allow_synthetic
        self._clock = clock
        # The escalation inbox's watchers in this process, woken after a measurement escalates.
        self._wakeups = wakeups

    @property
    def clock(self) -> Callable[[], datetime]:
        """The api's clock (the escalation sweeper beside it reads the same)."""
        return self._clock

    # -- reads -------------------------------------------------------------------------

    async def GetPatientSummary(
        self, request: summary_pb2.GetPatientSummaryRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.GetPatientSummaryResponse:
        today = self._today()
        (with_services, with_vitals), born = self._granted_born(request.patient_id, SUMMARY_CATEGORIES, today)
        summary, vitals = await self._run(
            use_cases.get_summary_assessed, self._store, request.patient_id, today, born, with_vitals=with_vitals
        )
        return convert.summary_to_proto(
            request.patient_id, summary, today, with_services=with_services, vitals=vitals, with_vitals=with_vitals
        )

    async def GetMunicipalServiceStatus(
        self, request: summary_pb2.GetMunicipalServiceStatusRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.GetMunicipalServiceStatusResponse:
        self._granted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        summary = await self._run(use_cases.get_summary, self._store, request.patient_id, self._today())
        return summary_pb2.GetMunicipalServiceStatusResponse(active_service_count=summary.active_service_count)

    async def ListVitalSigns(
        self, request: summary_pb2.ListVitalSignsRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.ListVitalSignsResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_VITAL_SIGNS)
        start, end = self._range(request)
        assessed, trend, truncated = await self._run(
            use_cases.list_vital_signs, self._store, request.patient_id, start, end
        )
        return convert.vital_signs_list_to_proto(assessed, trend, truncated)

    async def ExportPatientBundle(
        self, request: summary_pb2.ExportPatientBundleRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.ExportPatientBundleResponse:
        with_services, with_vitals = self._granted(request.patient_id, *SUMMARY_CATEGORIES)
        encoded, truncated, services_truncated = await self._run(
            use_cases.export_bundle,
            self._store,
            request.patient_id,
            with_services=with_services,
            with_vitals=with_vitals,
            clock=self._clock,
        )
        return summary_pb2.ExportPatientBundleResponse(
            bundle_json=encoded,
            withheld_categories=convert.withheld(with_services, with_vitals),
            truncated=truncated,
            municipal_services_truncated=services_truncated,
        )

    # -- writes from source systems ----------------------------------------------------

    async def CreateMunicipalService(
        self, request: summary_pb2.CreateMunicipalServiceRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.CreateMunicipalServiceResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        record = self._service_input(request)
        stored, created = await self._run(
            use_cases.create_service, self._store, request.patient_id, record, self._today()
        )
        return summary_pb2.CreateMunicipalServiceResponse(service=self._service_out(stored), created=created)

    async def UpdateMunicipalService(
        self, request: summary_pb2.UpdateMunicipalServiceRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.UpdateMunicipalServiceResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        record = self._service_input(request)
        stored = await self._run(use_cases.update_service, self._store, request.patient_id, record, self._today())
        return summary_pb2.UpdateMunicipalServiceResponse(service=self._service_out(stored))

    async def EndMunicipalService(
        self, request: summary_pb2.EndMunicipalServiceRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.EndMunicipalServiceResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        problems = convert.source_id_violations(request.source_record_id)
        end = None
        if not request.HasField("end_date"):
            problems["end_date"] = "required: the last day of the service"
        else:
            try:
                end = convert.parse_date(request.end_date)
            except ValueError:
                problems["end_date"] = "not a calendar date"
        if problems:
            raise invalid_argument(problems)
        assert end is not None, "problems named a missing or invalid end_date"
        stored = await self._run(
            use_cases.end_service,
            self._store,
            request.patient_id,
            current_assertion().actor.client_id,
            request.source_record_id,
            end,
            self._today(),
        )
        return summary_pb2.EndMunicipalServiceResponse(service=self._service_out(stored))

    async def SetMunicipalServiceOnHold(
        self, request: summary_pb2.SetMunicipalServiceOnHoldRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.SetMunicipalServiceOnHoldResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_MUNICIPAL_SERVICES)
        if problems := convert.source_id_violations(request.source_record_id):
            raise invalid_argument(problems)
        stored = await self._run(
            use_cases.set_service_on_hold,
            self._store,
            request.patient_id,
            current_assertion().actor.client_id,
            request.source_record_id,
            request.on_hold,
            self._today(),
        )
        return summary_pb2.SetMunicipalServiceOnHoldResponse(service=self._service_out(stored))

    async def RecordVitalSigns(
        self, request: summary_pb2.RecordVitalSignsRequest, context: grpc.aio.ServicerContext
    ) -> summary_pb2.RecordVitalSignsResponse:
        await self._permitted(request.patient_id, C.DATA_CATEGORY_VITAL_SIGNS)
        patient = await self._run(use_cases.get_patient, self._store, request.patient_id)
        given = request.vital_signs
        measured_at, problems = convert.vital_signs_violations(
            given, patient.spo2_scale, patient.birth_date, self._clock()
        )
        performer, performer_problems = self._performer(request)
        problems = convert.source_id_violations(request.source_record_id) | problems | performer_problems
        if problems:
            raise invalid_argument(problems)
        assert measured_at is not None, "vital_signs_violations names a missing or invalid measure_time"
        actor = current_assertion().actor
        measurement = convert.measurement_from_input(
            given,
            patient.spo2_scale,
            measured_at,
            measured_by=performer,
            source_system=actor.client_id,
            source_record_id=request.source_record_id,
        )
        recorded = await self._run(
            use_cases.record_vital_signs,
            self._store,
            self.escalation,
            patient,
            measurement,
            given.spo2_scale,
            # The recorder's organisation: never a target of the escalation, told what was sent.
            recorder_orgnr=actor.orgnr_child or actor.orgnr_parent,
            now=self._clock(),
        )
        if self._wakeups is not None and recorded.escalated.episode_id:
            use_cases.escalations_changed(self._wakeups)
        return convert.recorded_to_proto(recorded)

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
            use_cases.set_spo2_scale,
            self._store,
            request.patient_id,
            Spo2Scale(request.scale),
            Performer(actor.hpr_number, actor.name),
            self._clock(),
        )
        return summary_pb2.SetSpo2ScaleResponse(setting=convert.setting_to_proto(setting))

    # -- helpers -----------------------------------------------------------------------

    async def _permitted(self, patient_id: str, *categories: int) -> tuple[bool, ...]:
        """A valid person number (its problem alone), then _known_patient: which of `categories`
        the gateway permitted, and the patient exists, before anything else of the request is checked."""
        self._born(patient_id, self._today())
        return await _known_patient(self._store, patient_id, categories)

    def _granted(self, patient_id: str, *categories: int) -> tuple[bool, ...]:
        """Which of `categories` the gateway permitted; refuses when none (before any lookup,
        so a caller without a category cannot probe who exists). A read whose request has
        nothing else to check looks the patient up with its own read (the store's get_summary
        raises UnknownPatient: PATIENT_NOT_FOUND), not with a lookup of its own first."""
        return self._granted_born(patient_id, categories, self._today())[0]

    def _granted_born(self, patient_id: str, categories: tuple[int, ...], today: date) -> tuple[tuple[bool, ...], date]:
        """_granted, and the patient's birth date from the number it validated (validating it is
        dearer than a summary's NEWS2 scoring: once per read)."""
        born = self._born(patient_id, today)
        return _categories_granted(patient_id, categories), born

    def _born(self, patient_id: str, today: date) -> date:
        """The birth date of a valid person number; its problem alone (INVALID_ARGUMENT patient_id)."""
        try:
            number = validate_person_number(patient_id, allow_synthetic=self._allow_synthetic, today=today)
        except InvalidIdentifier as exc:
            raise invalid_argument({"patient_id": str(exc)}) from None
        return number.birth_date

    def _service_input(
        self, request: summary_pb2.CreateMunicipalServiceRequest | summary_pb2.UpdateMunicipalServiceRequest
    ) -> MunicipalService:
        actor = current_assertion().actor
        record, problems = convert.service_from_input(
            request.service,
            source_system=actor.client_id,
            source_record_id=request.source_record_id,
            default_provider=actor.orgnr_child,
        )
        problems = convert.source_id_violations(request.source_record_id) | problems
        if not request.HasField("service"):
            problems = {"service": "required"} | {k: v for k, v in problems.items() if not k.startswith("service.")}
        if problems:
            raise invalid_argument(problems)
        return record

    def _service_out(self, record: MunicipalService) -> summary_pb2.MunicipalService:
        return convert.service_to_proto(record, is_active(record, self._today()))

    def _performer(self, request: summary_pb2.RecordVitalSignsRequest) -> tuple[Performer | None, dict[str, str]]:
        """Who measured (_acting_person): a system may name nobody when it does not know."""
        return _acting_person(request, "measured_by")

    def _range(self, request: summary_pb2.ListVitalSignsRequest) -> tuple[datetime, datetime]:
        start, end, problems = convert.vital_signs_range(request, self._clock)
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

    @staticmethod
    async def _run(function: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.to_thread(function, *args, **kwargs)


class EscalationApi(escalation_pb2_grpc.EscalationServiceServicer):
    """gRPC handlers of the EscalationService (docs/escalation.md, "API"). Every method acts for
    the caller's organisation (the point of care of the asserted actor); one naming an escalation
    answers an organisation that is neither a target nor the source exactly as for an id that
    does not exist. Opening or acting on one is a read of the patient's vital signs, which the
    gateway decides for the patient it learnt through LookupEscalationPatient."""

    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {
            "GetEscalation",
            "LookupEscalationPatient",
            "ListEscalations",
            "ListPatientEscalations",
            "GetEscalationStatistics",
            "ExportEscalation",
            "ListEscalationSignals",
        }
    )

    def __init__(
        self,
        summary: SummaryStore,
        escalation: use_cases.Escalation,
        inbox: EscalationInboxStore,
        wakeups: Wakeups,
        *,
        allow_synthetic: bool,
        facts: use_cases.FactsSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        signals: EscalationSignalStore,
    ) -> None:
        self._summary = summary
        self._escalations = escalation.episodes
        self._inbox = inbox
        # Wakes this process's inbox watchers after a change here, and (PostgreSQL) after any replica's.
        self._wakeups = wakeups
        self._allow_synthetic = allow_synthetic
        # Who is responsible for a patient: the responsibility store's facts (tests inject others).
        responsibility = escalation.responsibility
        self._responsibility = responsibility
        self._facts: use_cases.FactsSource = facts or (
            lambda patient_id, recorder_orgnr, now: responsibility.facts(
                patient_id, recorder_orgnr=recorder_orgnr, now=now
            )
        )
        self._clock = clock
        # The auditors' signals (ListEscalationSignals).
        self._signals = signals

    def _today(self) -> date:
        return today_in_norway(self._clock)

    # -- the inbox: no patient data --------------------------------------------------------

    async def ListEscalations(
        self, request: escalation_pb2.ListEscalationsRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.ListEscalationsResponse:
        orgnr = _organisation()
        box, problems = convert.box_from_proto(request.box)
        limit, offset, paging = page_violations(
            request.page_size, request.page_token, default=DEFAULT_INBOX_PAGE, maximum=MAX_INBOX_PAGE
        )
        if problems := problems | paging:
            raise invalid_argument(problems)
        now, offset = self._clock(), offset or 0
        items = await _run(
            use_cases.list_escalations,
            self._inbox,
            orgnr,
            box,
            include_resolved=request.include_resolved,
            now=now,
            limit=limit + 1,
            offset=offset,
        )
        # The token is how many were listed before it (the order is by urgency, not by a key).
        shown, token = page(
            [convert.inbox_item_to_proto(i) for i in items[:limit]],
            [offset + n for n in range(1, len(items[:limit]) + 1)],
            len(items) > limit,
        )
        return convert.inbox_page(shown, token, now)

    async def WatchEscalations(
        self, request: escalation_pb2.WatchEscalationsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[escalation_pb2.WatchEscalationsResponse]:
        orgnr = _organisation()
        box, problems = convert.watch_from_proto(request)
        if problems:
            raise invalid_argument(problems)
        if request.resume_after:
            after = await _run(use_cases.escalation_resume_position, self._inbox, request.resume_after)
            await context.send_initial_metadata(())  # accepted: the gateway may start its answer
        else:
            after, items, truncated = await _run(use_cases.escalation_snapshot, self._inbox, orgnr, box)
            shown = [i for i in items if convert.pushed(i)] if request.pushed_only else items
            yield convert.inbox_snapshot(after, shown, truncated, self._clock())
        changes = use_cases.follow_escalations(self._inbox, self._wakeups, orgnr, box, after)
        async with aclosing(changes):
            async for change in changes:
                if isinstance(change, Heartbeat):
                    yield convert.inbox_heartbeat(change.position, self._clock())
                elif request.pushed_only and not convert.pushed(change):
                    yield convert.inbox_heartbeat(change.position, self._clock())  # listed only: not for this watch
                else:
                    yield convert.inbox_change(change, self._clock())

    async def ListPatientEscalations(
        self, request: escalation_pb2.ListPatientEscalationsRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.ListPatientEscalationsResponse:
        limit, offset, problems = page_violations(
            request.page_size, request.page_token, default=DEFAULT_PATIENT_PAGE, maximum=MAX_PATIENT_PAGE
        )
        await self._patient_known(request.patient_id, problems)
        offset = offset or 0
        # The patient and their representatives see every escalation of the patient; a system or
        # a health person only those shared with their organisation.
        own = current_assertion().actor.kind == C.ACTOR_KIND_PATIENT  # a representative acts as one
        views = await _run(
            use_cases.patient_escalations,
            self._escalations,
            self._inbox,
            self._summary,
            request.patient_id,
            limit + 1,
            offset,
            None if own else _organisation(),
        )
        listed = [convert.escalation_to_proto(v) for v in views[:limit]]
        fit = fitting(listed, lambda m: m.ByteSize())  # a page stays under the answer limit
        shown, token = page(listed[:fit], [offset + n for n in range(1, fit + 1)], len(views) > fit)
        return escalation_pb2.ListPatientEscalationsResponse(escalations=shown, next_page_token=token)

    async def GetEscalationStatistics(
        self, request: escalation_pb2.GetEscalationStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.GetEscalationStatisticsResponse:
        orgnr = _organisation()
        start, end, problems = convert.statistics_days(request)
        if problems:
            raise invalid_argument(problems)
        assert start is not None and end is not None, "statistics_days names a missing or invalid day"
        rows = await _run(use_cases.escalation_statistics, self._inbox, orgnr, start, end)
        return convert.statistics_to_proto(rows)

    # -- the auditors' signals: no patient data ---------------------------------------------

    async def ListEscalationSignals(
        self, request: escalation_pb2.ListEscalationSignalsRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.ListEscalationSignalsResponse:
        actor = current_assertion().actor
        if actor.kind != C.ACTOR_KIND_AUDITOR or not actor.orgnr_parent:
            raise Reason.AUDIT_SCOPE_MISSING.error("escalation signals are read by an organisation's auditors")
        kinds, start, end, problems = convert.escalation_signals_request(request, self._clock())
        limit, offset, paging = page_violations(
            request.page_size, request.page_token, default=DEFAULT_SIGNAL_PAGE, maximum=MAX_SIGNAL_PAGE
        )
        if problems := problems | paging:
            raise invalid_argument(problems)
        found, truncated = await _run(
            use_cases.escalation_signals, self._signals, actor.orgnr_parent, start, end, kinds
        )
        # Signals are computed, not stored: the token is the index of the next one (the same kind
        # and range give the same list while no event arrives in the range).
        first = offset or 0
        shown, token = page(
            [convert.escalation_signal_to_proto(s) for s in found[first : first + limit]],
            list(range(first + 1, first + limit + 1)),
            first + limit < len(found),
        )
        return escalation_pb2.ListEscalationSignalsResponse(signals=shown, next_page_token=token, truncated=truncated)

    # -- one escalation ------------------------------------------------------------------

    async def GetEscalation(
        self, request: escalation_pb2.GetEscalationRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.GetEscalationResponse:
        episode = await self._opened(request.escalation_id)
        view = await _run(use_cases.escalation_view, self._escalations, self._summary, episode)
        return convert.get_escalation_response(view, self._clock())

    async def ExportEscalation(
        self, request: escalation_pb2.ExportEscalationRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.ExportEscalationResponse:
        episode = await self._opened(request.escalation_id)
        bundle = await _run(use_cases.export_escalation, self._escalations, episode, self._clock())
        return escalation_pb2.ExportEscalationResponse(bundle_json=bundle)

    async def LookupEscalationPatient(
        self, request: escalation_pb2.LookupEscalationPatientRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.LookupEscalationPatientResponse:
        episode = await self._visible(request.escalation_id)
        return escalation_pb2.LookupEscalationPatientResponse(patient_id=episode.patient_id)

    # -- changes: each with a request_id; the same request again changes nothing -----------

    async def AcknowledgeEscalation(
        self, request: escalation_pb2.AcknowledgeEscalationRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.AcknowledgeEscalationResponse:
        problems = convert.change_violations(request)
        escalation = await self._change(request, "acknowledged_by", problems, use_cases.acknowledge_escalation)
        return escalation_pb2.AcknowledgeEscalationResponse(escalation=escalation)

    async def DeclineEscalation(
        self, request: escalation_pb2.DeclineEscalationRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.DeclineEscalationResponse:
        problems = convert.decline_violations(request)
        escalation = await self._change(
            request, "declined_by", problems, use_cases.decline_escalation, reason=request.reason
        )
        return escalation_pb2.DeclineEscalationResponse(escalation=escalation)

    async def PlanReassessment(
        self, request: escalation_pb2.PlanReassessmentRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.PlanReassessmentResponse:
        reassess_at, problems = convert.reassessment_from_proto(request)
        escalation = await self._change(
            request, "planned_by", problems, use_cases.plan_reassessment, reassess_at=reassess_at, note=request.note
        )
        return escalation_pb2.PlanReassessmentResponse(escalation=escalation)

    async def ResolveEscalation(
        self, request: escalation_pb2.ResolveEscalationRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.ResolveEscalationResponse:
        outcome, problems = convert.resolution_from_proto(request)
        escalation = await self._change(
            request, "resolved_by", problems, use_cases.resolve_escalation, outcome=outcome, note=request.note
        )
        return escalation_pb2.ResolveEscalationResponse(escalation=escalation)

    async def RaiseConcern(
        self, request: escalation_pb2.RaiseConcernRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.RaiseConcernResponse:
        level, problems = convert.concern_from_proto(request)
        person, person_problems = _required_person(request, "raised_by")
        await self._patient_known(request.patient_id, problems | person_problems)
        assert level is not None and person is not None, "the violations name a missing level or person"
        view, told = await _run(
            use_cases.raise_concern,
            self._escalations,
            self._summary,
            self._facts,
            request.patient_id,
            actor=Responder(_organisation(), person),
            level=level,
            note=request.note,
            request_id=request.request_id,
            now=self._clock(),
        )
        self._committed()
        return convert.raise_concern_response(view, told)

    # -- follow-up enrolments: the caller's organisation is the team -----------------------

    async def EnrolFollowUp(
        self, request: escalation_pb2.EnrolFollowUpRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.EnrolFollowUpResponse:
        now = self._clock()
        hours, problems = convert.opening_hours_from_proto(request, now)
        person, person_problems = _required_person(request, "enrolled_by")
        await self._patient_known(
            request.patient_id, convert.enrolment_violations(request) | problems | person_problems
        )
        orgnr = _organisation()
        assert hours is not None and person is not None, "the violations name missing hours or person"
        enrolment = await _run(
            use_cases.enrol_follow_up,
            self._responsibility,
            request.patient_id,
            team_orgnr=orgnr,
            team_name=request.team_name,
            hours=hours,
            by=person,
            request_id=request.request_id,
            now=now,
        )
        return escalation_pb2.EnrolFollowUpResponse(enrolment=convert.enrolment_to_proto(enrolment))

    async def EndFollowUp(
        self, request: escalation_pb2.EndFollowUpRequest, context: grpc.aio.ServicerContext
    ) -> escalation_pb2.EndFollowUpResponse:
        person, person_problems = _required_person(request, "ended_by")
        await self._patient_known(request.patient_id, convert.end_follow_up_violations(request) | person_problems)
        orgnr = _organisation()
        assert person is not None, "the violations name a missing person"
        enrolment = await _run(
            use_cases.end_follow_up,
            self._responsibility,
            request.enrolment_id,
            patient_id=request.patient_id,
            team_orgnr=orgnr,
            by=person,
            request_id=request.request_id,
            now=self._clock(),
        )
        return escalation_pb2.EndFollowUpResponse(enrolment=convert.enrolment_to_proto(enrolment))

    # -- helpers -----------------------------------------------------------------------

    async def _visible(self, escalation_id: str) -> Episode:
        """The escalation, when the caller's organisation is a target or its source."""
        if problems := convert.escalation_id_violations(escalation_id):
            raise invalid_argument(problems)
        orgnr = _organisation()
        return await _run(use_cases.escalation_for, self._escalations, escalation_id, orgnr)

    def _committed(self) -> None:
        """Wakes this process's inbox watchers after a change committed here."""
        use_cases.escalations_changed(self._wakeups)

    async def _change(
        self,
        request: Any,
        by: str,
        problems: dict[str, str],
        change: Callable[..., EscalationView],
        **fields: object,
    ) -> escalation_pb2.Escalation:
        """One change of the escalation the request names (its `escalation_id` and `request_id`),
        by the caller's organisation and the person acting (`by`, the request's Performer field).
        The request's field `problems` and the person's are refused together, before anything is
        looked up."""
        person, person_problems = _required_person(request, by)
        if problems := problems | person_problems:
            raise invalid_argument(problems)
        assert person is not None, "the violations name a missing person"
        episode = await self._opened(request.escalation_id)
        actor = Responder(_organisation(), person)
        try:
            view = await _run(
                change,
                self._escalations,
                self._summary,
                episode.episode_id,
                actor=actor,
                request_id=request.request_id,
                now=self._clock(),
                **fields,
            )
        except ServiceError as exc:
            raise _person_fields_named(exc, by) from None
        self._committed()
        return convert.escalation_to_proto(view)

    async def _patient_known(self, patient_id: str, problems: dict[str, str]) -> None:
        """A patient the gateway permitted this call's vital signs of, who exists, before the
        request's other field `problems` are refused, all at once: as the PatientSummaryService
        (_known_patient), an unknown number is PATIENT_NOT_FOUND whatever else is wrong, so a
        malformed request tells no more than a good one. A number that is not valid names no
        person to look up: its problem is named with the others, before the gateway's decision
        is checked."""
        try:
            validate_person_number(patient_id, allow_synthetic=self._allow_synthetic, today=self._today())
        except InvalidIdentifier as exc:
            raise invalid_argument({"patient_id": str(exc)} | problems) from None
        await _known_patient(self._summary, patient_id, (C.DATA_CATEGORY_VITAL_SIGNS,))
        if problems:
            raise invalid_argument(problems)

    async def _opened(self, escalation_id: str) -> Episode:
        """_visible, and the gateway decided a read of this escalation's patient's vital signs."""
        episode = await self._visible(escalation_id)
        _categories_granted(episode.patient_id, (C.DATA_CATEGORY_VITAL_SIGNS,))
        return episode


def _acting_person(
    request: Message, field: str, name: TextField = convert.NAME
) -> tuple[Performer | None, dict[str, str]]:
    """Who acts, from the request's `field` (a Performer): a health person's own token names them
    (they act for themselves: a different HPR number named is refused), with the name the token
    carries or else the one the request gives (an access token need not carry a name), which must
    suit `name`; a system names the health person, or nobody (None). Every problem at once."""
    actor = current_assertion().actor
    named: summary_pb2.Performer | None = getattr(request, field) if request.HasField(field) else None
    if actor.kind == C.ACTOR_KIND_PERSONNEL and actor.hpr_number:
        problems: dict[str, str] = {}
        if named is not None and named.hpr_number not in ("", actor.hpr_number):
            problems[f"{field}.hpr_number"] = "a health person acts for themselves; leave it out"
        given = actor.name or (named.name if named is not None else "")
        if not actor.name:  # the token's name is the issuer's; one the request gives is checked
            problems |= text_violations({f"{field}.name": (given, name)})
        return (None, problems) if problems else (Performer(actor.hpr_number, given), {})
    if named is None:
        return None, {}
    if problems := convert.performer_violations(named, field, name):
        return None, problems
    return Performer(named.hpr_number, named.name), {}


def _required_person(request: Message, field: str) -> tuple[Performer | None, dict[str, str]]:
    """_acting_person, required: a system must name the health person who acts, and the person
    acting on an escalation has a name (the core's PERSON_NAME)."""
    person, problems = _acting_person(request, field, PERSON_NAME)
    if person is None and not problems:
        problems = {field: "required: the health person who acts (HPR number and name)"}
    return person, problems


def _person_fields_named(exc: ServiceError, by: str) -> ServiceError:
    """The core's violations of the acting person (`name`, `hpr_number`) named as the request's
    Performer field names them (`acknowledged_by.name`, ...); any other error as it is."""
    person = {"name", "hpr_number"}
    if not exc.field_violations.keys() & person:
        return exc
    return invalid_argument({f"{by}.{k}" if k in person else k: v for k, v in exc.field_violations.items()})


def _organisation() -> str:
    """The caller's organisation: the point of care it acts for (else its legal unit)."""
    actor = current_assertion().actor
    orgnr = actor.orgnr_child or actor.orgnr_parent
    if not orgnr:
        raise Reason.ORGANISATION_REQUIRED.error("escalations are sent, received and acted on by organisations")
    return orgnr


def _categories_granted(patient_id: str, categories: tuple[int, ...]) -> tuple[bool, ...]:
    """Which of `categories` the gateway permitted for this patient (it decided for them:
    asserted_patient); refuses when none (before any lookup, so a caller without a category
    cannot probe who exists)."""
    asserted_patient(patient_id)
    granted = set(current_assertion().data_categories)
    permitted = tuple(c in granted for c in categories)
    if not any(permitted):
        raise Reason.CATEGORY_NOT_PERMITTED.error("no data category of this call was permitted")
    return permitted


async def _known_patient(store: SummaryStore, patient_id: str, categories: tuple[int, ...]) -> tuple[bool, ...]:
    """_categories_granted, then the patient must exist, before anything else of the request is
    checked: an unknown number is PATIENT_NOT_FOUND whatever else is wrong, which the gateway
    answers to anyone but the patient as it answers a reservation (docs/consent.md "What a caller
    without a basis learns about a patient"). Every method of the summary backend naming a patient
    in its request checks it so (one naming an escalation learns the patient from it)."""
    permitted = _categories_granted(patient_id, categories)
    await _run(use_cases.get_patient, store, patient_id)
    return permitted


async def _run(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)
