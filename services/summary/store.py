"""Summary storage (synchronous; the api runs it off the event loop).

Writes from source systems are keyed by (source system, source record id): a retry with the
same content is answered with the stored record, a different content under the same key is a
conflict, never a silent overwrite."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Engine,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeEngine

from services.platform.db import UtcDateTime
from services.platform.norway_date import today_in_norway

from .models import MunicipalServiceRow, OrganisationRow, PatientRow, Spo2ScaleRow, VitalSignsRow
from .news2 import ACVPU, Observation, Spo2Scale
from .okt import MunicipalService
from .patients import MAX_OPEN_SERVICES, MAX_SUMMARY_SERVICES, Patient, PatientSummary, Spo2ScaleSetting, is_open
from .trend import SUMMARY_POINTS
from .vitals import Measurement, Performer

# How many of the latest measurements a summary carries (its NEWS2 trend is made of them).
RECENT_MEASUREMENTS = SUMMARY_POINTS


class UnknownPatient(LookupError):
    pass


class UnknownRecord(LookupError):
    """No record of this source system and id for this patient."""


class ConflictingRetry(Exception):
    """The source key is taken by a record with other content (or of another patient)."""


class TooManyOpenServices(Exception):
    """The patient has MAX_OPEN_SERVICES open records already; one must end before another opens."""


class ScaleChanged(Exception):
    """The patient's SpO2 scale changed between validating a measurement and storing it."""


class ScaleNotInForce(Exception):
    """A new measurement names an SpO2 scale other than the one in force."""


class SummaryStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions  # writes: ORM units of work
        bind = sessions.kw["bind"]
        assert isinstance(bind, Engine), "the sessions of a store are bound to its engine"
        self._engine: Engine = bind  # reads: the Core statements below

    @property
    def sessions(self) -> sessionmaker:
        """The store's sessions, for the other stores of the same database (escalations, responsibility)."""
        return self._sessions

    # -- reads (Core statements built once, below: one round trip each) ----------------

    def get_patient(self, patient_id: str) -> Patient:
        with self._engine.connect() as connection:
            row = connection.execute(_PATIENT_READ, {"patient_id": patient_id}).first()
        if row is None:
            raise UnknownPatient(patient_id)
        return _patient_of(row._mapping)[0]

    def get_summary(self, patient_id: str, today: date | None = None) -> PatientSummary:
        """The patient, their services (newest start first: every open one, then the newest ended,
        at most MAX_SUMMARY_SERVICES), the count of active ones on `today` (Europe/Oslo; now when
        None) and their latest measurements, read in one statement (UnknownPatient when there is
        no such patient: the read is the existence check too)."""
        today = today or today_in_norway()
        with self._engine.connect() as connection:
            rows = connection.execute(_SUMMARY, {"patient_id": patient_id, "today": today}).all()
        head: dict[str, Any] | None = None
        services: list[MunicipalService] = []
        recent: list[Measurement] = []
        for row in rows:
            branch = row[0]
            if branch == _SERVICES:
                services.append(MunicipalService(**_SUMMARY_LAYOUT.values(_SERVICES, row)))
            elif branch == _MEASUREMENTS:
                recent.append(_measurement(_SUMMARY_LAYOUT.values(_MEASUREMENTS, row)))
            else:
                head = _SUMMARY_LAYOUT.values(_PATIENT, row)
        if head is None:
            raise UnknownPatient(patient_id)
        patient, setting = _patient_of(head)
        # A UNION ALL's rows come in no particular order. The statement chose the services (open
        # first, then newest start first, by id; one more than carried, to tell that there are
        # more): the same order here drops that one, then the carried are newest start first.
        carried = sorted(services, key=lambda s: s.service_id)
        carried.sort(key=lambda s: s.start_date or date.min, reverse=True)
        if len(services) > MAX_SUMMARY_SERVICES:
            carried = sorted(carried, key=lambda s: not is_open(s, today))[:MAX_SUMMARY_SERVICES]
            carried.sort(key=lambda s: s.service_id)
            carried.sort(key=lambda s: s.start_date or date.min, reverse=True)
        recent.sort(key=lambda m: (m.measured_at, int(m.measurement_id)))
        return PatientSummary(
            patient=patient,
            services=carried,
            recent=recent,
            spo2_setting=setting,
            services_truncated=len(services) > MAX_SUMMARY_SERVICES,
            active_service_count=head["active_service_count"],
        )

    def list_measurements(
        self, patient_id: str, start: datetime, end: datetime, limit: int
    ) -> tuple[Patient, list[Measurement], bool]:
        """Measurements in [start, end), oldest first; the newest `limit` when there are more
        (then the flag is True)."""
        with self._engine.connect() as connection:
            row = connection.execute(_PATIENT_READ, {"patient_id": patient_id}).first()
            if row is None:
                raise UnknownPatient(patient_id)
            rows = connection.execute(
                _MEASUREMENTS_BETWEEN, {"patient_id": patient_id, "start": start, "end": end, "limit": limit + 1}
            ).all()
        measurements = [_measurement(r._mapping) for r in reversed(rows[:limit])]
        return _patient_of(row._mapping)[0], measurements, len(rows) > limit

    def get_measurements(self, patient_id: str, measurement_ids: Sequence[str]) -> tuple[Patient, list[Measurement]]:
        """The patient and those of the measurements (by id) that are theirs, oldest first (an
        escalation lists at most 50: escalation_episodes.MAX_MEASUREMENTS_KEPT)."""
        ids = [int(i) for i in measurement_ids if i.isdigit()]
        with self._engine.connect() as connection:
            row = connection.execute(_PATIENT_READ, {"patient_id": patient_id}).first()
            if row is None:
                raise UnknownPatient(patient_id)
            rows = connection.execute(
                select(*(c for c in VitalSignsRow.__table__.c if c.name != "patient_id")).where(
                    _vitals.patient_id == patient_id, _vitals.id.in_(ids)
                )
            ).all()
        measurements = sorted(
            (_measurement(r._mapping) for r in rows), key=lambda m: (m.measured_at, int(m.measurement_id))
        )
        return _patient_of(row._mapping)[0], measurements

    def get_spo2_scale(self, patient_id: str) -> Spo2ScaleSetting:
        with self._engine.connect() as connection:
            row = connection.execute(_PATIENT_READ, {"patient_id": patient_id}).first()
        if row is None:
            raise UnknownPatient(patient_id)
        return _patient_of(row._mapping)[1]

    # -- writes from source systems ----------------------------------------------------

    def create_service(
        self,
        patient_id: str,
        record: MunicipalService,
        today: date,
    ) -> tuple[MunicipalService, bool]:
        """Stores a new record, or answers a retry with the stored one (created False). An open
        record beyond the patient's MAX_OPEN_SERVICES raises TooManyOpenServices."""
        try:
            with self._sessions.begin() as session:
                _require_patient(session, patient_id, lock=True)
                existing = _service_by_source(session, record.source_system, record.source_record_id)
                if existing is not None:
                    return _same_retry(existing, patient_id, record), False
                stored = replace(record, service_id=str(uuid.uuid4()))
                session.add(_service_row(patient_id, stored))
                if is_open(record, today):
                    _within_open_limit(session, patient_id, today)
            return stored, True
        except IntegrityError:
            # A concurrent create with the same key won the race: answer as a retry.
            with self._sessions() as session:
                existing = _service_by_source(session, record.source_system, record.source_record_id)
                if existing is None:
                    raise
                return _same_retry(existing, patient_id, record), False

    def change_service(
        self,
        patient_id: str,
        source_system: str,
        source_record_id: str,
        change: Callable[[MunicipalService], MunicipalService],
        today: date,
    ) -> MunicipalService:
        """Applies `change` to the stored record in one transaction; `change` may raise to
        refuse (nothing is written then), as does reopening an ended record beyond the patient's
        MAX_OPEN_SERVICES (TooManyOpenServices)."""
        with self._sessions.begin() as session:
            session.get(PatientRow, patient_id, with_for_update=True)  # see _require_patient
            row = session.scalars(
                select(MunicipalServiceRow)
                .where(
                    MunicipalServiceRow.source_system == source_system,
                    MunicipalServiceRow.source_record_id == source_record_id,
                )
                .with_for_update()
            ).first()
            if row is None or row.patient_id != patient_id:
                raise UnknownRecord(source_record_id)
            old = service_of_row(row)
            updated = change(old)
            _write_service(row, updated)
            if is_open(updated, today) and not is_open(old, today):
                _within_open_limit(session, patient_id, today)
            return updated

    def record_measurement(
        self, patient_id: str, measurement: Measurement, named_scale: int = 0
    ) -> tuple[Measurement, bool]:
        """Stores a measurement scored on the scale in force, or answers a retry with the stored
        one (created False). `named_scale` is the scale the request repeated (0: none): a new
        measurement's must be the one in force, a retry's the one it was stored with."""
        try:
            with self._sessions.begin() as session:
                _require_patient(session, patient_id)
                existing = _measurement_by_source(session, measurement)
                if existing is not None:
                    return _same_measurement(existing, patient_id, measurement, named_scale), False
                in_force = _spo2_setting(session, patient_id).scale
                if named_scale and named_scale != in_force:
                    raise ScaleNotInForce(patient_id)
                if in_force is not measurement.observation.spo2_scale:
                    raise ScaleChanged(patient_id)
                row = _measurement_row(patient_id, measurement)
                session.add(row)
                session.flush()
                return replace(measurement, measurement_id=str(row.id)), True
        except IntegrityError:
            with self._sessions() as session:
                existing = _measurement_by_source(session, measurement)
                if existing is None:
                    raise
                return _same_measurement(existing, patient_id, measurement, named_scale), False

    def set_spo2_scale(self, patient_id: str, scale: Spo2Scale, by: Performer, at: datetime) -> Spo2ScaleSetting:
        with self._sessions.begin() as session:
            _require_patient(session, patient_id)
            session.add(
                Spo2ScaleRow(
                    patient_id=patient_id,
                    scale=int(scale),
                    set_by_hpr=by.hpr_number,
                    set_by_name=by.name,
                    set_at=at.astimezone(UTC),
                )
            )
        return Spo2ScaleSetting(scale=scale, set_by=by, set_at=at)

    # -- seeding -----------------------------------------------------------------------

    def organisation_names(self, orgnrs: Iterable[str]) -> dict[str, str]:
        """The display names of those of `orgnrs` the organisations table holds."""
        wanted = sorted(set(orgnrs))
        if not wanted:
            return {}
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(OrganisationRow.orgnr, OrganisationRow.name).where(OrganisationRow.orgnr.in_(wanted))
            ).all()
        return {orgnr: name for orgnr, name in rows}

    def upsert_organisation_names(self, names: Mapping[str, str]) -> None:
        """Inserts or renames organisations, in one transaction (seeding; a register in production)."""
        with self._sessions.begin() as session:
            for orgnr, name in names.items():
                session.merge(OrganisationRow(orgnr=orgnr, name=name))

    def set_organisation_parents(self, parents: Mapping[str, str | None]) -> None:
        """Sets the legal entity of organisations the table holds (None for a legal entity itself),
        in one transaction (seeding; a register in production): its auditors see their signals."""
        with self._sessions.begin() as session:
            for orgnr, parent in parents.items():
                session.execute(
                    update(OrganisationRow).where(OrganisationRow.orgnr == orgnr).values(parent_orgnr=parent)
                )

    def upsert(
        self,
        patient: Patient,
        services: Sequence[MunicipalService],
        measurements: Sequence[Measurement],
        scale: Spo2ScaleSetting | None = None,
    ) -> None:
        """Inserts or replaces a patient, their services and measurements (by source key) and
        records the scale setting unless it is already in force, in one transaction (seeding)."""
        with self._sessions.begin() as session:
            session.merge(
                PatientRow(pid=patient.pid, name=patient.name, municipality_number=patient.municipality_number)
            )
            session.flush()
            for service in services:
                row = session.scalars(
                    select(MunicipalServiceRow).where(MunicipalServiceRow.service_id == service.service_id)
                ).first()
                if row is None:
                    session.add(_service_row(patient.pid, service))
                else:
                    _write_service(row, service)
            for measurement in measurements:
                row = session.scalars(
                    select(VitalSignsRow).where(
                        VitalSignsRow.source_system == measurement.source_system,
                        VitalSignsRow.source_record_id == measurement.source_record_id,
                    )
                ).first()
                if row is None:
                    session.add(_measurement_row(patient.pid, measurement))
                else:
                    _write_measurement(row, measurement)
            if scale is not None and scale.set_by is not None and not _recorded(session, patient.pid, scale):
                session.add(
                    Spo2ScaleRow(
                        patient_id=patient.pid,
                        scale=int(scale.scale),
                        set_by_hpr=scale.set_by.hpr_number,
                        set_by_name=scale.set_by.name,
                        set_at=scale.set_at,
                    )
                )


