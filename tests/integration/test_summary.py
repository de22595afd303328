"""Summary service over real gRPC with a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import event, func, select

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.db import make_engine, make_sessions, migrate
from services.platform.errors import error_info
from services.summary.main import BACKEND
from services.summary.models import MunicipalServiceRow, VitalSignsRow
from services.summary.news2 import Observation, Risk, Spo2Scale, score_news2
from services.summary.okt import MunicipalService
from services.summary.patients import MAX_SUMMARY_SERVICES, Patient
from services.summary.store import SummaryStore, UnknownPatient
from services.summary.vitals import Measurement
from tests.fixtures import people
from tests.fixtures.samples import HOME_NURSING
from tests.support import asserted, running_backend, settings_for

GET = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
SERVICES = common_pb2.DATA_CATEGORY_MUNICIPAL_SERVICES
VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
UNKNOWN = "01818010083"  # valid synthetic (Tenor) number, not seeded
SEEDED = {p["patient_id"]: p for p in json.loads((Path(__file__).parents[2] / "seeds" / "patients.json").read_text())}
RISKS = {
    Risk.LOW: summary_pb2.CLINICAL_RISK_LOW,
    Risk.LOW_MEDIUM: summary_pb2.CLINICAL_RISK_LOW_MEDIUM,
    Risk.MEDIUM: summary_pb2.CLINICAL_RISK_MEDIUM,
    Risk.HIGH: summary_pb2.CLINICAL_RISK_HIGH,
}


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, summary=db_url)


async def _get(stub, settings, patient_id, categories=(SERVICES, VITALS), asserted_for=None):
    metadata = asserted(
        settings, "summary", GET, patient_id=asserted_for or patient_id, data_categories=tuple(categories)
    )
    return await stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=patient_id), metadata=metadata)


def _measured_at(raw: dict) -> datetime:
    return datetime.fromisoformat(raw["measured_at"]).astimezone(UTC)


async def test_summary_has_services_and_the_latest_news2(settings):
    async with running_backend("summary", settings) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        answer = await _get(stub, settings, people.ESKIL)

    assert answer.patient_id == people.ESKIL
    # Newest start first; only svc-0001 is active (svc-0002 ended, svc-0003 is on hold).
    assert [s.service_id for s in answer.municipal_services] == ["svc-0003", "svc-0001", "svc-0002"]
    assert {s.service_id for s in answer.municipal_services if s.active} == {"svc-0001"}
    assert answer.active_service_count == 1
    home_nursing = answer.municipal_services[1]
    assert (home_nursing.iplos_code, home_nursing.iplos_display) == ("15", "Helsetjenester i hjemmet")
    assert (home_nursing.start_date.year, home_nursing.start_date.month, home_nursing.start_date.day) == (2025, 6, 2)
    assert not home_nursing.HasField("end_date")
    assert home_nursing.provider_orgnr == "910000020"
    assert answer.municipal_services[2].end_date.day == 31

    measurements = SEEDED[people.ESKIL]["vital_signs"]
    latest = max(measurements, key=_measured_at)
    older = {_measured_at(m) for m in measurements} - {_measured_at(latest)}
    vitals = answer.latest_vital_signs
    returned_at = vitals.measure_time.ToDatetime(tzinfo=UTC)
    assert returned_at == _measured_at(latest) and returned_at not in older
    assert (vitals.respiration_rate, vitals.spo2, vitals.spo2_scale, vitals.on_oxygen) == (
        latest["respiration_rate"],
        latest["spo2"],
        latest["spo2_scale"],
        latest["on_oxygen"],
    )
    assert (vitals.systolic_bp, vitals.pulse, vitals.temperature_celsius) == (
        latest["systolic_bp"],
        latest["pulse"],
        latest["temperature"],
    )
    assert vitals.consciousness == summary_pb2.Consciousness.Value("CONSCIOUSNESS_" + latest["consciousness"])
    fields = ("respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse", "consciousness")
    expected = score_news2(Observation(**{f: latest[f] for f in fields}, temperature=latest["temperature"]))
    news2 = answer.latest_news2
    assert (news2.total, news2.clinical_risk, news2.red_score) == (
        expected.total,
        RISKS[expected.risk],
        expected.red_score,
    )
    assert news2.total == 6  # seeds/README.md: Eskil's latest measurement is "6 medium"


async def test_only_asserted_categories_are_returned(settings):
    async with running_backend("summary", settings) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        services_only = await _get(stub, settings, people.ESKIL, categories=(SERVICES,))
        vitals_only = await _get(stub, settings, people.ESKIL, categories=(VITALS,))
        child = await _get(stub, settings, people.FRIDA)

    assert len(services_only.municipal_services) == 3 and services_only.active_service_count == 1
    assert not services_only.HasField("latest_vital_signs")
    assert not services_only.HasField("latest_news2")
    assert list(services_only.withheld_categories) == [VITALS]  # named, without content

    assert not vitals_only.municipal_services and vitals_only.active_service_count == 0
    assert vitals_only.HasField("latest_vital_signs") and vitals_only.HasField("latest_news2")
    assert list(vitals_only.withheld_categories) == [SERVICES]
    assert not child.withheld_categories

    assert child.HasField("latest_vital_signs")
    assert not child.HasField("latest_news2")


async def test_refusals(settings):
    async with running_backend("summary", settings) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        cases = [
            # wrong check digit
            (dict(patient_id="22750884906"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
            (
                dict(patient_id=people.ESKIL, asserted_for=people.TOR),
                grpc.StatusCode.PERMISSION_DENIED,
                "ASSERTION_PATIENT_MISMATCH",
            ),
            (dict(patient_id=people.ESKIL, categories=()), grpc.StatusCode.PERMISSION_DENIED, "CATEGORY_NOT_PERMITTED"),
            (
                dict(patient_id=people.ESKIL, categories=(common_pb2.DATA_CATEGORY_CONSENT,)),
                grpc.StatusCode.PERMISSION_DENIED,
                "CATEGORY_NOT_PERMITTED",
            ),
            (dict(patient_id=UNKNOWN), grpc.StatusCode.NOT_FOUND, "PATIENT_NOT_FOUND"),
        ]
        for kwargs, code, reason in cases:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await _get(stub, settings, **kwargs)
            assert (err.value.code(), error_info(err.value)[0]) == (code, reason), kwargs
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                assert set(error_info(err.value)[1]) == {"patient_id"}


async def test_backend_refuses_calls_without_an_assertion(tmp_path):
    settings = settings_for(tmp_path)
    async with running_backend("summary", settings, seed=False) as channel:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_store_returns_the_latest_measurement_not_the_last_written(db_url):
    migrate(db_url, BACKEND.migrations)
    store = SummaryStore(make_sessions(make_engine(db_url)))
    patient = Patient(pid=UNKNOWN, name="Test Testesen", municipality_number="1804")

    def measurement(hour: int, pulse: int) -> Measurement:
        observation = Observation(
            respiration_rate=16,
            spo2=90,
            spo2_scale=2,
            on_oxygen=True,
            systolic_bp=120,
            pulse=pulse,
            consciousness="ALERT",
            temperature=37.0,
        )
        return Measurement(
            measured_at=datetime(2025, 11, 3, hour, tzinfo=UTC),
            observation=observation,
            source_system="test",
            source_record_id=f"m-{hour}",
        )

    store.upsert(patient, [], [measurement(12, 80), measurement(8, 60)])
    summary = store.get_summary(UNKNOWN)
    assert [m.observation.pulse for m in summary.recent] == [60, 80]  # oldest first
    latest = summary.latest
    assert latest is not None
    assert (latest.measured_at, latest.observation.pulse) == (datetime(2025, 11, 3, 12, tzinfo=UTC), 80)
    # Each measurement keeps the SpO2 scale it was taken with.
    assert latest.observation.spo2_scale == Spo2Scale.SCALE_2


def test_a_summary_is_read_in_one_statement_which_is_the_existence_check_too(tmp_path, db_url):
    """One round trip per read: the patient, the SpO2 setting, the active count, the services and
    the measurements come from one SELECT, and an unknown patient is found out by that same read."""
    settings = settings_for(tmp_path, summary=db_url)
    migrate(db_url, BACKEND.migrations)
    BACKEND.seed(settings)
    engine = make_engine(db_url)
    store = SummaryStore(make_sessions(engine))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        summary = store.get_summary(people.ESKIL)
        assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
        assert (summary.patient.pid, len(summary.services), len(summary.recent)) == (
            people.ESKIL,
            len(SEEDED[people.ESKIL]["municipal_services"]),
            len(SEEDED[people.ESKIL]["vital_signs"]),
        )
        statements.clear()
        with pytest.raises(UnknownPatient):
            store.get_summary(UNKNOWN)
        assert len(statements) == 1
    finally:
        engine.dispose()


def test_a_capped_summary_carries_every_open_service_then_the_newest_ended_newest_start_first(db_url):
    """The one statement reads one service more than a summary carries; which one is dropped and
    the order of the rest (newest start first, then by id) do not depend on the order of its rows."""
    migrate(db_url, BACKEND.migrations)
    engine = make_engine(db_url)
    store = SummaryStore(make_sessions(engine))
    today = date(2026, 6, 1)

    def service(n: int, start: date, end: date | None) -> MunicipalService:
        return replace(
            HOME_NURSING,
            service_id=f"s-{n:04d}",
            start_date=start,
            end_date=end,
            provider_orgnr="974600951",
            source_system="test",
            source_record_id=f"r-{n:04d}",
        )

    # Open ones started long ago (the oldest starts of all); ended ones in pairs sharing a start date,
    # one pair split by the cap (the one with the greater id is left out).
    opened = [service(n, date(2000, 1, 1 + n), None) for n in range(3)]
    ended = [
        service(n, date(2020, 1, 1) + timedelta(days=n // 2), date(2025, 1, 1))
        for n in range(3, 3 + MAX_SUMMARY_SERVICES + 3)
    ]
    try:
        store.upsert(Patient(pid=UNKNOWN, name="Test Testesen", municipality_number="1804"), opened + ended, [])
        summary = store.get_summary(UNKNOWN, today)
        newest_ended = sorted(ended, key=lambda s: (-s.start_date.toordinal(), s.service_id))
        expected = sorted(
            opened + newest_ended[: MAX_SUMMARY_SERVICES - len(opened)],
            key=lambda s: (-s.start_date.toordinal(), s.service_id),
        )
        assert [s.service_id for s in summary.services] == [s.service_id for s in expected]
        assert summary.services == expected
        assert (summary.services_truncated, summary.active_service_count) == (True, len(opened))
    finally:
        engine.dispose()


def test_seeding_twice_changes_nothing(tmp_path, db_url):
    settings = settings_for(tmp_path, summary=db_url)
    migrate(db_url, BACKEND.migrations)
    assert BACKEND.seed(settings) == len(SEEDED)
    engine = make_engine(db_url)
    store = SummaryStore(make_sessions(engine))
    before = {pid: store.get_summary(pid) for pid in SEEDED}
    assert BACKEND.seed(settings) == len(SEEDED)
    assert {pid: store.get_summary(pid) for pid in SEEDED} == before
    with engine.connect() as connection:
        services = connection.scalar(select(func.count()).select_from(MunicipalServiceRow))
        measurements = connection.scalar(select(func.count()).select_from(VitalSignsRow))
    engine.dispose()
    assert services == sum(len(p["municipal_services"]) for p in SEEDED.values())
    assert measurements == sum(len(p["vital_signs"]) for p in SEEDED.values())
