"""What each request of the summary service does, over the store and domain values: reads with
their NEWS2 assessments, an export cut to its size, writes from source systems. Synchronous
(the api runs each off the event loop); no proto, no gRPC, no SQL. The store's refusals become
the service's errors here (_refusals_as_errors)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncGenerator, Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import ParamSpec, TypeVar

from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError, invalid_argument
from services.platform.norway_date import today_in_norway
from services.platform.paging import resume_violation
from services.platform.wakeups import Wakeups, follow_committed
from services.platform.watch import PAGE, Heartbeat

from .escalation_episodes import Episode, Outcome, Responder, TellRecorder, Transition
from .escalation_fhir import escalation_bundle
from .escalation_inbox_store import SEQUENCE, EscalationInboxStore
from .escalation_isbar import isbar
from .escalation_routing import FollowUpEnrolment, OpeningHours, ResponsibilityFacts, route
from .escalation_rules import MEASUREMENT_AGE_LIMIT, REVIEW_WINDOW, Evaluation, Level, evaluate
from .escalation_signal_store import EscalationSignalStore
from .escalation_signals import Signal, SignalKind, signals
from .escalation_statistics import DayStatistics, day_statistics, utc_range
from .escalation_store import EscalationStore
from .escalation_views import Box, EscalationView, InboxItem, RecorderNoteView, check_visible
from .fhir import patient_bundle
from .news2 import Spo2Scale
from .okt import MunicipalService, record_violations
from .patients import MAX_OPEN_SERVICES, Patient, PatientSummary, Spo2ScaleSetting
from .responsibility import MAX_ACTIVE_ENROLMENTS, Enrolment
from .responsibility_store import (
    EndsBeforeStart,
    RequestIdReused,
    ResponsibilityStore,
    TooManyEnrolments,
    UnknownEnrolment,
)
from .store import (
    ConflictingRetry,
    ScaleChanged,
    ScaleNotInForce,
    SummaryStore,
    TooManyOpenServices,
    UnknownPatient,
    UnknownRecord,
)
from .trend import SUMMARY_POINTS, Trend, news2_trend, points_of
from .vitals import FUTURE_TOLERANCE, Assessment, Measurement, Performer, assess

MAX_LISTED = 1000
# A measurement is about 9 kB of FHIR JSON (eight resources): the newest 300 keep a Bundle under
# gRPC's default 4 MB message limit at every hop; the response says when older ones were left out.
MAX_EXPORTED = 300
MAX_BUNDLE_BYTES = 3_500_000
# The patient's measurements a new one is evaluated against: those from REVIEW_WINDOW before it
# on, the newest this many (any measured later than it come first, so lateness is always seen).
MAX_COMPARED = 200

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
Assessed = list[tuple[Measurement, Assessment]]
# Who is responsible for a patient (escalation_routing's facts): (patient, recorder's organisation, now).
FactsSource = Callable[[str, str, datetime], ResponsibilityFacts]


def _refusals_as_errors(function: Callable[P, T]) -> Callable[P, T]:
    """The use case, with the store's refusals raised as the service's errors."""

    @functools.wraps(function)
    def refusing(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except UnknownPatient:
            raise Reason.PATIENT_NOT_FOUND.error("no such patient") from None
        except UnknownRecord:
            raise Reason.SERVICE_NOT_FOUND.error(
                "no municipal service with this source_record_id from this system for this patient"
            ) from None
        except ScaleNotInForce:
            raise invalid_argument(
                {
                    "vital_signs.spo2_scale": "not the scale in force; leave it 0, only a clinician's SetSpo2Scale changes it"
                }
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
        except UnknownEnrolment:
            # The same answer for another organisation's enrolment as for an id that does not exist.
            raise Reason.ENROLMENT_NOT_FOUND.error("no such follow-up enrolment") from None
        except TooManyEnrolments:
            raise Reason.ENROLMENTS_LIMIT.error(
                f"the patient has {MAX_ACTIVE_ENROLMENTS} follow-up enrolments not ended; end one first"
            ) from None
        except EndsBeforeStart:
            raise Reason.ENROLMENT_NOT_STARTED.error("the enrolment would end before it started") from None
        except RequestIdReused:
            raise Reason.REQUEST_ID_REUSED.error(
                "the request_id was used for another enrolment or end of one by this organisation"
            ) from None

    return refusing


# -- reads -------------------------------------------------------------------------------


@_refusals_as_errors
def get_patient(store: SummaryStore, patient_id: str) -> Patient:
    return store.get_patient(patient_id)


@_refusals_as_errors
def get_summary(store: SummaryStore, patient_id: str, today: date) -> PatientSummary:
    return store.get_summary(patient_id, today)


@_refusals_as_errors
def get_summary_assessed(
    store: SummaryStore, patient_id: str, today: date, born: date, *, with_vitals: bool
) -> tuple[PatientSummary, tuple[Measurement, Assessment, Trend] | None]:
    """The summary, and with vital signs its latest measurement with NEWS2 and the trend of
    the recent ones (None without any)."""
    summary = store.get_summary(patient_id, today)
    if not with_vitals or summary.latest is None:
        return summary, None
    # Each measurement assessed once: the latest's NEWS2 and the trend come from the same.
    assessed = [(m, assess(m, born)) for m in summary.recent]
    latest, assessment = assessed[-1]
    return summary, (latest, assessment, news2_trend(points_of(assessed), SUMMARY_POINTS))


@_refusals_as_errors
def list_vital_signs(
    store: SummaryStore, patient_id: str, start: datetime, end: datetime
) -> tuple[Assessed, Trend, bool]:
    """The measurements in [start, end) with their NEWS2 (the newest MAX_LISTED; the flag says
    when there were more), and their trend."""
    patient, measurements, truncated = store.list_measurements(patient_id, start, end, MAX_LISTED)
    assessed = [(m, assess(m, patient.birth_date)) for m in measurements]
    return assessed, news2_trend(points_of(assessed)), truncated


@_refusals_as_errors
def export_bundle(
    store: SummaryStore,
    patient_id: str,
    *,
    with_services: bool,
    with_vitals: bool,
    clock: Callable[[], datetime],
) -> tuple[str, bool, bool]:
    """The patient's FHIR Bundle as JSON (the permitted categories only), whether measurements
    were left out, and whether municipal services were."""
    now = clock()  # one instant for the whole export: its date, its range and its stamp agree
    today = today_in_norway(lambda: now)
    summary = store.get_summary(patient_id, today)
    measurements, truncated = None, False
    if with_vitals:
        # Everything recorded, including times a bedside clock put slightly ahead.
        _, listed, truncated = store.list_measurements(
            patient_id,
            datetime.min.replace(tzinfo=UTC),
            now + FUTURE_TOLERANCE,
            MAX_EXPORTED,
        )
        measurements = [(m, assess(m, summary.patient.birth_date)) for m in listed]
    while True:
        bundle = patient_bundle(
            summary.patient,
            services=summary.services if with_services else None,
            measurements=measurements,
            today=today,
            generated_at=now,
            truncated=truncated,
            services_truncated=with_services and summary.services_truncated,
        )
        encoded = json.dumps(bundle, ensure_ascii=False)
        # Long names can make a measurement larger than usual: keep the newest half until it fits.
        if len(encoded.encode()) <= MAX_BUNDLE_BYTES or not measurements:
            break
        measurements, truncated = measurements[len(measurements) // 2 + 1 :], True
    return encoded, truncated, with_services and summary.services_truncated


# -- writes from source systems ----------------------------------------------------------


@_refusals_as_errors
def create_service(
    store: SummaryStore, patient_id: str, record: MunicipalService, today: date
) -> tuple[MunicipalService, bool]:
    return store.create_service(patient_id, record, today)


@_refusals_as_errors
def update_service(store: SummaryStore, patient_id: str, record: MunicipalService, today: date) -> MunicipalService:
    """Replaces the content of the record the source system keys as `record` does."""
    return store.change_service(
        patient_id,
        record.source_system,
        record.source_record_id,
        lambda old: replace(record, service_id=old.service_id),
        today,
    )


@_refusals_as_errors
def end_service(
    store: SummaryStore, patient_id: str, source_system: str, source_record_id: str, end: date, today: date
) -> MunicipalService:
    return store.change_service(
        patient_id, source_system, source_record_id, lambda old: _checked(replace(old, end_date=end)), today
    )


@_refusals_as_errors
def set_service_on_hold(
    store: SummaryStore, patient_id: str, source_system: str, source_record_id: str, on_hold: bool, today: date
) -> MunicipalService:
    return store.change_service(
        patient_id, source_system, source_record_id, lambda old: replace(old, temporarily_ceased=on_hold), today
    )


@dataclass(frozen=True, slots=True)
class Escalated:
    """What a recorded measurement did to the patient's escalation: its evaluation (with RCP Chart 4's
    response for the recorder), the episode it opened, upgraded or joined ("" when none), and what the
    recorder's organisation was told by this call (none for a retry that changed nothing)."""

    evaluation: Evaluation
    episode_id: str
    level: Level | None  # the episode's level after this measurement
    told: tuple[TellRecorder, ...]
    at: datetime  # when it was applied (and the recorder told)


