"""Proto <-> domain mapping of the summary service: requests are parsed into pure records
(every bad field reported at once), records are written back as protos. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf import duration_pb2

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2
from services.platform.ids import InvalidIdentifier, validate_hpr_number
from services.platform.norway_date import day_in_norway
from services.platform.paging import MAX_POSITION, newest_fitting, resume_violation
from services.platform.protomap import from_enum, read_timestamp, to_date, to_enum, to_timestamp
from services.platform.text import TextField, text_violations

from . import escalation_episodes
from .escalation_episodes import REQUEST_ID, AddedBecause, EpisodeTarget, Event, Outcome, TellRecorder
from .escalation_routing import MAX_CLOSED_DAYS, MAX_OPENING_INTERVALS, OpeningHours, OpeningInterval
from .escalation_rules import MAX_ACKNOWLEDGE_WITHIN_HOURS, Level
from .escalation_signals import Signal, SignalKind, signal_range
from .escalation_statistics import DayStatistics, days_violations
from .escalation_views import Box, EscalationView, InboxItem, RecorderNoteView, reassess_at
from .news2 import ACVPU, Observation, Spo2Scale, observation_violations
from .okt import MunicipalService, StayType, is_active, record_violations
from .patients import PatientSummary, Spo2ScaleSetting
from .responsibility import Enrolment
from .trend import Trend
from .vitals import FUTURE_TOLERANCE, Assessment, Measurement, Performer

if TYPE_CHECKING:
    from .use_cases import Recorded

C = common_pb2
E = escalation_pb2
# The categories a summary is made of, in the order they are reported as withheld.
SUMMARY_CATEGORIES = (C.DATA_CATEGORY_MUNICIPAL_SERVICES, C.DATA_CATEGORY_VITAL_SIGNS)

MAX_SOURCE_ID = 64
MAX_NAME = 200
SOURCE_ID = TextField(MAX_SOURCE_ID)
NAME = TextField(MAX_NAME)


def source_id_violations(value: str, field: str = "source_record_id") -> dict[str, str]:
    if not value:
        return {field: "required: the calling system's own id of the record"}
    return text_violations({field: (value, SOURCE_ID)})


def parse_date(message: common_pb2.Date) -> date:
    """Raises ValueError for a date that does not exist."""
    return date(message.year, message.month, message.day)


def vital_signs_range(
    request: summary_pb2.ListVitalSignsRequest, clock: Callable[[], datetime]
) -> tuple[datetime | None, datetime, dict[str, str]]:
    """from_time (required; None when unset or bad), to_time (now when unset) and the problems of reading them."""
    problems: dict[str, str] = {}
    start = read_timestamp(request, "from_time", problems)
    end = read_timestamp(request, "to_time", problems) or clock()
    if not request.HasField("from_time"):
        problems["from_time"] = "required"
    return start, end, problems


def service_from_input(
    given: summary_pb2.MunicipalServiceInput,
    *,
    source_system: str,
    source_record_id: str,
    default_provider: str,
) -> tuple[MunicipalService, dict[str, str]]:
    """The record a source system writes, and its field violations (named as in the request)."""
    problems: dict[str, str] = {}
    start = end = None
    for name in ("start_date", "end_date"):
        if given.HasField(name):
            try:
                value = parse_date(getattr(given, name))
            except ValueError:
                problems[f"service.{name}"] = "not a calendar date"
                continue
            start, end = (value, end) if name == "start_date" else (start, value)
    stay = from_enum(summary_pb2.StayType, given.stay_type, StayType)
    if stay is None and given.stay_type != summary_pb2.STAY_TYPE_UNSPECIFIED:
        problems["service.stay_type"] = "unknown stay type"
    record = MunicipalService(
        service_id="",
        iplos_code=given.iplos_code,
        start_date=start,
        end_date=end,
        service_level=given.service_level,
        stay_type=None if stay is None else stay.value,
        weekly_extent=given.weekly_extent,
        temporarily_ceased=given.temporarily_ceased,
        description=given.description,
        provider_orgnr=given.provider_orgnr or default_provider,
        source_system=source_system,
        source_record_id=source_record_id,
    )
    for name, text in record_violations(record).items():
        if name != "service_id":
            problems.setdefault(f"service.{name}", text)
    return record, problems


def measurement_from_input(
    given: summary_pb2.VitalSigns,
    scale: Spo2Scale,
    measured_at: datetime,
    *,
    measured_by: Performer | None,
    source_system: str,
    source_record_id: str,
) -> Measurement:
    """The measurement of vital signs that vital_signs_violations found nothing wrong with."""
    return Measurement(
        measured_at=measured_at,
        observation=Observation(**observation_values(given, scale)),
        pregnant=given.pregnant,
        measured_by=measured_by,
        source_system=source_system,
        source_record_id=source_record_id,
    )


def performer_violations(given: summary_pb2.Performer, field: str, name: TextField = NAME) -> dict[str, str]:
    problems = {}
    try:
        validate_hpr_number(given.hpr_number)
    except InvalidIdentifier as exc:
        problems[f"{field}.hpr_number"] = str(exc)
    return problems | text_violations({f"{field}.name": (given.name, name)})


def observation_values(given: summary_pb2.VitalSigns, scale: Spo2Scale) -> dict[str, Any]:
    """The raw values of an Observation; an unset field is None (reported as required). Any:
    unchecked until Observation validates them on construction (observation_violations)."""

    def optional(name: str) -> Any:
        return getattr(given, name) if given.HasField(name) else None

    consciousness = from_enum(summary_pb2.Consciousness, given.consciousness, ACVPU)
    return {
        "respiration_rate": optional("respiration_rate"),
        "spo2": optional("spo2"),
        "spo2_scale": scale,
        "on_oxygen": optional("on_oxygen"),
        "systolic_bp": optional("systolic_bp"),
        "pulse": optional("pulse"),
        "consciousness": consciousness,
        "temperature": optional("temperature_celsius"),
    }


# Observation field -> the request's field name where they differ.
_WIRE_NAMES = {"temperature": "temperature_celsius"}


def vital_signs_violations(
    given: summary_pb2.VitalSigns, scale: Spo2Scale, born: date, now: datetime
) -> tuple[datetime | None, dict[str, str]]:
    """The measurement time and every problem of a set of vital signs (named as in the request)."""
    problems = {
        f"vital_signs.{_WIRE_NAMES.get(name, name)}": text
        for name, text in observation_violations(observation_values(given, scale)).items()
    }
    if given.spo2_scale not in (0, 1, 2):
        problems["vital_signs.spo2_scale"] = "0 (the scale in force), or 1 or 2 repeating it"
    measured_at = read_timestamp(given, "measure_time", problems, "vital_signs.measure_time")
    if not given.HasField("measure_time"):
        problems["vital_signs.measure_time"] = "required"
    elif measured_at is not None and measured_at > now + FUTURE_TOLERANCE:
        problems["vital_signs.measure_time"] = "must not be in the future"
    elif measured_at is not None and day_in_norway(measured_at) < born:
        problems["vital_signs.measure_time"] = "must not be before the patient was born"
    return measured_at, problems


def service_to_proto(record: MunicipalService, active: bool) -> summary_pb2.MunicipalService:
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
        source_system=record.source_system,
        source_record_id=record.source_record_id,
    )


def vital_signs_to_proto(measurement: Measurement) -> summary_pb2.VitalSigns:
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
        pregnant=measurement.pregnant,
    )


def news2_to_proto(assessment: Assessment, scale: Spo2Scale) -> summary_pb2.News2Score:
    if assessment.result is None:
        return summary_pb2.News2Score(
            scored=False,
            not_scored_reason=to_enum(summary_pb2.NotScoredReason, assessment.not_scored),
            spo2_scale=int(scale),
        )
    result, s = assessment.result, assessment.result.scores
    return summary_pb2.News2Score(
        total=result.total,
        clinical_risk=to_enum(summary_pb2.ClinicalRisk, result.risk),
        red_score=result.red_score,
        scored=True,
        parameters=summary_pb2.News2ParameterScores(
            respiration_rate=s.respiration_rate,
            spo2=s.spo2,
            air_or_oxygen=s.air_or_oxygen,
            systolic_bp=s.systolic_bp,
            pulse=s.pulse,
            consciousness=s.consciousness,
            temperature=s.temperature,
        ),
        spo2_scale=int(scale),
        charted_temperature=str(result.charted_temperature),
    )


def record_to_proto(measurement: Measurement, assessment: Assessment) -> summary_pb2.VitalSignsRecord:
    by = measurement.measured_by
    return summary_pb2.VitalSignsRecord(
        measurement_id=measurement.measurement_id,
        vital_signs=vital_signs_to_proto(measurement),
        news2=news2_to_proto(assessment, measurement.observation.spo2_scale),
        measured_by=None if by is None else summary_pb2.Performer(hpr_number=by.hpr_number, name=by.name),
        source_system=measurement.source_system,
        source_record_id=measurement.source_record_id,
    )


def trend_to_proto(trend: Trend) -> summary_pb2.News2Trend:
    return summary_pb2.News2Trend(
        direction=to_enum(summary_pb2.TrendDirection, trend.direction),
        change=trend.change,
        points=[
            summary_pb2.News2TrendPoint(measure_time=to_timestamp(p.measured_at), total=p.total) for p in trend.points
        ],
    )


def setting_to_proto(setting: Spo2ScaleSetting) -> summary_pb2.Spo2ScaleSetting:
    by = setting.set_by
    return summary_pb2.Spo2ScaleSetting(
        scale=int(setting.scale),
        set_by=None if by is None else summary_pb2.Performer(hpr_number=by.hpr_number, name=by.name),
        set_time=None if setting.set_at is None else to_timestamp(setting.set_at),
    )


def withheld(*permitted: bool) -> list[common_pb2.DataCategory]:
    """The summary's categories not permitted: named, never filled (the caller learns that
    something was left out, not what)."""
    return [c for c, ok in zip(SUMMARY_CATEGORIES, permitted, strict=True) if not ok]


def summary_to_proto(
    patient_id: str,
    summary: PatientSummary,
    today: date,
    *,
    with_services: bool,
    vitals: tuple[Measurement, Assessment, Trend] | None,
    with_vitals: bool,
) -> summary_pb2.GetPatientSummaryResponse:
    """The summary with the permitted categories (`vitals`: the latest measurement, its NEWS2
    and the trend, when permitted and there are any)."""
    response = summary_pb2.GetPatientSummaryResponse(
        patient_id=patient_id, withheld_categories=withheld(with_services, with_vitals)
    )
    if with_services:
        response.municipal_services.extend(service_to_proto(s, is_active(s, today)) for s in summary.services)
        response.active_service_count = summary.active_service_count
        response.municipal_services_truncated = summary.services_truncated
    if with_vitals:
        response.spo2_scale_setting.CopyFrom(setting_to_proto(summary.spo2_setting))
    if with_vitals and vitals is not None:
        latest, assessment, trend = vitals
        response.latest_vital_signs.CopyFrom(vital_signs_to_proto(latest))
        if assessment.result is not None:
            response.latest_news2.CopyFrom(news2_to_proto(assessment, latest.observation.spo2_scale))
        else:
            response.latest_not_scored_reason = to_enum(summary_pb2.NotScoredReason, assessment.not_scored)
        response.news2_trend.CopyFrom(trend_to_proto(trend))
    return response


def vital_signs_list_to_proto(
    assessed: list[tuple[Measurement, Assessment]], trend: Trend, truncated: bool
) -> summary_pb2.ListVitalSignsResponse:
    """The newest measurements that fit in one answer; truncated when any were left out."""
    records, cut = newest_fitting([record_to_proto(m, a) for m, a in assessed])
    return summary_pb2.ListVitalSignsResponse(
        measurements=records,
        trend=trend_to_proto(trend),
        truncated=truncated or cut,
    )


def recorded_to_proto(recorded: Recorded) -> summary_pb2.RecordVitalSignsResponse:
    """RecordVitalSigns' answer: the measurement as stored with its NEWS2, and what it did to the
    patient's escalation (the episode, RCP Chart 4's response, what the recorder is told)."""
    stored, escalated = recorded.measurement, recorded.escalated
    evaluation = escalated.evaluation
    return summary_pb2.RecordVitalSignsResponse(
        measurement_id=stored.measurement_id,
        vital_signs=vital_signs_to_proto(stored),
        news2=news2_to_proto(recorded.assessment, stored.observation.spo2_scale),
        created=recorded.created,
        escalation_id=escalated.episode_id,
        escalation_level=to_enum(summary_pb2.EscalationLevel, escalated.level),
        no_escalation_reason=to_enum(summary_pb2.NoEscalationReason, evaluation.no_escalation),
        clinical_response=summary_pb2.RecorderText(
            text_nb="\n".join(t.nb for t in evaluation.response), text_en="\n".join(t.en for t in evaluation.response)
        ),
        recorder_notices=[recorder_notice_to_proto(tell, escalated.at) for tell in escalated.told],
    )


# -- escalations (escalation.proto) ------------------------------------------------------

_ADDED_BECAUSE = {
    AddedBecause.OPENED: E.ESCALATION_NOTICE_REASON_OPENED,
    AddedBecause.UPGRADE: E.ESCALATION_NOTICE_REASON_UPGRADED,
    AddedBecause.TIMEOUT: E.ESCALATION_NOTICE_REASON_TIMEOUT,
    AddedBecause.DECLINE: E.ESCALATION_NOTICE_REASON_PASSED_ON,
}
# What a caller may choose to resolve with: not the escalation's own automatic outcomes.
_CHOSEN_OUTCOMES = frozenset(o for o in Outcome if not o.name.startswith("AUTO_"))


def _optional_timestamp(value: datetime | None) -> Any:
    return None if value is None else to_timestamp(value)


def _performer(person: Performer | None) -> summary_pb2.Performer | None:
    return None if person is None else summary_pb2.Performer(hpr_number=person.hpr_number, name=person.name)


def recorder_notice_to_proto(tell: TellRecorder, at: datetime) -> summary_pb2.RecorderNotice:
    return summary_pb2.RecorderNotice(
        kind=to_enum(summary_pb2.RecorderNoticeKind, tell.message),
        text=summary_pb2.RecorderText(text_nb=tell.text.nb, text_en=tell.text.en),
        phone_numbers=tell.phone_numbers,
        notice_time=to_timestamp(at),
    )


def _target_to_proto(t: EpisodeTarget, names: Mapping[str, str]) -> escalation_pb2.EscalationTarget:
    return escalation_pb2.EscalationTarget(
        orgnr=t.orgnr,
        name=names.get(t.orgnr, ""),
        kind=to_enum(escalation_pb2.EscalationTargetKind, t.target.kind),
        role=to_enum(escalation_pb2.EscalationRole, t.target.role),
        added_because=_ADDED_BECAUSE[t.added_because],
        add_time=to_timestamp(t.added_at),
        last_notice_time=_optional_timestamp(t.last_notified_at),
        declined=t.declined,
    )


def _event_to_proto(e: Event) -> escalation_pb2.EscalationEvent:
    return escalation_pb2.EscalationEvent(
        kind=to_enum(escalation_pb2.EscalationEventKind, e.kind),
        event_time=to_timestamp(e.at),
        level=to_enum(summary_pb2.EscalationLevel, e.level),
        orgnr=e.orgnr,
        person=_performer(e.person),
        text=e.text,
        outcome=to_enum(escalation_pb2.EscalationOutcome, e.outcome),
        reassess_time=_optional_timestamp(e.planned_for),
    )


def escalation_to_proto(view: EscalationView) -> escalation_pb2.Escalation:
    """The escalation in full; its measurements and ISBAR view when the view has them."""
    e = view.episode
    resolution = e.resolution
    isbar = view.isbar
    return escalation_pb2.Escalation(
        escalation_id=e.episode_id,
        patient_id=e.patient_id,
        level=to_enum(summary_pb2.EscalationLevel, e.level),
        state=to_enum(escalation_pb2.EscalationState, e.state),
        origin=to_enum(escalation_pb2.EscalationOrigin, e.origin),
        rules_version=e.rules_version,
        source_orgnr=e.source_orgnr,
        open_time=to_timestamp(e.opened_at),
        deadline_time=_optional_timestamp(e.deadline),
        chain_exhausted=e.chain_exhausted,
        undeliverable=e.undeliverable,
        targets=[_target_to_proto(t, view.names) for t in e.targets],
        events=[_event_to_proto(ev) for ev in e.events],
        measurements=[record_to_proto(m, a) for m, a in view.measured],
        measurements_left_out=e.measurements_left_out,
        reassess_time=_optional_timestamp(reassess_at(e)),
        outcome=to_enum(escalation_pb2.EscalationOutcome, None if resolution is None else resolution.outcome),
        recorder_notices=[recorder_notice_to_proto(n.tell, n.at) for n in view.notes],
        isbar=None
        if isbar is None
        else escalation_pb2.Isbar(
            identify=isbar.identify,
            situation=isbar.situation,
            background=isbar.background,
            assessment=isbar.assessment,
            recommendation=isbar.recommendation,
        ),
    )


def inbox_item_to_proto(item: InboxItem) -> escalation_pb2.EscalationInboxItem:
    notice = item.last_notice
    return escalation_pb2.EscalationInboxItem(
        escalation_id=item.episode_id,
        level=to_enum(summary_pb2.EscalationLevel, item.level),
        state=to_enum(escalation_pb2.EscalationState, item.state),
        role=to_enum(escalation_pb2.EscalationRole, item.role),
        open_time=to_timestamp(item.opened_at),
        deadline_time=_optional_timestamp(item.deadline),
        last_notice_time=None if notice is None else to_timestamp(notice.at),
        last_notice_reason=to_enum(escalation_pb2.EscalationNoticeReason, None if notice is None else notice.reason),
        pushed=pushed(item),
        chain_exhausted=item.chain_exhausted,
        declined=item.declined,
        reassess_time=_optional_timestamp(item.reassess_at),
        position=item.position,
    )


def box_from_proto(box: int) -> tuple[Box, dict[str, str]]:
    if box == escalation_pb2.ESCALATION_BOX_SENT:
        return Box.SENT, {}
    if box in (escalation_pb2.ESCALATION_BOX_UNSPECIFIED, escalation_pb2.ESCALATION_BOX_RECEIVED):
        return Box.RECEIVED, {}
    return Box.RECEIVED, {"box": "RECEIVED (the default) or SENT"}


def watch_from_proto(request: escalation_pb2.WatchEscalationsRequest) -> tuple[Box, dict[str, str]]:
    """The box and every problem of a watch's fields: `resume_after` outside every position a
    sequence hands out (whether it was handed out is read from the sequence afterwards);
    `pushed_only` for the sent box, where nothing is pushed to the caller."""
    box, problems = box_from_proto(request.box)
    if (problem := resume_violation(request.resume_after, MAX_POSITION)) is not None:
        problems = problems | {"resume_after": problem}
    if request.pushed_only and box is Box.SENT:
        problems = problems | {"pushed_only": "only for the received box: nothing is pushed to the sender"}
    return box, problems


def pushed(item: InboxItem) -> bool:
    """Whether the caller's organisation was last told of the escalation by a push (not REVIEW's listing)."""
    return item.last_notice is not None and item.last_notice.push


def level_from_proto(level: int) -> tuple[Level | None, dict[str, str]]:
    chosen = from_enum(summary_pb2.EscalationLevel, level, Level)
    if chosen is None:
        return None, {"level": "required: REVIEW, URGENT_REVIEW, URGENT or EMERGENCY"}
    return chosen, {}


def outcome_from_proto(outcome: int) -> tuple[Outcome | None, dict[str, str]]:
    chosen = from_enum(escalation_pb2.EscalationOutcome, outcome, Outcome)
    if chosen is None:
        return None, {"outcome": "required: how the escalation ended"}
    if chosen not in _CHOSEN_OUTCOMES:
        return None, {"outcome": "is set only by the escalation itself"}
    return chosen, {}


def reassess_time_from_proto(request: escalation_pb2.PlanReassessmentRequest) -> tuple[datetime | None, dict[str, str]]:
    problems: dict[str, str] = {}
    at = read_timestamp(request, "reassess_time", problems)
    if not request.HasField("reassess_time"):
        problems["reassess_time"] = "required"
    return at, problems


_ESCALATION_ID = TextField(64, required=True)
_ENROLMENT_ID = TextField(64, required=True)
_TEAM_NAME = TextField(MAX_NAME, required=True)


def escalation_id_violations(value: str) -> dict[str, str]:
    return text_violations({"escalation_id": (value, _ESCALATION_ID)})


# -- the changes of an escalation: every problem of the request's own fields at once ----------
# (the acting person's are the api's, from the assertion; the core checks them all again).

_NOTE, _REASON = escalation_episodes.NOTE, escalation_episodes.REASON
_REQUIRED_NOTE = replace(_NOTE, required=True)


def change_violations(request: Any, **texts: tuple[str, TextField]) -> dict[str, str]:
    """The problems of a change's `escalation_id` and `request_id` and of its `texts`."""
    return text_violations(
        {
            "escalation_id": (request.escalation_id, _ESCALATION_ID),
            "request_id": (request.request_id, REQUEST_ID),
            **texts,
        }
    )