def _require_patient(session: Session, patient_id: str, *, lock: bool = False) -> PatientRow:
    """The patient's row; with `lock`, held until the transaction ends (PostgreSQL), so that
    concurrent writes for one patient count their open records one after the other."""
    row = session.get(PatientRow, patient_id, with_for_update=lock)
    if row is None:
        raise UnknownPatient(patient_id)
    return row


def _open(today: date) -> ColumnElement[bool]:
    return or_(MunicipalServiceRow.end_date.is_(None), MunicipalServiceRow.end_date >= today)


def _within_open_limit(session: Session, patient_id: str, today: date) -> None:
    """Counts after the write: it holds SQLite's write lock by then (and PostgreSQL's patient row
    lock, see _require_patient), so a concurrent write for the patient counts after this one."""
    session.flush()
    opened = session.scalar(
        select(func.count())
        .select_from(MunicipalServiceRow)
        .where(MunicipalServiceRow.patient_id == patient_id, _open(today))
    )
    if (opened or 0) > MAX_OPEN_SERVICES:
        raise TooManyOpenServices(patient_id)


def _spo2_setting(session: Session, patient_id: str) -> Spo2ScaleSetting:
    row = session.scalars(
        select(Spo2ScaleRow).where(Spo2ScaleRow.patient_id == patient_id).order_by(Spo2ScaleRow.id.desc()).limit(1)
    ).first()
    if row is None:
        return Spo2ScaleSetting()
    return Spo2ScaleSetting(
        scale=Spo2Scale(row.scale), set_by=Performer(row.set_by_hpr, row.set_by_name), set_at=row.set_at
    )