@dataclass(frozen=True, slots=True)
class Recorded:
    measurement: Measurement
    assessment: Assessment
    created: bool
    escalated: Escalated


@dataclass(frozen=True, slots=True)
class Escalation:
    """The stores an escalation step uses (one database: the summary's), and how old a measurement
    may be when recorded and still escalate."""

    episodes: EscalationStore
    responsibility: ResponsibilityStore
    max_measurement_age: timedelta = MEASUREMENT_AGE_LIMIT


@_refusals_as_errors
def record_vital_signs(
    store: SummaryStore,
    escalation: Escalation,
    patient: Patient,
    measurement: Measurement,
    named_scale: int,
    *,
    recorder_orgnr: str,
    now: datetime,
) -> Recorded:
    """Stores the measurement (or answers a retry with the stored one: created False), with its NEWS2,
    then, in a transaction of its own, applies it to the patient's escalation (docs/escalation.md,
    "Recording a measurement"). A retry applies it too: a crash between the two transactions loses
    nothing, and one already applied changes nothing. When the escalation step fails the measurement
    stays stored and the caller gets UNAVAILABLE ESCALATION_NOT_APPLIED, so that the source sends it
    again."""
    stored, created = store.record_measurement(patient.pid, measurement, named_scale)
    assessment = assess(stored, patient.birth_date)
    try:
        escalated = _escalate(store, escalation, patient, stored, recorder_orgnr, now)
    except Exception as exc:
        # By type (and a database error's SQLSTATE) only: no patient, no values, no SQL parameters.
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or "-"
        log.error(
            "the escalation of a stored measurement failed (%s, SQLSTATE %s): answered ESCALATION_NOT_APPLIED",
            type(exc).__name__,
            sqlstate,
        )
        raise Reason.ESCALATION_NOT_APPLIED.error(
            f"measurement {stored.measurement_id} is stored, but its escalation could not be applied; "
            "send the same measurement again"
        ) from None
    return Recorded(stored, assessment, created, escalated)