def decline_violations(request: escalation_pb2.DeclineEscalationRequest) -> dict[str, str]:
    return change_violations(request, reason=(request.reason, _REASON))


def reassessment_from_proto(
    request: escalation_pb2.PlanReassessmentRequest,
) -> tuple[datetime | None, dict[str, str]]:
    """The planned time (None when missing or bad) and every problem of the request's fields."""
    at, problems = reassess_time_from_proto(request)
    return at, change_violations(request, note=(request.note, _NOTE)) | problems


def resolution_from_proto(request: escalation_pb2.ResolveEscalationRequest) -> tuple[Outcome | None, dict[str, str]]:
    """The outcome (None when missing or automatic) and every problem of the request's fields
    (the note is required for OTHER)."""
    outcome, problems = outcome_from_proto(request.outcome)
    note = replace(_NOTE, required=outcome is Outcome.OTHER)
    return outcome, change_violations(request, note=(request.note, note)) | problems


def concern_from_proto(request: escalation_pb2.RaiseConcernRequest) -> tuple[Level | None, dict[str, str]]:
    """The concern's level (None when missing) and every problem of its fields but the patient's."""
    level, problems = level_from_proto(request.level)
    return level, problems | text_violations(
        {"note": (request.note, _REQUIRED_NOTE), "request_id": (request.request_id, REQUEST_ID)}
    )


