"""Capacity rules, pure: what a valid report is."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


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
MAX_NOTE = 500


@dataclass(frozen=True)
class Report:
    """One unit's current capacity of one resource type."""

    unit_id: str
    resource_type: str
    total: int
    available: int
    occupied: int
    status: Status
    note: str
    reported_at: datetime
    reported_by: str


def report_violations(report: Report) -> dict[str, str]:
    """Field violations of a report; empty when it is valid."""
    problems: dict[str, str] = {}
    if not report.unit_id:
        problems["unit_id"] = "required"
    if not _RESOURCE_TYPE.fullmatch(report.resource_type):
        problems["resource_type"] = "lower_snake_case, 1-40 characters, e.g. 'bed'"
    for name in ("total", "available", "occupied"):
        if getattr(report, name) < 0:
            problems[name] = "must not be negative"
    if not problems and report.available + report.occupied > report.total:
        problems["available"] = "available + occupied must not exceed total"
    if len(report.note) > MAX_NOTE:
        problems["note"] = f"at most {MAX_NOTE} characters"
    return problems