def _escalate(
    store: SummaryStore,
    escalation: Escalation,
    patient: Patient,
    stored: Measurement,
    recorder_orgnr: str,
    now: datetime,
) -> Escalated:
    # Against the patient's other scored measurements that can matter: those within REVIEW's window
    # before it (its rise) and any measured after it (then it is late).
    _, nearby, _ = store.list_measurements(
        patient.pid,
        stored.measured_at - REVIEW_WINDOW,
        max(now, stored.measured_at) + FUTURE_TOLERANCE + timedelta(seconds=1),
        MAX_COMPARED,
    )
    others = points_of((m, assess(m, patient.birth_date)) for m in nearby if m.measurement_id != stored.measurement_id)
    evaluation = evaluate(stored, patient.birth_date, others, now=now, max_age=escalation.max_measurement_age)
    if evaluation.level is None:
        # Nothing is opened or upgraded, so no route is read (a measurement joining an open episode
        # or counting towards its resolution needs none).
        facts = ResponsibilityFacts(recorder_orgnr, patient.municipality_number)
    else:
        facts = escalation.responsibility.facts(patient.pid, recorder_orgnr=recorder_orgnr, now=now)
    transition = escalation.episodes.record_measurement(
        patient.pid,
        measurement_id=stored.measurement_id,
        measured_at=stored.measured_at,
        evaluation=evaluation,
        source_orgnr=recorder_orgnr,
        routes=route(facts, now),
        now=now,
    )
    episode = transition.episode
    # What this call told the caller's organisation (an auto-resolution tells the episode's recorder,
    # who may be another organisation).
    told = tuple(e for e in transition.effects if isinstance(e, TellRecorder) and e.orgnr == recorder_orgnr)
    if episode is None:
        return Escalated(evaluation, "", None, told, now)
    return Escalated(evaluation, episode.episode_id, episode.level, told, now)