# -- follow-up enrolments ------------------------------------------------------------------


def opening_hours_from_proto(
    request: escalation_pb2.EnrolFollowUpRequest, now: datetime
) -> tuple[OpeningHours | None, dict[str, str]]:
    """The request's opening hours as the core's (weekday 1-7 on the wire, 0-6 in the core),
    refused as the core refuses them: every problem is one violation of `opening_hours`. Hours
    that give too little open time from `now` on (every day closed) are refused too."""
    if not request.HasField("opening_hours"):
        return None, {"opening_hours": "required: when the team is open"}
    given = request.opening_hours
    # Counted before anything is built: a long list is refused without reading it.
    if len(given.intervals) > MAX_OPENING_INTERVALS or len(given.closed_dates) > MAX_CLOSED_DAYS:
        return None, {"opening_hours": f"at most {MAX_OPENING_INTERVALS} intervals and {MAX_CLOSED_DAYS} closed days"}
    try:
        intervals = []
        for i in given.intervals:
            if not 1 <= i.weekday <= 7:
                raise ValueError("weekday must be 1 (Monday) to 7 (Sunday)")
            intervals.append(OpeningInterval(i.weekday - 1, i.start_minute, i.end_minute))
        closed = []
        for day in given.closed_dates:
            try:
                closed.append(parse_date(day))
            except ValueError:
                raise ValueError("a closed date is not a calendar date") from None
        hours = OpeningHours(tuple(intervals), frozenset(closed))
        hours.open_time_after(now, timedelta(hours=MAX_ACKNOWLEDGE_WITHIN_HOURS))
    except ValueError as exc:
        return None, {"opening_hours": str(exc)}
    return hours, {}