def _recorded(session: Session, patient_id: str, setting: Spo2ScaleSetting) -> bool:
    """Whether this very setting (scale, clinician, time) is in the history, in force or not:
    seeding again must not undo a clinician's later choice."""
    assert setting.set_by is not None, "only a clinician's choice is recorded; the caller checks set_by"
    return (
        session.scalars(
            select(Spo2ScaleRow.id).where(
                Spo2ScaleRow.patient_id == patient_id,
                Spo2ScaleRow.scale == int(setting.scale),
                Spo2ScaleRow.set_by_hpr == setting.set_by.hpr_number,
                Spo2ScaleRow.set_at == setting.set_at,
            )
        ).first()
        is not None
    )


def _same_retry(existing: tuple[str, MunicipalService], patient_id: str, record: MunicipalService) -> MunicipalService:
    stored_patient, stored = existing
    if stored_patient != patient_id or replace(stored, service_id="") != replace(record, service_id=""):
        raise ConflictingRetry(record.source_record_id)
    return stored


def _same_measurement(
    existing: tuple[str, Measurement], patient_id: str, measurement: Measurement, named_scale: int
) -> Measurement:
    """A retry is the same measurement; the scale is the server's, as it was when first stored
    (a retry may repeat that one)."""
    stored_patient, stored = existing
    scale = stored.observation.spo2_scale
    as_stored = replace(measurement, observation=replace(measurement.observation, spo2_scale=scale))
    if stored_patient != patient_id or named_scale not in (0, scale) or replace(stored, measurement_id="") != as_stored:
        raise ConflictingRetry(measurement.source_record_id)
    return stored


