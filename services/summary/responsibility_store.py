"""Who is responsible for a patient, in the summary database (docs/escalation.md, "Who is
responsible"): the legevakt table, hospital follow-up teams' enrolments, and `facts`, which fills
the core's `ResponsibilityFacts` for routing an escalation (the patient's municipality, active
enrolments, home-nursing services, the legevakt serving the municipality, the recorder).

Answers are domain values (responsibility.Enrolment, escalation_routing's), never rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.platform.norway_date import day_in_norway

from .escalation_routing import HOME_NURSING_IPLOS, FollowUpEnrolment, Legevakt, ResponsibilityFacts
from .models import (
    FollowUpEnrolmentRow,
    FollowUpRequestRow,
    LegevaktMunicipalityRow,
    LegevaktRow,
    MunicipalServiceRow,
    PatientRow,
)
from .patients import MAX_OPEN_SERVICES
from .responsibility import (
    MAX_ACTIVE_ENROLMENTS,
    Enrolment,
    LegevaktEntry,
    hours_of_stored,
    hours_to_json,
    legevakt_table,
)
from .store import UnknownPatient, service_of_row

__all__ = [
    "EndsBeforeStart",
    "RequestIdReused",
    "ResponsibilityStore",
    "TooManyEnrolments",
    "UnknownEnrolment",
    "new_enrolment_id",
]


class UnknownEnrolment(LookupError):
    """No enrolment with this id for this patient."""


class TooManyEnrolments(Exception):
    """The patient has MAX_ACTIVE_ENROLMENTS active enrolments already."""


class EndsBeforeStart(ValueError):
    """An enrolment would end before it started."""


class RequestIdReused(Exception):
    """The team's organisation used this request id for something else."""


# What a request id of the team's organisation did (follow_up_requests.kind).
_ENROL, _END = "ENROL", "END"


def new_enrolment_id() -> str:
    return f"fu-{uuid.uuid4().hex}"


class ResponsibilityStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    # -- the legevakt table (seeded) ----------------------------------------------------

    def replace_legevakts(self, entries: Sequence[LegevaktEntry]) -> None:
        """Makes the table exactly `entries`, in one transaction (seeding; refuses a municipality
        served twice)."""
        legevakt_table(entries)
        with self._sessions.begin() as session:
            session.execute(delete(LegevaktMunicipalityRow))
            session.execute(delete(LegevaktRow))
            session.flush()
            for entry in entries:
                session.add(LegevaktRow(orgnr=entry.orgnr, name=entry.name, phone=entry.phone))
            session.flush()
            for entry in entries:
                session.add_all(
                    LegevaktMunicipalityRow(municipality_number=n, legevakt_orgnr=entry.orgnr)
                    for n in entry.municipality_numbers
                )

    def legevakts(self) -> list[LegevaktEntry]:
        with self._sessions() as session:
            rows = session.scalars(select(LegevaktRow).order_by(LegevaktRow.orgnr)).all()
            served = session.execute(
                select(LegevaktMunicipalityRow.legevakt_orgnr, LegevaktMunicipalityRow.municipality_number).order_by(
                    LegevaktMunicipalityRow.municipality_number
                )
            ).all()
        return [
            LegevaktEntry(r.orgnr, r.name, r.phone, tuple(n for orgnr, n in served if orgnr == r.orgnr)) for r in rows
        ]

    # -- follow-up enrolments -------------------------------------------------------------

    def enrol(
        self,
        patient_id: str,
        enrolment: FollowUpEnrolment,
        *,
        enrolled_by_hpr: str,
        now: datetime,
        enrolment_id: str | None = None,
        team_name: str = "",
        enrolled_by_name: str = "",
        request_id: str | None = None,
    ) -> Enrolment:
        """Enrols a follow-up team for the patient (UnknownPatient; TooManyEnrolments when the
        patient would have more than MAX_ACTIVE_ENROLMENTS active or planned at `now`). With an
        `enrolment_id` already stored for the patient (seeding again), the stored one is replaced;
        one of another patient is UnknownEnrolment. With a `request_id` (the API's; unique within
        the team's organisation): the same request again answers the enrolment it made, as it is
        now; a request id the organisation used for anything else is RequestIdReused."""
        stored = Enrolment(
            enrolment_id or new_enrolment_id(),
            patient_id,
            enrolment,
            enrolled_by_hpr,
            team_name=team_name,
            enrolled_by_name=enrolled_by_name,
            request_id=request_id,
        )
        try:
            with self._sessions.begin() as session:
                # The patient's row, locked (PostgreSQL): enrolments of one patient are counted one after another.
                if session.get(PatientRow, patient_id, with_for_update=True) is None:
                    raise UnknownPatient(patient_id)
                if (repeat := _enrolled_before(session, stored)) is not None:
                    return repeat
                existing = session.get(FollowUpEnrolmentRow, stored.enrolment_id)
                if existing is not None and existing.patient_id != patient_id:
                    raise UnknownEnrolment(stored.enrolment_id)  # another patient's: never rewritten
                session.merge(_enrolment_row(stored))
                session.flush()
                if _not_ended(session, patient_id, now) > MAX_ACTIVE_ENROLMENTS:
                    raise TooManyEnrolments(patient_id)
                _keep_request(session, stored.enrolment.team_orgnr, request_id, _ENROL, stored.enrolment_id)
        except IntegrityError:
            # The same request id committed by another transaction in between (an enrolment of
            # another patient, or an end): the key of follow_up_requests decided.
            with self._sessions() as session:
                if request_id is None or (repeat := _enrolled_before(session, stored)) is None:
                    raise
                return repeat
        return stored

    def end_enrolment(
        self,
        enrolment_id: str,
        *,
        patient_id: str,
        team_orgnr: str,
        ended_at: datetime,
        ended_by_hpr: str,
        ended_by_name: str = "",
        request_id: str | None = None,
    ) -> Enrolment:
        """Ends the enrolment `enrolment_id` of `patient_id` at `ended_at`, for its team's
        organisation only: another organisation's or another patient's, like an unknown id, is
        UnknownEnrolment. An end before the start
        is EndsBeforeStart (refused, not moved). One already ended is answered as it is (a repeat
        changes nothing). A `request_id` the organisation used for anything else than ending this
        enrolment is RequestIdReused."""
        try:
            with self._sessions.begin() as session:
                row = session.get(FollowUpEnrolmentRow, enrolment_id, with_for_update=True)
                if row is None or row.team_orgnr != team_orgnr or row.patient_id != patient_id:
                    raise UnknownEnrolment(enrolment_id)
                ended_before = request_id is not None and _ended_before(session, team_orgnr, request_id, enrolment_id)
                stored = _enrolment(row)
                if stored.enrolment.ended_at is not None:
                    return stored
                if ended_at < stored.enrolment.started_at:
                    raise EndsBeforeStart(enrolment_id)
                ended = replace(
                    stored,
                    enrolment=replace(stored.enrolment, ended_at=ended_at),
                    ended_by_hpr=ended_by_hpr,
                    ended_by_name=ended_by_name,
                    ended_request_id=request_id,
                )
                row.ended_at, row.ended_by_hpr, row.ended_by_name = ended_at, ended_by_hpr, ended_by_name
                row.ended_request_id = request_id
                if not ended_before:
                    _keep_request(session, team_orgnr, request_id, _END, enrolment_id)
        except IntegrityError:
            # The same request id committed in between by another transaction (an enrolment, or
            # the end of another enrolment): the key of follow_up_requests decided.
            if request_id is None:
                raise
            with self._sessions() as session:
                if not _ended_before(session, team_orgnr, request_id, enrolment_id):
                    raise
            return self.enrolment(enrolment_id)  # this very end, by a racing repeat
        return ended

    def enrolment(self, enrolment_id: str) -> Enrolment:
        """The enrolment `enrolment_id` (UnknownEnrolment)."""
        with self._sessions() as session:
            row = session.get(FollowUpEnrolmentRow, enrolment_id)
            if row is None:
                raise UnknownEnrolment(enrolment_id)
            return _enrolment(row)

    def enrolments(self, patient_id: str, now: datetime) -> list[Enrolment]:
        """The patient's enrolments not ended at `now` (active or planned), earliest start first
        (at most MAX_ACTIVE_ENROLMENTS, as `enrol` allows)."""
        with self._sessions() as session:
            return [_enrolment(r) for r in session.scalars(_not_ended_query(patient_id, now)).all()]

    # -- routing facts ---------------------------------------------------------------------

    def facts(self, patient_id: str, *, recorder_orgnr: str, now: datetime) -> ResponsibilityFacts:
        """What routing reads for the patient at `now`, in one read transaction: the patient's
        municipality, their enrolments not ended, their home-nursing (IPLOS 15) services not ended
        before today, and the legevakt serving the municipality (UnknownPatient)."""
        today = day_in_norway(now)
        with self._sessions() as session:
            municipality = session.scalar(select(PatientRow.municipality_number).where(PatientRow.pid == patient_id))
            if municipality is None:
                raise UnknownPatient(patient_id)
            enrolments = session.scalars(_not_ended_query(patient_id, now)).all()
            services = session.scalars(
                select(MunicipalServiceRow)
                .where(
                    MunicipalServiceRow.patient_id == patient_id,
                    MunicipalServiceRow.iplos_code == HOME_NURSING_IPLOS,
                    or_(MunicipalServiceRow.end_date.is_(None), MunicipalServiceRow.end_date >= today),
                )
                .order_by(MunicipalServiceRow.start_date.desc(), MunicipalServiceRow.service_id)
                .limit(MAX_OPEN_SERVICES)  # open records are limited to this many per patient
            ).all()
            legevakt = session.execute(
                select(LegevaktRow.orgnr, LegevaktRow.name)
                .join(LegevaktMunicipalityRow, LegevaktMunicipalityRow.legevakt_orgnr == LegevaktRow.orgnr)
                .where(LegevaktMunicipalityRow.municipality_number == municipality)
            ).first()
            return ResponsibilityFacts(
                recorder_orgnr=recorder_orgnr,
                municipality_number=municipality,
                enrolments=tuple(_enrolment(r).enrolment for r in enrolments),
                services=tuple(service_of_row(r) for r in services),
                legevakt_by_municipality={} if legevakt is None else {municipality: Legevakt(*legevakt)},
            )


