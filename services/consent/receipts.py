"""Consent receipts: a compact JWS (ES256, with kid) by the consent service over the canonical
content of one rule version, so a patient can later prove what they agreed to and when.

The payload is the JSON below with sorted keys, no whitespace, UTF-8; times are RFC 3339 in
UTC with microseconds; enum values by name; lists sorted. Verify with the keys from
GetReceiptKeys, then compare the payload with the Rule it came with (`verify_receipt` does
the first part offline, for `samhandling consent check-receipt`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet

from .domain import Rule

ALGORITHM = "ES256"
TYPE = "samhandling-consent-receipt+jws"
MAX_RECEIPT_CHARS = 16_000  # a receipt is well under 2 KB; a larger file is not one
MAX_KEY_SET_CHARS = 64_000


class ReceiptInvalid(ValueError):
    """A receipt that does not verify, or keys that are not a receipt key set; the message is
    one line that says which."""


def verify_receipt(compact: str, jwks: object) -> dict[str, Any]:
    """The signed rule version of a receipt whose ES256 signature verifies under a key of the
    consent service's JWK Set `jwks` (as `/api/v1/consent-receipt-keys` serves it) and whose
    header names it a consent receipt. Raises ReceiptInvalid otherwise."""
    compact = compact.strip()
    if len(compact) > MAX_RECEIPT_CHARS:
        raise ReceiptInvalid(f"not a consent receipt: more than {MAX_RECEIPT_CHARS} characters")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ReceiptInvalid('the keys are not a JWK Set (a JSON object with "keys")')
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ReceiptInvalid(f"the keys are not a JWK Set: {exc}") from None
    try:
        header = jws.extract_compact(compact.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise ReceiptInvalid("not a consent receipt: not a compact JWS") from None
    if header.get("typ") != TYPE:
        raise ReceiptInvalid(f"not a consent receipt: its type is {header.get('typ')!r}, not {TYPE!r}")
    kid = header.get("kid")
    try:
        payload = jws.deserialize_compact(compact, keys, algorithms=[ALGORITHM]).payload
    except InvalidKeyIdError:
        raise ReceiptInvalid(f"signed with the key {kid!r}, which is not among the receipt keys given") from None
    except BadSignatureError:
        raise ReceiptInvalid(
            f"the signature does not verify with the receipt key {kid!r}: "
            "the receipt was changed or signed by another key"
        ) from None
    except JoseError as exc:
        raise ReceiptInvalid(f"the signature does not verify: {exc}") from None
    try:
        content = json.loads(payload)
    except ValueError:
        content = None
    if not isinstance(content, dict) or not {"rule_id", "version", "rule_type"} <= content.keys():
        raise ReceiptInvalid("signed, but not a rule version: the payload is not a consent receipt's content")
    return content


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