def _service_by_source(
    session: Session, source_system: str, source_record_id: str
) -> tuple[str, MunicipalService] | None:
    row = session.scalars(
        select(MunicipalServiceRow).where(
            MunicipalServiceRow.source_system == source_system,
            MunicipalServiceRow.source_record_id == source_record_id,
        )
    ).first()
    return None if row is None else (row.patient_id, service_of_row(row))


def _measurement_by_source(session: Session, measurement: Measurement) -> tuple[str, Measurement] | None:
    row = (
        session.execute(
            select(VitalSignsRow.__table__).where(
                VitalSignsRow.source_system == measurement.source_system,
                VitalSignsRow.source_record_id == measurement.source_record_id,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else (row["patient_id"], _measurement(row))


def service_of_row(row: MunicipalServiceRow) -> MunicipalService:
    """A municipal service record from its row (also read by responsibility_store)."""
    return MunicipalService(
        service_id=row.service_id,
        iplos_code=row.iplos_code,
        start_date=row.start_date,
        end_date=row.end_date,
        service_level=row.service_level,
        stay_type=row.stay_type,
        weekly_extent=row.weekly_extent,
        temporarily_ceased=row.temporarily_ceased,
        description=row.description,
        provider_orgnr=row.provider_orgnr,
        source_system=row.source_system,
        source_record_id=row.source_record_id,
    )


def _service_row(patient_id: str, service: MunicipalService) -> MunicipalServiceRow:
    row = MunicipalServiceRow(service_id=service.service_id, patient_id=patient_id)
    _write_service(row, service)
    return row


def _write_service(row: MunicipalServiceRow, service: MunicipalService) -> None:
    assert service.start_date is not None, "a stored service is validated: record_violations requires start_date"
    row.iplos_code = service.iplos_code
    row.start_date = service.start_date
    row.end_date = service.end_date
    row.service_level = service.service_level
    row.stay_type = service.stay_type
    row.weekly_extent = service.weekly_extent
    row.temporarily_ceased = service.temporarily_ceased
    row.description = service.description
    row.provider_orgnr = service.provider_orgnr
    row.source_system = service.source_system
    row.source_record_id = service.source_record_id


def _measurement_row(patient_id: str, measurement: Measurement) -> VitalSignsRow:
    row = VitalSignsRow(patient_id=patient_id)
    _write_measurement(row, measurement)
    return row


def _write_measurement(row: VitalSignsRow, measurement: Measurement) -> None:
    o, by = measurement.observation, measurement.measured_by
    row.measured_at = measurement.measured_at.astimezone(UTC)
    row.respiration_rate = o.respiration_rate
    row.spo2 = o.spo2
    row.spo2_scale = int(o.spo2_scale)
    row.on_oxygen = o.on_oxygen
    row.systolic_bp = o.systolic_bp
    row.pulse = o.pulse
    row.consciousness = o.consciousness.value
    row.temperature = o.temperature
    row.pregnant = measurement.pregnant
    row.measured_by_hpr = None if by is None else by.hpr_number
    row.measured_by_name = None if by is None else by.name
    row.source_system = measurement.source_system
    row.source_record_id = measurement.source_record_id


def _measurement(values: Mapping[Any, Any]) -> Measurement:
    """A measurement from a vital_signs row's columns by name (a Core row's mapping, or a layout's values)."""
    by_hpr = values["measured_by_hpr"]
    return Measurement(
        measured_at=values["measured_at"],
        observation=Observation(
            respiration_rate=values["respiration_rate"],
            spo2=values["spo2"],
            spo2_scale=Spo2Scale(values["spo2_scale"]),
            on_oxygen=values["on_oxygen"],
            systolic_bp=values["systolic_bp"],
            pulse=values["pulse"],
            consciousness=ACVPU(values["consciousness"]),
            temperature=values["temperature"],
        ),
        pregnant=values["pregnant"],
        measurement_id=str(values["id"]),
        measured_by=None if by_hpr is None else Performer(by_hpr, values["measured_by_name"] or ""),
        source_system=values["source_system"],
        source_record_id=values["source_record_id"],
    )


# -- the read statements ------------------------------------------------------------------
#
# Built once, at import: SQLAlchemy memoises a statement's cache key on the statement object, so
# every execution after the first finds the compiled form in the engine's cache without building
# or traversing a new statement (seven ORM queries, built anew per read, cost about 2 ms of CPU).
# Rows are mapped straight to the domain records, without ORM instances.


class _UnionLayout:
    """Rows of several shapes in one result: the branches of a UNION ALL share one row of
    typed slots. Each branch's column goes to a slot of its SQL type (the n-th String column of
    every branch to the same slot), NULL, cast to the slot's type, where a branch has fewer;
    the first column, `branch`, tells whose row it is. Cast, because PostgreSQL matches the
    branches' column types (an untyped NULL from a subquery is text). One SQL type per slot,
    because SQLAlchemy converts a compound SELECT's values by its first SELECT's column types."""

    def __init__(self, *branches: Mapping[str, ColumnElement[Any]]) -> None:
        self._slots: list[tuple[type, TypeEngine[Any]]] = []
        self._positions: list[dict[str, int]] = []
        for columns in branches:
            taken: dict[type, int] = {}
            positions: dict[str, int] = {}
            for name, column in columns.items():
                kind = type(column.type)
                nth = taken[kind] = taken.get(kind, -1) + 1
                matching = [i for i, (slot_kind, _) in enumerate(self._slots) if slot_kind is kind]
                if nth == len(matching):
                    self._slots.append((kind, column.type))
                    matching.append(len(self._slots) - 1)
                positions[name] = matching[nth] + 1  # after `branch`
            self._positions.append(positions)
        self._branches = branches
        # With `branch` (position 0) first, so that a getter returns a tuple even for one column.
        self._getters = [itemgetter(0, *positions.values()) for positions in self._positions]

    def select(self, branch: int) -> Select[Any]:
        """The branch's SELECT, its columns in the layout's slots (add its FROM and WHERE)."""
        by_slot = {self._positions[branch][name]: column for name, column in self._branches[branch].items()}
        return select(
            literal_column(str(branch), Integer()).label("branch"),
            *(
                by_slot.get(i, cast(null(), sql_type)).label(f"slot_{i}")
                for i, (_, sql_type) in enumerate(self._slots, start=1)
            ),
        )

    def values(self, branch: int, row: Row[Any]) -> dict[str, Any]:
        """A row of `branch` as {column name: value}."""
        return dict(zip(self._positions[branch], self._getters[branch](row)[1:], strict=True))


_patients, _settings = PatientRow.__table__.c, Spo2ScaleRow.__table__.c
_services, _vitals = MunicipalServiceRow.__table__.c, VitalSignsRow.__table__.c
_PATIENT_ID = bindparam("patient_id", type_=String())
_TODAY = bindparam("today", type_=Date())

# The patient with the SpO2 setting in force (the newest; NULLs without any).
_patient_with_setting = PatientRow.__table__.outerjoin(
    Spo2ScaleRow.__table__,
    _settings.id == select(func.max(_settings.id)).where(_settings.patient_id == _PATIENT_ID).scalar_subquery(),
)
_PATIENT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "pid": _patients.pid,
    "name": _patients.name,
    "municipality_number": _patients.municipality_number,
    "scale": _settings.scale,
    "set_by_hpr": _settings.set_by_hpr,
    "set_by_name": _settings.set_by_name,
    "set_at": _settings.set_at,
}
_PATIENT_READ = (
    select(*(column.label(name) for name, column in _PATIENT_COLUMNS.items()))
    .select_from(_patient_with_setting)
    .where(_patients.pid == _PATIENT_ID)
)

_open_today = or_(_services.end_date.is_(None), _services.end_date >= _TODAY)
_active_today = (
    select(func.count())
    .select_from(MunicipalServiceRow.__table__)
    .where(
        _services.patient_id == _PATIENT_ID,
        _open_today,
        _services.start_date <= _TODAY,
        _services.temporarily_ceased.is_(False),
    )
    .scalar_subquery()
)
_carried = (
    select(*(c for c in MunicipalServiceRow.__table__.c if c.name != "patient_id"))
    .where(_services.patient_id == _PATIENT_ID)
    .order_by(case((_open_today, 0), else_=1), _services.start_date.desc(), _services.service_id)
    .limit(MAX_SUMMARY_SERVICES + 1)
    .subquery("carried")
)
_recent = (
    select(*(c for c in VitalSignsRow.__table__.c if c.name != "patient_id"))
    .where(_vitals.patient_id == _PATIENT_ID)
    .order_by(_vitals.measured_at.desc(), _vitals.id.desc())
    .limit(RECENT_MEASUREMENTS)
    .subquery("recent")
)
# The summary: the patient's row (with the setting and the active count), the carried services
# (at most MAX_SUMMARY_SERVICES + 1, to tell that there are more) and the latest measurements.
_PATIENT, _SERVICES, _MEASUREMENTS = 0, 1, 2
_SUMMARY_LAYOUT = _UnionLayout(
    {**_PATIENT_COLUMNS, "active_service_count": _active_today},
    {c.name: c for c in _carried.c},
    {c.name: c for c in _recent.c},
)
_SUMMARY = union_all(
    _SUMMARY_LAYOUT.select(_PATIENT).select_from(_patient_with_setting).where(_patients.pid == _PATIENT_ID),
    _SUMMARY_LAYOUT.select(_SERVICES),
    _SUMMARY_LAYOUT.select(_MEASUREMENTS),
)
_MEASUREMENTS_BETWEEN = (
    select(*(c for c in VitalSignsRow.__table__.c if c.name != "patient_id"))
    .where(
        _vitals.patient_id == _PATIENT_ID,
        _vitals.measured_at >= bindparam("start", type_=UtcDateTime()),
        _vitals.measured_at < bindparam("end", type_=UtcDateTime()),
    )
    .order_by(_vitals.measured_at.desc(), _vitals.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)


def _patient_of(values: Mapping[Any, Any]) -> tuple[Patient, Spo2ScaleSetting]:
    """The patient and the SpO2 setting in force from a row of _PATIENT_COLUMNS."""
    if values["scale"] is None:
        setting = Spo2ScaleSetting()
    else:
        setting = Spo2ScaleSetting(
            scale=Spo2Scale(values["scale"]),
            set_by=Performer(values["set_by_hpr"], values["set_by_name"]),
            set_at=values["set_at"],
        )
    patient = Patient(
        pid=values["pid"],
        name=values["name"],
        municipality_number=values["municipality_number"],
        spo2_scale=setting.scale,
    )
    return patient, setting
