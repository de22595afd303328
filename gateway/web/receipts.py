"""Checking a consent receipt the way a patient's own software would: the compact JWS must
verify (ES256) under a key of the consent service's published JWK Set, and its payload must
say the same as the Rule version it came with (rule id, version, patient, kind, state,
categories, purposes). A receipt that fails either check is shown as not verified, never
hidden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.consent.receipts import MAX_RECEIPT_CHARS, ReceiptInvalid, verify_receipt


@dataclass(frozen=True)
class ReceiptCheck:
    verified: bool
    problem: str  # "" when verified; else "signature", "content" or "missing"


def check_receipt(rule: consent_pb2.Rule, jwks: Mapping[str, Any]) -> ReceiptCheck:
    """The receipt verified as `samhandling consent check-receipt` verifies a download
    (services/consent/receipts.py), and its signed content compared with the rule shown."""
    if not rule.receipt or len(rule.receipt) > MAX_RECEIPT_CHARS:
        return ReceiptCheck(False, "missing")
    try:
        content = verify_receipt(rule.receipt, dict(jwks))
    except ReceiptInvalid:
        return ReceiptCheck(False, "signature")
    return ReceiptCheck(True, "") if _same(content, rule) else ReceiptCheck(False, "content")


def _same(content: Any, rule: consent_pb2.Rule) -> bool:
    if not isinstance(content, dict):
        return False
    expected = {
        "rule_id": rule.rule_id,
        "version": rule.version,
        "patient_id": rule.patient_id,
        "rule_type": consent_pb2.RuleType.Name(rule.rule_type).removeprefix("RULE_TYPE_"),
        "state": consent_pb2.RuleState.Name(rule.state).removeprefix("RULE_STATE_"),
        "data_categories": sorted(
            common_pb2.DataCategory.Name(c).removeprefix("DATA_CATEGORY_") for c in rule.data_categories
        ),
        "purposes": sorted(common_pb2.PurposeOfUse.Name(p).removeprefix("PURPOSE_OF_USE_") for p in rule.purposes),
    }
    return all(content.get(key) == value for key, value in expected.items())