def enrolment_violations(request: escalation_pb2.EnrolFollowUpRequest) -> dict[str, str]:
    return text_violations(
        {"request_id": (request.request_id, REQUEST_ID), "team_name": (request.team_name, _TEAM_NAME)}
    )


def end_follow_up_violations(request: escalation_pb2.EndFollowUpRequest) -> dict[str, str]:
    return text_violations(
        {"enrolment_id": (request.enrolment_id, _ENROLMENT_ID), "request_id": (request.request_id, REQUEST_ID)}
    )


def _opening_hours_to_proto(hours: OpeningHours) -> escalation_pb2.OpeningHours:
    return escalation_pb2.OpeningHours(
        intervals=[
            escalation_pb2.OpeningInterval(weekday=i.weekday + 1, start_minute=i.start, end_minute=i.end)
            for i in hours.intervals
        ],
        closed_dates=[C.Date(year=d.year, month=d.month, day=d.day) for d in sorted(hours.closed_days)],
    )


def enrolment_to_proto(stored: Enrolment) -> escalation_pb2.FollowUpEnrolment:
    e = stored.enrolment
    ended_by = None if stored.ended_by_hpr is None else Performer(stored.ended_by_hpr, stored.ended_by_name or "")
    return escalation_pb2.FollowUpEnrolment(
        enrolment_id=stored.enrolment_id,
        patient_id=stored.patient_id,
        team_orgnr=e.team_orgnr,
        team_name=stored.team_name,
        opening_hours=_opening_hours_to_proto(e.hours),
        start_time=to_timestamp(e.started_at),
        end_time=_optional_timestamp(e.ended_at),
        enrolled_by=_performer(Performer(stored.enrolled_by_hpr, stored.enrolled_by_name)),
        ended_by=_performer(ended_by),
    )


