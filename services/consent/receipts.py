"""Consent receipts: a compact JWS (ES256, with kid) by the consent service over the canonical
content of one rule version, so a patient can later prove what they agreed to and when.

The payload is the JSON below with sorted keys, no whitespace, UTF-8; times are RFC 3339 in
UTC with microseconds; enum values by name; lists sorted. Verify with the keys from
GetReceiptKeys, then compare the payload with the Rule it came with.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from .domain import Rule

ALGORITHM = "ES256"
TYPE = "samhandling-consent-receipt+jws"


def receipt_content(rule: Rule) -> dict[str, Any]:
    content = rule.content
    selector = content.selector
    return {
        "rule_id": rule.rule_id,
        "version": rule.version,
        "patient_id": content.patient_id,
        "rule_type": content.rule_type.value,
        "actor": None if selector is None else {selector.kind.value: selector.value or True},
        "data_categories": sorted(c.value for c in content.categories),
        "purposes": sorted(p.value for p in content.purposes),
        "valid_from": _time(content.valid_from),
        "valid_until": _time(content.valid_until),
        "state": rule.state.value,
        "created_by": {
            "kind": rule.created_by.kind.value if rule.created_by.kind else None,
            "pid": rule.created_by.pid,
        },
        "create_time": _time(rule.create_time),
        "policy_revision": rule.policy_revision,
    }


def canonical(rule: Rule) -> bytes:
    return json.dumps(receipt_content(rule), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ReceiptSigner:
    """Signs receipts with the consent service's private key and publishes its public half."""

    def __init__(self, key: ECKey) -> None:
        if not key.kid:
            raise ValueError("the receipt key needs a kid")
        self._key, self._kid = key, key.kid

    def sign(self, rule: Rule) -> str:
        header = {"alg": ALGORITHM, "kid": self._key.kid, "typ": TYPE}
        return jws.serialize_compact(header, canonical(rule), self._key, algorithms=[ALGORITHM])

    def jwks_json(self) -> str:
        public = self._key.as_dict(private=False)
        public.update(kid=self._kid, alg=ALGORITHM, use="sig")
        return json.dumps(KeySet.import_key_set({"keys": [public]}).as_dict(private=False))
