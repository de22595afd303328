"""Every free-text field of every write RPC (and the text filters of the reads) through the
gateway with real STS tokens, on SQLite and PostgreSQL: control, format and bidi characters,
non-NFC text and line breaks where the field allows none are refused with INVALID_ARGUMENT
naming the field, and nothing of them is stored (docs/architecture.md "Free text"). On PostgreSQL a NUL was
once an INTERNAL error whose log held the SQL parameters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa

from samhandling.capacity.v1 import capacity_pb2 as CAP
from samhandling.capacity.v1 import capacity_pb2_grpc
from samhandling.common.v1 import common_pb2 as C
from samhandling.consent.v1 import consent_pb2 as CON
from samhandling.consent.v1 import consent_pb2_grpc
from samhandling.summary.v1 import summary_pb2 as S
from samhandling.summary.v1 import summary_pb2_grpc
from services.platform.db import make_engine
from services.platform.errors import error_info
from services.platform.settings import BACKENDS
from tests.fixtures import people
from tests.fixtures.patient_calls import as_patient
from tests.fixtures.summary_inputs import home_nursing
from tests.support import Suite, running_suite

HOSPITAL_UNIT = "nlsh-bodo-akuttmottak"  # demo-hospital's
BODO_KOMMUNE = "910000012"
CONCURRENT_CALLS = 8
MARK = "Tekstmerke"  # in every refused value: found nowhere in any database afterwards

# Refused in every free-text field; the marker makes them findable in the databases.
BAD_EVERYWHERE = {
    "NUL": f"{MARK}\x00",
    "ESC": f"{MARK}\x1b[31m",
    "DEL": f"{MARK}\x7f",
    "C1 NEL": f"{MARK}\x85",
    "RLO U+202E": f"{MARK}\u202egnp.exe",
    "LRE U+202A": f"{MARK}\u202a",
    "FSI U+2068": f"{MARK}\u2068",
    "ZWSP U+200B": f"{MARK}\u200b",
    "BOM U+FEFF": f"{MARK}\ufeff",
    "line separator U+2028": f"{MARK}\u2028",
    "not NFC": f"{MARK} Sa\u030ar",  # å as a + combining ring
    "lone CR": f"{MARK}\rx",
}
# Refused only where the field allows no line breaks.
BAD_SINGLE_LINE = {"LF": f"{MARK}\nx", "CRLF": f"{MARK}\r\nx", "TAB": f"{MARK}\tx"}


@dataclass(frozen=True)
class Field:
    path: str  # the field violation's name
    multiline: bool
    call: Callable[[Suite, Written, str], Awaitable[object]]


@dataclass
class Written:
    """The ids of the good writes made first, which refused updates then name."""

    alert_id: str = ""
    rule_id: str = ""


@contextlib.asynccontextmanager
async def _suite(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Suite]:
    if request.param == "sqlite":
        async with running_suite(tmp_path) as suite:
            yield suite
        return
    server = request.getfixturevalue("postgres_server")
    names = {component: server.create_database() for component in BACKENDS}
    try:
        async with running_suite(tmp_path, database_urls={c: server.url(n) for c, n in names.items()}) as suite:
            yield suite
    finally:
        for name in names.values():
            server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def suite(request, tmp_path):
    async with _suite(request, tmp_path) as running:
        yield running


# One token per caller and suite (tokens are Bearer, valid for minutes): the refusals, not the
# logins, are what the test measures. Keyed by the suite's own directory.
_TOKENS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}


async def _auth(suite: Suite, caller: str) -> tuple[tuple[str, str], ...]:
    key = (str(suite.settings.var_dir), caller)
    if key not in _TOKENS:
        if caller == "patient":
            _TOKENS[key] = await as_patient(suite.settings, people.TOR)
        else:
            _TOKENS[key] = await suite.auth(caller)
    return _TOKENS[key]


async def _patient(suite: Suite) -> tuple[tuple[str, str], ...]:
    return await _auth(suite, "patient")


def _capacity(suite: Suite) -> capacity_pb2_grpc.CapacityServiceStub:
    return capacity_pb2_grpc.CapacityServiceStub(suite.gateway)


def _summary(suite: Suite) -> summary_pb2_grpc.PatientSummaryServiceStub:
    return summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)


def _consent(suite: Suite) -> consent_pb2_grpc.ConsentServiceStub:
    return consent_pb2_grpc.ConsentServiceStub(suite.gateway)


def _report(unit_id: str = HOSPITAL_UNIT, note: str = "") -> CAP.ReportCapacityRequest:
    return CAP.ReportCapacityRequest(
        unit_id=unit_id,
        resource_type="treatment_room",
        total=4,
        available=1,
        occupied=3,
        status=CAP.CAPACITY_STATUS_NORMAL,
        note=note,
    )


def _alert(
    message: str = "Akuttmottaket er fullt", region: str = "", request_id: str = "ok-1"
) -> CAP.RaiseAlertRequest:
    return CAP.RaiseAlertRequest(
        severity=CAP.ALERT_SEVERITY_WARNING,
        message=message,
        target_orgnrs=[BODO_KOMMUNE],
        area=CAP.AlertArea(region=region),
        expire_time=datetime.now(UTC) + timedelta(hours=6),
        request_id=request_id,
    )


def _vitals(source_record_id: str = "obs-ok", name: str = "Sigrid Sykepleiersen") -> S.RecordVitalSignsRequest:
    return S.RecordVitalSignsRequest(
        patient_id=people.TOR,
        source_record_id=source_record_id,
        vital_signs=S.VitalSigns(
            measure_time=datetime.now(UTC) - timedelta(hours=1),
            respiration_rate=16,
            spo2=97,
            on_oxygen=False,
            systolic_bp=125,
            pulse=70,
            consciousness=S.CONSCIOUSNESS_ALERT,
            temperature_celsius=37.0,
        ),
        measured_by=S.Performer(hpr_number=people.SIGRID_HPR, name=name),
    )


async def _hospital(suite: Suite, call: Callable[..., Awaitable[object]], request: object) -> object:
    return await call(request, metadata=await _auth(suite, "demo-hospital"))


async def _ehr(suite: Suite, call: Callable[..., Awaitable[object]], request: object) -> object:
    return await call(request, metadata=await _auth(suite, "demo-ehr"))


async def _rule(suite: Suite, reason: str) -> object:
    return await _consent(suite).CreateRule(
        CON.CreateRuleRequest(
            patient_id=people.TOR,
            rule_type=CON.RULE_TYPE_RESTRICTION,
            data_categories=[C.DATA_CATEGORY_VITAL_SIGNS],
            reason=reason,
        ),
        metadata=await _patient(suite),
    )


# The two writes of a whole municipal service: (method, request, the source record id of a good write).
SERVICE_WRITES = (
    ("CreateMunicipalService", S.CreateMunicipalServiceRequest, "okt-new"),
    ("UpdateMunicipalService", S.UpdateMunicipalServiceRequest, "okt-1"),
)

FIELDS = [
    # capacity: reports, alerts, acknowledgements, and the text filters of the reads
    Field("note", True, lambda s, w, v: _hospital(s, _capacity(s).ReportCapacity, _report(note=v))),
    Field("unit_id", False, lambda s, w, v: _hospital(s, _capacity(s).ReportCapacity, _report(unit_id=v))),
    Field("message", True, lambda s, w, v: _hospital(s, _capacity(s).RaiseAlert, _alert(message=v, request_id="m-1"))),
    Field(
        "area.region", False, lambda s, w, v: _hospital(s, _capacity(s).RaiseAlert, _alert(region=v, request_id="r-1"))
    ),
    Field(
        "note",
        True,
        lambda s, w, v: _ehr(
            s, _capacity(s).AcknowledgeAlert, CAP.AcknowledgeAlertRequest(alert_id=w.alert_id, note=v)
        ),
    ),
    Field(
        "alert_id",
        False,
        lambda s, w, v: _ehr(s, _capacity(s).AcknowledgeAlert, CAP.AcknowledgeAlertRequest(alert_id=v)),
    ),
    Field(
        "region",
        False,
        lambda s, w, v: _ehr(s, _capacity(s).GetCapacityOverview, CAP.GetCapacityOverviewRequest(region=v)),
    ),
    Field(
        "unit_id",
        False,
        lambda s, w, v: _hospital(
            s,
            _capacity(s).ListCapacityHistory,
            CAP.ListCapacityHistoryRequest(unit_id=v, from_time=datetime.now(UTC) - timedelta(days=1)),
        ),
    ),
    # summary: municipal services and vital signs
    *[
        Field(
            "source_record_id",
            False,
            lambda s, w, v, method=method, message=message: _ehr(
                s,
                getattr(_summary(s), method),
                message(patient_id=people.TOR, source_record_id=v, service=home_nursing()),
            ),
        )
        for method, message, _ in SERVICE_WRITES
    ],
    *[
        Field(
            f"service.{name}",
            name == "description",
            lambda s, w, v, name=name, method=method, message=message, record=record: _ehr(
                s,
                getattr(_summary(s), method),
                message(patient_id=people.TOR, source_record_id=record, service=home_nursing(**{name: v})),
            ),
        )
        for method, message, record in SERVICE_WRITES
        for name in ("service_level", "weekly_extent", "description")
    ],
    Field(
        "source_record_id",
        False,
        lambda s, w, v: _ehr(
            s,
            _summary(s).EndMunicipalService,
            S.EndMunicipalServiceRequest(
                patient_id=people.TOR, source_record_id=v, end_date=C.Date(year=2026, month=2, day=1)
            ),
        ),
    ),
    Field(
        "source_record_id",
        False,
        lambda s, w, v: _ehr(
            s,
            _summary(s).SetMunicipalServiceOnHold,
            S.SetMunicipalServiceOnHoldRequest(patient_id=people.TOR, source_record_id=v, on_hold=True),
        ),
    ),
    Field(
        "source_record_id", False, lambda s, w, v: _ehr(s, _summary(s).RecordVitalSigns, _vitals(source_record_id=v))
    ),
    Field("measured_by.name", False, lambda s, w, v: _ehr(s, _summary(s).RecordVitalSigns, _vitals(name=v))),
    # consent: the patient's own rules
    Field("reason", True, lambda s, w, v: _rule(s, v)),
    Field("reason", True, lambda s, w, v: _revoke(s, w.rule_id, v)),
    Field("rule_id", False, lambda s, w, v: _revoke(s, v, "")),
]


async def _revoke(suite: Suite, rule_id: str, reason: str) -> object:
    return await _consent(suite).RevokeRule(
        CON.RevokeRuleRequest(patient_id=people.TOR, rule_id=rule_id, reason=reason), metadata=await _patient(suite)
    )


# What a write changes; the rest (single-use claims of assertions, watch leases) changes with any call.
WRITTEN_TABLES = {
    "capacity": ("resources", "capacity_reports", "alerts", "alert_targets", "alert_events", "sequences"),
    "summary": ("municipal_services", "vital_signs", "spo2_scale_settings"),
    "consent": ("rule_versions", "policy_revisions", "notifications", "policy_changes"),
}


def _stored_text(suite: Suite) -> dict[str, list[str]]:
    """Every row of every table of every backend, as text, keyed by component.table."""
    rows: dict[str, list[str]] = {}
    for component in BACKENDS:
        engine = make_engine(suite.settings.database_url(component))
        try:
            with engine.connect() as connection:
                tables = sa.MetaData()
                tables.reflect(connection)
                for table in tables.sorted_tables:
                    rows[f"{component}.{table.name}"] = sorted(
                        repr(tuple(row)) for row in connection.execute(sa.select(table))
                    )
        finally:
            engine.dispose()
    return rows


async def test_every_free_text_field_refuses_what_is_not_plain_text_and_stores_nothing(suite):
    # What the refusals are compared against: one good write of each kind first.
    await _hospital(suite, _capacity(suite).ReportCapacity, _report(note="Én seng ledig\nfra kl. 14"))
    raised = await _hospital(suite, _capacity(suite).RaiseAlert, _alert(message="Fullt i akuttmottaket\nRing KAD"))
    written = Written(alert_id=raised.alert.alert_id)
    await _ehr(
        suite,
        _summary(suite).CreateMunicipalService,
        S.CreateMunicipalServiceRequest(patient_id=people.TOR, source_record_id="okt-1", service=home_nursing()),
    )
    await _ehr(suite, _summary(suite).RecordVitalSigns, _vitals())
    written.rule_id = (await _rule(suite, "Kun fastlegen\r\nskal se målingene")).rule.rule_id
    before = _stored_text(suite)

    # Sent several at a time (each refusal waits for its durable audit append; the appends of
    # concurrent calls share commits), so the test takes a fraction of the sequential time.
    gate = asyncio.Semaphore(CONCURRENT_CALLS)

    async def refused(field: Field, what: str, value: str) -> str | None:
        async with gate:
            try:
                await field.call(suite, written, value)
            except grpc.aio.AioRpcError as err:
                reason, violations = error_info(err)
                if (err.code(), reason) != (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "INVALID_ARGUMENT",
                ) or field.path not in violations:
                    return f"{field.path} {what}: {err.code().name} {reason} {violations}"
                return None
            return f"{field.path} {what}: accepted"

    answers = await asyncio.gather(
        *(
            refused(field, what, value)
            for field in FIELDS
            for what, value in (BAD_EVERYWHERE | ({} if field.multiline else BAD_SINGLE_LINE)).items()
        )
    )
    wrong = [answer for answer in answers if answer is not None]
    assert not wrong, "\n".join(wrong)

    after = _stored_text(suite)
    for component, tables in WRITTEN_TABLES.items():
        for table in tables:
            assert after[f"{component}.{table}"] == before[f"{component}.{table}"], f"{component}.{table}"
    assert not [(table, row) for table, rows in after.items() for row in rows if MARK in row]


async def test_line_breaks_tabs_and_any_script_are_kept_where_a_field_allows_them(suite):
    note = "Ledig:\n\t2 senger\r\nاتاق‌ها 👩\u200d⚕️ «Åse» – Ørnes"
    answer = await _hospital(suite, _capacity(suite).ReportCapacity, _report(note=note))
    (resource,) = [r for r in answer.unit.resources if r.resource_type == "treatment_room"]
    assert resource.note == note
