"""Loads seeds/rules.json into the consent store (idempotent; ids come from the file)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .domain import DataCategory, NewRule, RuleType, rule_violations
from .store import ConsentStore


def seed(store: ConsentStore, seeds_dir: Path, *, allow_synthetic: bool) -> int:
    rules = json.loads((seeds_dir / "rules.json").read_text())
    now = datetime.now(UTC)
    for item in rules:
        expires = item.get("expires_at")
        draft = NewRule(
            patient_id=item["patient_id"],
            rule_type=RuleType(item["rule_type"]),
            categories=[DataCategory(c) for c in item.get("data_categories") or ()],
            hpr_number=item.get("hpr_number") or "",
            org_number=item.get("org_number") or "",
            expires_at=datetime.fromisoformat(expires) if expires else None,
        )
        if problems := rule_violations(draft, now, allow_synthetic=allow_synthetic):
            raise ValueError(f"seeds/rules.json {item['rule_id']}: {problems}")
        # A re-seed never re-activates a seed rule the patient has since revoked.
        store.add_if_missing(draft.to_rule(item["rule_id"], datetime.fromisoformat(item["created_at"])))
    return len(rules)
