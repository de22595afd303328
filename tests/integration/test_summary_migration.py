"""Revision 0002 of the summary database on SQLite and PostgreSQL, over the data an earlier
`make run` left: nothing is lost, a patient's scale 2 stays (as a setting whose clinician was
not recorded), measurements keep the scale they were scored with, and seeding again finds the
old rows by their source keys instead of adding them twice."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import column, func, select, table, text

from services.platform.db import UtcDateTime, alembic_config, make_engine, make_sessions
from services.summary.main import BACKEND
from services.summary.models import MunicipalServiceRow, VitalSignsRow
from services.summary.news2 import Spo2Scale
from services.summary.store import SummaryStore
from tests.fixtures import people
from tests.support import settings_for

OLD_SIGNS = table(
    "vital_signs",
    *(
        column(n)
        for n in (
            "patient_id",
            "respiration_rate",
            "spo2",
            "on_oxygen",
            "systolic_bp",
            "pulse",
            "consciousness",
            "temperature",
        )
    ),
    column("measured_at", UtcDateTime),
)


def old_measurement(connection, pid: str, at: datetime, spo2: int = 97, on_oxygen: bool = False) -> None:
    connection.execute(
        OLD_SIGNS.insert().values(
            patient_id=pid,
            measured_at=at,
            respiration_rate=18,
            spo2=spo2,
            on_oxygen=on_oxygen,
            systolic_bp=130,
            pulse=80,
            consciousness="ALERT",
            temperature=37.2,
        )
    )


def test_data_from_before_0002_survives_and_seeding_again_adds_nothing(tmp_path, db_url):
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0001")
    engine = make_engine(db_url)
    measured = datetime(2025, 11, 1, 11, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            for pid, scale in ((people.GUNNAR, 2), (people.ESKIL, 1)):
                connection.execute(
                    text("INSERT INTO patients VALUES (:pid, 'Test', '1804', :scale)"), {"pid": pid, "scale": scale}
                )
            connection.execute(
                text(
                    "INSERT INTO municipal_services (service_id, patient_id, iplos_code, start_date, end_date,"
                    " service_level, stay_type, weekly_extent, temporarily_ceased, description, provider_orgnr)"
                    " VALUES ('svc-0012', :pid, '15', '2025-06-02', NULL, 'Sone sør', NULL, '5 timer', false, '',"
                    " '910000020')"
                ),
                {"pid": people.GUNNAR},
            )
            old_measurement(connection, people.GUNNAR, measured, spo2=90, on_oxygen=True)

        command.upgrade(config, "head")
        store = SummaryStore(make_sessions(engine))
        setting = store.get_spo2_scale(people.GUNNAR)
        assert setting.scale is Spo2Scale.SCALE_2 and setting.set_by is not None
        assert store.get_spo2_scale(people.ESKIL).scale is Spo2Scale.SCALE_1
        summary = store.get_summary(people.GUNNAR)
        assert [s.source_record_id for s in summary.services] == ["svc-0012"]
        (old,) = summary.recent
        assert old.observation.spo2_scale is Spo2Scale.SCALE_2
        assert (old.source_system, old.source_record_id) == ("seed", f"{people.GUNNAR}-2025-11-01T11:00:00Z")

        settings = settings_for(tmp_path, summary=db_url)
        BACKEND.seed(settings)
        with engine.connect() as connection:
            same_time = connection.scalar(
                select(func.count())
                .select_from(VitalSignsRow)
                .where(VitalSignsRow.patient_id == people.GUNNAR, VitalSignsRow.measured_at == measured)
            )
            services = connection.scalar(
                select(func.count())
                .select_from(MunicipalServiceRow)
                .where(MunicipalServiceRow.service_id == "svc-0012")
            )
        assert (same_time, services) == (1, 1)
        # The seeded clinician's setting is now the one in force.
        assert store.get_spo2_scale(people.GUNNAR).set_by.hpr_number == people.SIGRID_HPR

        command.downgrade(config, "0001")
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_measurements_less_than_a_second_apart_keep_distinct_keys(db_url):
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0001")
    engine = make_engine(db_url)
    first = datetime(2025, 11, 1, 11, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO patients VALUES (:pid, 'Test', '1804', 1)"), {"pid": people.ESKIL})
            for at in (first, first.replace(microsecond=100_000)):
                old_measurement(connection, people.ESKIL, at)
        command.upgrade(config, "head")
        keys = [m.source_record_id for m in SummaryStore(make_sessions(engine)).get_summary(people.ESKIL).recent]
        assert keys == [f"{people.ESKIL}-2025-11-01T11:00:00Z", f"{people.ESKIL}-2025-11-01T11:00:00.100000Z"]
    finally:
        engine.dispose()


def test_a_failing_sqlite_upgrade_leaves_the_database_as_it_was(tmp_path):
    """All revisions run in one transaction: a row the upgrade cannot carry (here one whose
    patient is missing, written while foreign keys were off) rolls every table back."""
    url = f"sqlite:///{tmp_path / 'summary.db'}"
    config = alembic_config(url, BACKEND.migrations)
    command.upgrade(config, "0001")
    raw = sqlite3.connect(tmp_path / "summary.db")
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute(
        "INSERT INTO vital_signs (patient_id, measured_at, respiration_rate, spo2, on_oxygen, systolic_bp,"
        " pulse, consciousness, temperature) VALUES ('01818010083', '2025-11-01 11:00:00.000000', 18, 97, 0,"
        " 130, 80, 'ALERT', 37.2)"
    )
    raw.commit()
    raw.close()
    with pytest.raises(RuntimeError, match="broken foreign keys"):
        command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = {r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()
    assert version == "0001"
    assert "spo2_scale_settings" not in tables and not any(t.startswith("_alembic_tmp") for t in tables)


def test_0003_rewrites_stored_zero_padded_iplos_codes_to_the_official_form_and_back(db_url):
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0002")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO patients VALUES (:pid, 'Test', '1804')"), {"pid": people.GUNNAR})
            for number, code in enumerate(("06", "02", "15", "09")):
                connection.execute(
                    text(
                        "INSERT INTO municipal_services (service_id, patient_id, iplos_code, start_date, end_date,"
                        " service_level, stay_type, weekly_extent, temporarily_ceased, description, provider_orgnr,"
                        " source_system, source_record_id)"
                        " VALUES (:sid, :pid, :code, '2025-06-02', NULL, '', NULL, '', false, '', '910000020', 'ehr', :sid)"
                    ),
                    {"sid": f"svc-{number}", "pid": people.GUNNAR, "code": code},
                )

        def stored() -> list[str]:
            with engine.connect() as connection:
                return list(
                    connection.scalars(select(MunicipalServiceRow.iplos_code).order_by(MunicipalServiceRow.service_id))
                )

        command.upgrade(config, "head")
        assert stored() == ["6", "2", "15", "9"]
        assert [
            s.iplos_code
            for s in sorted(
                SummaryStore(make_sessions(engine)).get_summary(people.GUNNAR).services, key=lambda s: s.service_id
            )
        ] == ["6", "2", "15", "9"]
        command.downgrade(config, "0002")
        assert stored() == ["06", "02", "15", "09"]
    finally:
        engine.dispose()