def get_escalation_response(view: EscalationView, now: datetime) -> escalation_pb2.GetEscalationResponse:
    return escalation_pb2.GetEscalationResponse(escalation=escalation_to_proto(view), server_time=to_timestamp(now))


def raise_concern_response(
    view: EscalationView, told: tuple[RecorderNoteView, ...]
) -> escalation_pb2.RaiseConcernResponse:
    """The escalation by its id, level and state only: a concern is decided as a write of vital
    signs, which a restriction does not stop, so its answer carries no patient data, no other
    organisation's part and no history (GetEscalation opens it, decided as a read)."""
    e = view.episode
    return escalation_pb2.RaiseConcernResponse(
        escalation=escalation_pb2.Escalation(
            escalation_id=e.episode_id,
            level=to_enum(summary_pb2.EscalationLevel, e.level),
            state=to_enum(escalation_pb2.EscalationState, e.state),
            origin=to_enum(escalation_pb2.EscalationOrigin, e.origin),
            rules_version=e.rules_version,
            open_time=to_timestamp(e.opened_at),
            deadline_time=_optional_timestamp(e.deadline),
            chain_exhausted=e.chain_exhausted,
            undeliverable=e.undeliverable,
        ),
        recorder_notices=[recorder_notice_to_proto(n.tell, n.at) for n in told],
    )


