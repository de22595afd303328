"""Loads seeds/organisations.json and seeds/units.json into the capacity store (idempotent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .alert_store import AlertStore
from .alerts import Organisation
from .domain import Report, Status, Unit, UnitType, report_violations
from .store import CapacityStore


def seed(capacity: CapacityStore, alerts: AlertStore, seeds_dir: Path) -> int:
    organisations = [
        Organisation(
            orgnr=o["orgnr"],
            name=o["name"],
            parent_orgnr=o["parent_orgnr"],
            kind=o["kind"],
            municipality_number=o["municipality_number"],
            region=o["region"],
        )
        for o in json.loads((seeds_dir / "organisations.json").read_text())
    ]
    alerts.upsert_organisations(organisations)
    parents = {o.orgnr: o.parent_orgnr for o in organisations}
    units = json.loads((seeds_dir / "units.json").read_text())
    now = datetime.now(UTC)
    for unit in units:
        capacity.upsert_unit(
            Unit(
                unit_id=unit["unit_id"],
                name=unit["name"],
                unit_type=UnitType(unit["unit_type"]),
                orgnr=unit["orgnr"],
                owner_orgnr=parents[unit["orgnr"]] or unit["orgnr"],
                municipality_number=unit["municipality_number"],
                region=unit["region"],
            )
        )
        reported = capacity.reported_resource_types(unit["unit_id"])
        for resource in unit["resources"]:
            if resource["resource_type"] in reported:
                continue  # live reports win over seed values on a re-seed
            report = Report(
                unit_id=unit["unit_id"],
                resource_type=resource["resource_type"],
                total=resource["total"],
                available=resource["available"],
                occupied=resource["occupied"],
                status=Status(resource["status"]),
                note=resource.get("note", ""),
                reported_at=now,
                reported_by="seed",
            )
            if problems := report_violations(report):
                raise ValueError(f"seeds/units.json {unit['unit_id']}: {problems}")
            capacity.report(report)
    return len(organisations) + len(units)
