"""Loads seeds/units.json into the capacity store (idempotent)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .domain import Report, Status, UnitType, report_violations
from .models import UnitRow
from .store import CapacityStore


def seed(store: CapacityStore, seeds_dir: Path) -> int:
    units = json.loads((seeds_dir / "units.json").read_text())
    parents = {o["orgnr"]: o["parent_orgnr"] for o in json.loads((seeds_dir / "organisations.json").read_text())}
    now = datetime.now(UTC)
    for unit in units:
        store.upsert_unit(
            UnitRow(
                unit_id=unit["unit_id"],
                name=unit["name"],
                unit_type=UnitType(unit["unit_type"]).value,
                orgnr=unit["orgnr"],
                owner_orgnr=parents[unit["orgnr"]] or unit["orgnr"],
                municipality_number=unit["municipality_number"],
                region=unit["region"],
            )
        )
        reported = {r.resource_type for r in store.get_unit(unit["unit_id"]).resources}
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
            store.report(report)
    return len(units)
