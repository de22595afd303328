"""Capacity rules, pure: what a valid report is, how units are filtered, and the sums an
overview shows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from services.platform.text import TextField, text_violations


class UnitType(Enum):
    LEGEVAKT = "LEGEVAKT"
    KAD = "KAD"
    NURSING_HOME_SHORT_TERM = "NURSING_HOME_SHORT_TERM"
    EMERGENCY_DEPARTMENT = "EMERGENCY_DEPARTMENT"
    HOSPITAL_WARD = "HOSPITAL_WARD"
    AMBULANCE = "AMBULANCE"


class Status(Enum):
    NORMAL = "NORMAL"
    STRAINED = "STRAINED"
    FULL = "FULL"


_RESOURCE_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_MUNICIPALITY = re.compile(r"[0-9]{4}")
MAX_NOTE = 500
NOTE = TextField(MAX_NOTE, multiline=True)
UNIT_ID = TextField(64, required=True)
REGION = TextField(100)
# Far above any unit's beds or cars, and low enough that sums over every unit fit in an int32.
MAX_COUNT = 100_000
MAX_HISTORY_RANGE = timedelta(days=366)
MAX_HISTORY_REPORTS = 1000


@dataclass(frozen=True)
class Unit:
    """A unit with capacity; `owner_orgnr` is the legal entity whose systems report it."""

    unit_id: str
    name: str
    unit_type: UnitType
    orgnr: str
    owner_orgnr: str
    municipality_number: str
    region: str


@dataclass(frozen=True)
class Report:
    """One unit's capacity of one resource type, as reported."""

    unit_id: str
    resource_type: str
    total: int
    available: int
    occupied: int
    status: Status
    note: str
    reported_at: datetime
    reported_by: str


@dataclass(frozen=True)
class Change:
    """A stored report and its position in the one sequence of capacity changes."""

    position: int
    report: Report


@dataclass(frozen=True)
class UnitCapacity:
    """A unit and the latest report of each of its resource types, ordered by type."""

    unit: Unit
    resources: tuple[Change, ...]


@dataclass(frozen=True)
class Snapshot:
    """The matching units exactly as of `position`: every change up to it, none after."""

    position: int
    units: tuple[UnitCapacity, ...]


@dataclass(frozen=True)
class ResourceTotal:
    resource_type: str
    total: int
    available: int
    occupied: int
    unit_count: int


@dataclass(frozen=True)
class UnitFilter:
    """Empty fields match everything."""

    municipality_number: str = ""
    region: str = ""
    unit_type: UnitType | None = None


def filter_violations(unit_filter: UnitFilter) -> dict[str, str]:
    problems = text_violations({"region": (unit_filter.region, REGION)})
    if unit_filter.municipality_number and not _MUNICIPALITY.fullmatch(unit_filter.municipality_number):
        problems["municipality_number"] = "4 digits, e.g. '1804'"
    return problems


def resource_type_violations(resource_type: str) -> dict[str, str]:
    if not _RESOURCE_TYPE.fullmatch(resource_type):
        return {"resource_type": "lower_snake_case, 1-40 characters, e.g. 'bed'"}
    return {}


def report_violations(report: Report) -> dict[str, str]:
    """Field violations of a report; empty when it is valid."""
    problems: dict[str, str] = {}
    problems |= text_violations({"unit_id": (report.unit_id, UNIT_ID), "note": (report.note, NOTE)})
    problems |= resource_type_violations(report.resource_type)
    for name in ("total", "available", "occupied"):
        value = getattr(report, name)
        if value < 0:
            problems[name] = "must not be negative"
        elif value > MAX_COUNT:
            problems[name] = f"at most {MAX_COUNT}"
    if not {"total", "available", "occupied"} & problems.keys():
        if report.available > report.total:
            problems["available"] = "must not exceed total"
        elif report.available + report.occupied > report.total:
            problems["available"] = "available + occupied must not exceed total"
    if report.status is Status.FULL and "available" not in problems and report.available > 0:
        problems["status"] = "FULL means none available: report available 0, or STRAINED"
    return problems


def unit_id_violations(unit_id: str) -> dict[str, str]:
    return text_violations({"unit_id": (unit_id, UNIT_ID)})


def history_violations(from_time: datetime | None, to_time: datetime) -> dict[str, str]:
    if from_time is None:
        return {"from_time": "required"}
    if to_time <= from_time:
        return {"to_time": "must be after from_time"}
    if to_time - from_time > MAX_HISTORY_RANGE:
        return {"to_time": f"at most {MAX_HISTORY_RANGE.days} days after from_time"}
    return {}


def totals(units: Iterable[UnitCapacity]) -> list[ResourceTotal]:
    """Sums per resource type over the units, ordered by resource type."""
    sums: dict[str, list[int]] = {}
    for unit in units:
        for change in unit.resources:
            r = change.report
            acc = sums.setdefault(r.resource_type, [0, 0, 0, 0])
            acc[0] += r.total
            acc[1] += r.available
            acc[2] += r.occupied
            acc[3] += 1
    return [ResourceTotal(kind, *acc) for kind, acc in sorted(sums.items())]
