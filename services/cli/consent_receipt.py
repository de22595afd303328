"""`samhandling consent check-receipt` verifies a consent receipt a patient downloaded (the
"Last ned kvittering" link of Delingsregler) offline, with the consent service's receipt keys
alone (the JWK Set of `/api/v1/consent-receipt-keys`, saved to a file): no gateway, no database."""

from __future__ import annotations

import json
from pathlib import Path

from services.consent.receipts import MAX_KEY_SET_CHARS, MAX_RECEIPT_CHARS, ReceiptInvalid, verify_receipt
from services.platform.bounded_text_file import TextFileNotText, TextFileTooLarge, TextFileUnreadable, read_bounded_text


def check_receipt(receipt: Path, keys: Path) -> int:
    """Exit 0 and the signed rule version when the receipt verifies; else 1 and one line."""
    try:
        compact = _read(receipt, "receipt", MAX_RECEIPT_CHARS)
        key_text = _read(keys, "keys", MAX_KEY_SET_CHARS)
        try:
            jwks = json.loads(key_text)
        except ValueError:
            raise ReceiptInvalid(f"the keys file {keys} is not JSON (save /api/v1/consent-receipt-keys)") from None
        content = verify_receipt(compact, jwks)
    except ReceiptInvalid as exc:
        print(f"FAILED: {exc}")
        return 1
    print(
        f"the receipt verifies: rule {content.get('rule_id')} version {content.get('version')} "
        f"({content.get('rule_type')}, {content.get('state')}), signed by the consent service"
    )
    print(json.dumps(content, sort_keys=True, ensure_ascii=False))
    return 0


def _read(path: Path, what: str, limit: int) -> str:
    try:
        return read_bounded_text(path, limit)
    except TextFileUnreadable as exc:
        raise ReceiptInvalid(f"cannot read the {what} file {path}: {exc.cause.strerror}") from None
    except TextFileTooLarge:
        raise ReceiptInvalid(f"the {what} file {path} is larger than {limit} bytes") from None
    except TextFileNotText:
        raise ReceiptInvalid(f"the {what} file {path} is not text") from None