@_refusals_as_errors
def set_spo2_scale(
    store: SummaryStore, patient_id: str, scale: Spo2Scale, by: Performer, at: datetime
) -> Spo2ScaleSetting:
    return store.set_spo2_scale(patient_id, scale, by, at)


def _checked(record: MunicipalService) -> MunicipalService:
    """A change must leave a valid record (e.g. an end date not before the start)."""
    if problems := record_violations(record):
        raise invalid_argument(problems)
    return record


# -- escalations (docs/escalation.md, "API") ----------------------------------------------


def escalation_for(escalations: EscalationStore, episode_id: str, orgnr: str) -> Episode:
    """The episode when `orgnr` is a target or its source; otherwise ESCALATION_NOT_FOUND, exactly as
    for an id that does not exist."""
    return check_visible(escalations.get(episode_id), orgnr)


@_refusals_as_errors
def escalation_view(escalations: EscalationStore, summary: SummaryStore, episode: Episode) -> EscalationView:
    """The escalation in full: its patient, the measurements it lists with their NEWS2, what the
    recorder was told and the ISBAR view."""
    patient, measurements = summary.get_measurements(
        episode.patient_id, [m.measurement_id for m in episode.measurements]
    )
    measured = tuple((m, assess(m, patient.birth_date)) for m in measurements)
    notes = tuple(RecorderNoteView(n.tell, n.created_at) for n in escalations.recorder_messages(episode.episode_id))
    names = summary.organisation_names(t.orgnr for t in episode.targets)
    return EscalationView(episode, measured, notes, isbar(episode, patient, measured), patient, names)


def changed_view(escalations: EscalationStore, summary: SummaryStore, transition: Transition) -> EscalationView:
    assert transition.episode is not None, "a change of an escalation answers the escalation"
    return escalation_view(escalations, summary, transition.episode)


def acknowledge_escalation(
    escalations: EscalationStore,
    summary: SummaryStore,
    episode_id: str,
    *,
    actor: Responder,
    request_id: str,
    now: datetime,
) -> EscalationView:
    transition = escalations.acknowledge(episode_id, actor=actor, request_id=request_id, now=now)
    return changed_view(escalations, summary, transition)


def decline_escalation(
    escalations: EscalationStore,
    summary: SummaryStore,
    episode_id: str,
    *,
    actor: Responder,
    reason: str,
    request_id: str,
    now: datetime,
) -> EscalationView:
    transition = escalations.decline(episode_id, actor=actor, reason=reason, request_id=request_id, now=now)
    return changed_view(escalations, summary, transition)


# The core's names of fields that the request names otherwise.
_REQUEST_FIELDS = {"reassess_at": "reassess_time"}