def inbox_page(
    items: list[escalation_pb2.EscalationInboxItem], token: str, now: datetime
) -> escalation_pb2.ListEscalationsResponse:
    return escalation_pb2.ListEscalationsResponse(
        escalations=items, next_page_token=token, server_time=to_timestamp(now)
    )


def inbox_snapshot(
    position: int, items: list[InboxItem], truncated: bool, now: datetime
) -> escalation_pb2.WatchEscalationsResponse:
    return escalation_pb2.WatchEscalationsResponse(
        position=position,
        server_time=to_timestamp(now),
        snapshot=escalation_pb2.EscalationInboxSnapshot(
            escalations=[inbox_item_to_proto(i) for i in items], truncated=truncated
        ),
    )


def inbox_change(item: InboxItem, now: datetime) -> escalation_pb2.WatchEscalationsResponse:
    return escalation_pb2.WatchEscalationsResponse(
        position=item.position, server_time=to_timestamp(now), change=inbox_item_to_proto(item)
    )


def inbox_heartbeat(position: int, now: datetime) -> escalation_pb2.WatchEscalationsResponse:
    """Nothing for this watch up to `position`."""
    return escalation_pb2.WatchEscalationsResponse(position=position, server_time=to_timestamp(now))


def statistics_days(
    request: escalation_pb2.GetEscalationStatisticsRequest,
) -> tuple[date | None, date | None, dict[str, str]]:
    """The first and last day (both required, real dates, at most MAX_STATISTICS_DAYS apart)."""
    problems: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("start_date", "end_date"):
        days[name] = None
        if not request.HasField(name):
            problems[name] = "required"
            continue
        try:
            days[name] = parse_date(getattr(request, name))
        except ValueError:
            problems[name] = "not a calendar date"
    start, end = days["start_date"], days["end_date"]
    return start, end, problems | days_violations(start, end)


