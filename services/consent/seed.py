"""Loads seeds/rules.json and seeds/representatives.json into the consent store (idempotent;
ids come from the files), and each patient's home organisation from seeds/patients.json and
seeds/organisations.json. Seeded rules are version 1, made by the seed system actor."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from services.platform.ids import person_number_violations

from .domain import (
    ActorSelector,
    DataCategory,
    PurposeOfUse,
    Representation,
    RepresentationKind,
    RuleDraft,
    RuleType,
    SelectorKind,
    rule_violations,
)
from .receipts import ReceiptSigner
from .store import ConsentStore

MAX_NAME_CHARS = 200  # representations.patient_name


def seed(store: ConsentStore, seeds_dir: Path, receipts: ReceiptSigner, *, allow_synthetic: bool) -> int:
    rules = json.loads((seeds_dir / "rules.json").read_text())
    representations = json.loads((seeds_dir / "representatives.json").read_text())
    residents = home_organisations(
        json.loads((seeds_dir / "patients.json").read_text(encoding="utf-8")),
        json.loads((seeds_dir / "organisations.json").read_text(encoding="utf-8")),
    )
    for index, (patient_id, home_orgnr) in enumerate(residents.items()):
        if problems := person_number_violations(patient_id, allow_synthetic=allow_synthetic):
            raise ValueError(f"seeds/patients.json entry {index}: {problems}")  # no person number in errors
        store.put_resident(patient_id, home_orgnr)
    for item in representations:
        rep = _representation(item)
        problems = person_number_violations(rep.patient_id, allow_synthetic=allow_synthetic)
        problems |= person_number_violations(
            rep.representative_pid, "representative_pid", allow_synthetic=allow_synthetic
        )
        if rep.patient_id == rep.representative_pid:
            problems["representative_pid"] = "a patient does not represent themselves"
        if rep.valid_until is not None and rep.valid_until <= rep.valid_from:
            problems["valid_until"] = "must be after valid_from"
        if not 1 <= len(rep.patient_name.strip()) <= MAX_NAME_CHARS:
            problems["patient_name"] = f"the patient's name, 1-{MAX_NAME_CHARS} characters"
        if problems:
            raise ValueError(f"seeds/representatives.json {rep.representation_id}: {problems}")
        store.put_representation(rep)
    for item in rules:
        draft = _draft(item)
        # Validity is checked against the seed's own creation time, not today.
        if problems := rule_violations(draft, _time(item["created_at"]), allow_synthetic=allow_synthetic):
            raise ValueError(f"seeds/rules.json {item['rule_id']}: {problems}")
        # A re-seed never re-activates a seeded rule the patient has since revoked.
        store.seed_rule(item["rule_id"], draft.content(), draft.reason, _time(item["created_at"]), receipts.sign)
    return len(rules) + len(representations) + len(residents)


def home_organisations(patients: list[dict], organisations: list[dict]) -> dict[str, str]:
    """Patient id -> the legal entity (a municipality without a parent) of the patient's
    municipality. A municipality without exactly one such entity is a seed error."""
    entities: dict[str, list[str]] = {}
    for org in organisations:
        if org["kind"] == "municipality" and org["parent_orgnr"] is None:
            entities.setdefault(org["municipality_number"], []).append(org["orgnr"])
    homes = {}
    for patient in patients:
        found = entities.get(patient["municipality_number"], [])
        if len(found) != 1:
            raise ValueError(
                f"seeds/organisations.json: municipality {patient['municipality_number']} "
                f"has {len(found)} legal entities, needs exactly one"
            )
        homes[patient["patient_id"]] = found[0]
    return homes


def _draft(item: dict) -> RuleDraft:
    chosen = [kind for kind in SelectorKind if item.get(kind.value)]
    selector = None
    if chosen:
        kind = chosen[0]
        selector = ActorSelector(kind, "" if kind is SelectorKind.ANYONE else item[kind.value])
    return RuleDraft(
        patient_id=item["patient_id"],
        rule_type=RuleType(item["rule_type"]),
        selector=selector,
        categories=[DataCategory(c) for c in item.get("data_categories") or ()],
        purposes=[PurposeOfUse(p) for p in item.get("purposes") or ()],
        valid_from=_time(item["valid_from"]) if item.get("valid_from") else None,
        valid_until=_time(item["valid_until"]) if item.get("valid_until") else None,
        reason=item.get("reason") or "",
        selector_problem="name one of hpr_number, org_number, authorization, anyone" if len(chosen) > 1 else "",
    )


def _representation(item: dict) -> Representation:
    return Representation(
        representation_id=item["representation_id"],
        patient_id=item["patient_id"],
        representative_pid=item["representative_pid"],
        kind=RepresentationKind(item["kind"]),
        valid_from=_time(item["valid_from"]),
        valid_until=_time(item["valid_until"]) if item.get("valid_until") else None,
        patient_name=item.get("patient_name", ""),
    )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