def _not_ended_query(patient_id: str, now: datetime) -> Select[tuple[FollowUpEnrolmentRow]]:
    return (
        select(FollowUpEnrolmentRow)
        .where(
            FollowUpEnrolmentRow.patient_id == patient_id,
            or_(FollowUpEnrolmentRow.ended_at.is_(None), FollowUpEnrolmentRow.ended_at > now),
        )
        .order_by(FollowUpEnrolmentRow.started_at, FollowUpEnrolmentRow.enrolment_id)
        .limit(MAX_ACTIVE_ENROLMENTS + 1)
    )


def _not_ended(session: Session, patient_id: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(FollowUpEnrolmentRow)
            .where(
                FollowUpEnrolmentRow.patient_id == patient_id,
                or_(FollowUpEnrolmentRow.ended_at.is_(None), FollowUpEnrolmentRow.ended_at > now),
            )
        )
        or 0
    )


def _by_request(session: Session, team_orgnr: str, request_id: str) -> tuple[str, FollowUpEnrolmentRow] | None:
    """What `request_id` of the team's organisation did (ENROL or END) and the enrolment it made
    or ended, if anything (one query)."""
    found = session.execute(
        select(FollowUpRequestRow.kind, FollowUpEnrolmentRow)
        .join(FollowUpEnrolmentRow, FollowUpEnrolmentRow.enrolment_id == FollowUpRequestRow.enrolment_id)
        .where(FollowUpRequestRow.team_orgnr == team_orgnr, FollowUpRequestRow.request_id == request_id)
    ).first()
    return None if found is None else (found[0], found[1])


def _keep_request(session: Session, team_orgnr: str, request_id: str | None, kind: str, enrolment_id: str) -> None:
    """Records the request id in the transaction that makes its change (none: nothing). The key
    refuses an id the organisation used before or uses in a transaction racing this one (then
    IntegrityError, at the latest when the other commits)."""
    if request_id is not None:
        session.add(
            FollowUpRequestRow(team_orgnr=team_orgnr, request_id=request_id, kind=kind, enrolment_id=enrolment_id)
        )
        session.flush()


def _same_request(stored: Enrolment, new: Enrolment) -> bool:
    def content(e: Enrolment) -> tuple[object, ...]:
        return (e.patient_id, e.team_name, e.enrolment.hours, e.enrolled_by_hpr, e.enrolled_by_name)

    return content(stored) == content(new)


def _enrolled_before(session: Session, new: Enrolment) -> Enrolment | None:
    """The enrolment `new`'s request id made before (the same content; RequestIdReused for other
    content or another use of the id), or None when the id is new (or there is none)."""
    if new.request_id is None:
        return None
    found = _by_request(session, new.enrolment.team_orgnr, new.request_id)
    if found is None:
        return None
    kind, row = found
    stored = _enrolment(row)
    if kind != _ENROL or not _same_request(stored, new):
        raise RequestIdReused(new.request_id)
    return stored


def _ended_before(session: Session, team_orgnr: str, request_id: str, enrolment_id: str) -> bool:
    """True when `request_id` ended this enrolment before, False when the organisation never used
    it; RequestIdReused when it used it for anything else."""
    found = _by_request(session, team_orgnr, request_id)
    if found is None:
        return False
    kind, row = found
    if kind != _END or row.enrolment_id != enrolment_id:
        raise RequestIdReused(request_id)
    return True


def _enrolment_row(e: Enrolment) -> FollowUpEnrolmentRow:
    return FollowUpEnrolmentRow(
        enrolment_id=e.enrolment_id,
        patient_id=e.patient_id,
        team_orgnr=e.enrolment.team_orgnr,
        opening_hours=hours_to_json(e.enrolment.hours),
        started_at=e.enrolment.started_at,
        ended_at=e.enrolment.ended_at,
        enrolled_by_hpr=e.enrolled_by_hpr,
        ended_by_hpr=e.ended_by_hpr,
        team_name=e.team_name,
        enrolled_by_name=e.enrolled_by_name,
        ended_by_name=e.ended_by_name,
        request_id=e.request_id,
        ended_request_id=e.ended_request_id,
    )


def _enrolment(row: FollowUpEnrolmentRow) -> Enrolment:
    return Enrolment(
        enrolment_id=row.enrolment_id,
        patient_id=row.patient_id,
        enrolment=FollowUpEnrolment(row.team_orgnr, hours_of_stored(row.opening_hours), row.started_at, row.ended_at),
        enrolled_by_hpr=row.enrolled_by_hpr,
        ended_by_hpr=row.ended_by_hpr,
        team_name=row.team_name,
        enrolled_by_name=row.enrolled_by_name,
        ended_by_name=row.ended_by_name,
        request_id=row.request_id,
        ended_request_id=row.ended_request_id,
    )