def _duration(value: timedelta | None) -> duration_pb2.Duration | None:
    if value is None:
        return None
    message = duration_pb2.Duration()
    message.FromTimedelta(value)
    return message


def statistics_to_proto(rows: list[DayStatistics]) -> escalation_pb2.GetEscalationStatisticsResponse:
    return escalation_pb2.GetEscalationStatisticsResponse(
        days=[
            escalation_pb2.EscalationDayStatistics(
                day=to_date(r.day),
                level=to_enum(summary_pb2.EscalationLevel, r.level),
                opened_count=r.opened,
                acknowledged_count=r.acknowledged,
                median_time_to_acknowledge=_duration(r.median_to_acknowledge),
                p90_time_to_acknowledge=_duration(r.p90_to_acknowledge),
                timed_out_count=r.timed_out,
            )
            for r in rows
        ]
    )


def escalation_signals_request(
    request: escalation_pb2.ListEscalationSignalsRequest, now: datetime
) -> tuple[frozenset[SignalKind], datetime, datetime, dict[str, str]]:
    """The kinds a ListEscalationSignals request asks for (every kind for none) and its range
    (escalation_signals.signal_range); every bad field in the problems."""
    problems: dict[str, str] = {}
    kinds = frozenset(SignalKind)
    if request.kind:
        chosen = from_enum(escalation_pb2.EscalationSignalKind, request.kind, SignalKind)
        if chosen is None:
            problems["kind"] = f"unknown value {request.kind}"
        else:
            kinds = frozenset({chosen})
    times = {name: read_timestamp(request, name, problems) for name in ("start_time", "end_time")}
    start, end, range_problems = signal_range(times["start_time"], times["end_time"], now)
    if not problems.keys() & {"start_time", "end_time"}:
        problems |= range_problems
    return kinds, start, end, problems


def escalation_signal_to_proto(s: Signal) -> escalation_pb2.EscalationSignal:
    return escalation_pb2.EscalationSignal(
        kind=to_enum(escalation_pb2.EscalationSignalKind, s.kind),
        escalation_id=s.episode_id,
        level=to_enum(summary_pb2.EscalationLevel, s.level),
        open_time=to_timestamp(s.opened_at),
        deadline_time=_optional_timestamp(s.deadline),
        event_time=to_timestamp(s.at),
        late_by=_duration(s.late_by),
        orgnr=s.orgnr,
        role=to_enum(escalation_pb2.EscalationRole, s.part),
        person=_performer(s.person),
    )