def _request_fields(function: Callable[P, T]) -> Callable[P, T]:
    """The use case, with the core's field violations named as the request names its fields."""

    @functools.wraps(function)
    def renaming(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except ServiceError as exc:
            if not exc.field_violations.keys() & _REQUEST_FIELDS.keys():
                raise
            raise invalid_argument({_REQUEST_FIELDS.get(k, k): v for k, v in exc.field_violations.items()}) from None

    return renaming


@_request_fields
def plan_reassessment(
    escalations: EscalationStore,
    summary: SummaryStore,
    episode_id: str,
    *,
    actor: Responder,
    reassess_at: datetime,
    note: str,
    request_id: str,
    now: datetime,
) -> EscalationView:
    transition = escalations.plan_reassessment(
        episode_id, actor=actor, reassess_at=reassess_at, note=note, request_id=request_id, now=now
    )
    return changed_view(escalations, summary, transition)


def resolve_escalation(
    escalations: EscalationStore,
    summary: SummaryStore,
    episode_id: str,
    *,
    actor: Responder,
    outcome: Outcome,
    note: str,
    request_id: str,
    now: datetime,
) -> EscalationView:
    transition = escalations.resolve(
        episode_id, actor=actor, outcome=outcome, note=note, request_id=request_id, now=now
    )
    return changed_view(escalations, summary, transition)


@_refusals_as_errors
def raise_concern(
    escalations: EscalationStore,
    summary: SummaryStore,
    facts: FactsSource,
    patient_id: str,
    *,
    actor: Responder,
    level: Level,
    note: str,
    request_id: str,
    now: datetime,
) -> tuple[EscalationView, tuple[RecorderNoteView, ...]]:
    """A concern raised by hand for the patient (who must exist); the escalation it opened,
    upgraded or was added to, and what this call tells the caller's organisation."""
    summary.get_patient(patient_id)
    routes = route(facts(patient_id, actor.orgnr, now), now)
    transition = escalations.raise_concern(
        patient_id, actor=actor, level=level, note=note, request_id=request_id, routes=routes, now=now
    )
    view = changed_view(escalations, summary, transition)
    # What the concern told its organisation: the notices of the concern's own instant (the same
    # when the request is repeated and changes nothing).
    raised = next(e for e in view.episode.events if e.request_id == request_id and e.orgnr == actor.orgnr)
    return view, tuple(n for n in view.notes if n.at == raised.at and n.tell.orgnr == actor.orgnr)


# -- follow-up enrolments (docs/escalation.md, "API") ---------------------------------------


@_refusals_as_errors
def enrol_follow_up(
    responsibility: ResponsibilityStore,
    patient_id: str,
    *,
    team_orgnr: str,
    team_name: str,
    hours: OpeningHours,
    by: Performer,
    request_id: str,
    now: datetime,
) -> Enrolment:
    """Enrols the patient (who must exist) in the team from `now` on; the same request again
    answers the enrolment it made."""
    return responsibility.enrol(
        patient_id,
        FollowUpEnrolment(team_orgnr, hours, now),
        enrolled_by_hpr=by.hpr_number,
        enrolled_by_name=by.name,
        team_name=team_name,
        request_id=request_id,
        now=now,
    )


@_refusals_as_errors
def end_follow_up(
    responsibility: ResponsibilityStore,
    enrolment_id: str,
    *,
    patient_id: str,
    team_orgnr: str,
    by: Performer,
    request_id: str,
    now: datetime,
) -> Enrolment:
    """Ends the team's enrolment of the patient at `now` (ENROLMENT_NOT_FOUND for another
    organisation's or another patient's, as for an unknown id)."""
    return responsibility.end_enrolment(
        enrolment_id,
        patient_id=patient_id,
        team_orgnr=team_orgnr,
        ended_at=now,
        ended_by_hpr=by.hpr_number,
        ended_by_name=by.name,
        request_id=request_id,
    )


# -- the inbox: no patient data -------------------------------------------------------------

# ListEscalations' include_resolved lists those resolved within this long.
RESOLVED_LISTED_FOR = timedelta(days=7)
# A new watch's snapshot holds at most this many open escalations (docs/limits.md).
MAX_SNAPSHOT_ESCALATIONS = 200


def list_escalations(
    inbox: EscalationInboxStore,
    orgnr: str,
    box: Box,
    *,
    include_resolved: bool,
    now: datetime,
    limit: int,
    offset: int,
) -> list[InboxItem]:
    since = now - RESOLVED_LISTED_FOR if include_resolved else None
    return inbox.inbox(orgnr, box, resolved_since=since, limit=limit, offset=offset)


def escalation_snapshot(inbox: EscalationInboxStore, orgnr: str, box: Box) -> tuple[int, list[InboxItem], bool]:
    """The position to follow from, the organisation's open escalations (at most
    MAX_SNAPSHOT_ESCALATIONS, the most urgent first) and whether there were more. The position is
    read first: a change committed in between is in the snapshot and sent again as a change,
    never lost."""
    head = inbox.head()
    items = inbox.inbox(orgnr, box, resolved_since=None, limit=MAX_SNAPSHOT_ESCALATIONS + 1)
    return head, items[:MAX_SNAPSHOT_ESCALATIONS], len(items) > MAX_SNAPSHOT_ESCALATIONS


def escalation_resume_position(inbox: EscalationInboxStore, resume_after: int) -> int:
    """`resume_after`, when the change sequence has handed it out (a watch resumes after it)."""
    if (problem := resume_violation(resume_after, inbox.head())) is not None:
        raise invalid_argument({"resume_after": problem})
    return resume_after


def escalations_changed(wakeups: Wakeups) -> None:
    """Wakes this process's inbox watchers after an escalation change committed here."""
    wakeups.committed(SEQUENCE)


def follow_escalations(
    inbox: EscalationInboxStore, wakeups: Wakeups, orgnr: str, box: Box, after: int
) -> AsyncGenerator[InboxItem | Heartbeat, None]:
    """The organisation's escalations as they change after position `after` (heartbeats between)."""
    return follow_committed(wakeups, SEQUENCE, lambda seen: inbox.changes_after(orgnr, box, seen, PAGE), after)


@_refusals_as_errors
def patient_escalations(
    escalations: EscalationStore,
    inbox: EscalationInboxStore,
    summary: SummaryStore,
    patient_id: str,
    limit: int,
    offset: int,
    shared_with: str | None = None,
) -> list[EscalationView]:
    """The patient's escalations, newest first: targets, events and what the recorder was told
    (no measurements, no ISBAR view); with `shared_with`, only those that organisation sees (a
    system or health person: an escalation not shared with it stays unknown to it).
    PATIENT_NOT_FOUND for a patient who does not exist."""
    summary.get_patient(patient_id)
    views = []
    for episode_id in inbox.patient_episode_ids(patient_id, limit, offset, shared_with=shared_with):
        notes = tuple(RecorderNoteView(n.tell, n.created_at) for n in escalations.recorder_messages(episode_id))
        views.append(EscalationView(escalations.get(episode_id), notes=notes))
    names = summary.organisation_names(t.orgnr for v in views for t in v.episode.targets)
    return [replace(v, names=names) for v in views]


def escalation_statistics(inbox: EscalationInboxStore, orgnr: str, start: date, end: date) -> list[DayStatistics]:
    """The organisation's statistics as a target, per Norwegian day of opening and level."""
    first, after = utc_range(start, end)
    return day_statistics(inbox.statistics_outlines(orgnr, first, after))


def export_escalation(escalations: EscalationStore, episode: Episode, now: datetime) -> str:
    """The escalation as a FHIR R4 Bundle (JSON): its Task and a Communication per delivery and per
    message to the recorder."""
    bundle = escalation_bundle(
        episode,
        deliveries=escalations.deliveries(episode.episode_id),
        recorder_notes=escalations.recorder_messages(episode.episode_id),
        generated_at=now,
    )
    return json.dumps(bundle, ensure_ascii=False)


def escalation_signals(
    store: EscalationSignalStore, legal_entity: str, start: datetime, end: datetime, kinds: Collection[SignalKind]
) -> tuple[list[Signal], bool]:
    """The auditors' signals of a legal entity (itself and its organisations) whose event falls in
    [start, end), newest first, and whether the range held more events than one answer reads."""
    organisations = store.organisations_of(legal_entity)
    facts = store.signal_facts(organisations, start, end, kinds)
    return signals(facts.episodes, organisations, start, end, kinds), facts.truncated
