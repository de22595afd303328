"""`samhandling consent check-receipt` offline: a receipt the consent service signed verifies with
its published key set and prints the signed rule version; a changed receipt, one signed by
another key, a file that is no receipt and keys that are no key set each fail with exit 1 and
one line that says which."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from services.cli.main import main
from services.consent.domain import RuleState
from services.consent.receipts import ReceiptSigner
from tests.fixtures.people import ESKIL as PATIENT
from tests.fixtures.samples import block_rule_version as version

KID = "test-receipts"


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    return ReceiptSigner(ECKey.generate_key("P-256", parameters={"kid": KID}, private=True))


def check(tmp_path: Path, receipt: str, keys: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    (tmp_path / "kvittering.jws").write_text(receipt + "\n")  # as downloaded, or saved by hand
    (tmp_path / "keys.json").write_text(keys)
    code = main(["consent", "check-receipt", str(tmp_path / "kvittering.jws"), "--keys", str(tmp_path / "keys.json")])
    return code, capsys.readouterr().out.splitlines()


def test_a_receipt_verifies_and_shows_the_signed_rule_version(tmp_path, capsys, signer):
    code, out = check(tmp_path, signer.sign(version()), signer.jwks_json(), capsys)
    assert code == 0
    assert out[0] == "the receipt verifies: rule r-1 version 1 (BLOCK_PERSON, ACTIVE), signed by the consent service"
    content = json.loads(out[1])
    assert content["actor"] == {"hpr_number": "990000104"} and content["patient_id"] == PATIENT


def test_a_changed_receipt_fails(tmp_path, capsys, signer):
    header, _, signature = signer.sign(version()).split(".")
    _, revoked, _ = signer.sign(version(RuleState.REVOKED)).split(".")
    code, out = check(tmp_path, f"{header}.{revoked}.{signature}", signer.jwks_json(), capsys)
    assert (code, out) == (
        1,
        [
            f"FAILED: the signature does not verify with the receipt key '{KID}': "
            "the receipt was changed or signed by another key"
        ],
    )


def test_a_receipt_signed_by_another_key_of_the_same_name_fails(tmp_path, capsys, signer):
    other = ReceiptSigner(ECKey.generate_key("P-256", parameters={"kid": KID}, private=True))
    code, out = check(tmp_path, other.sign(version()), signer.jwks_json(), capsys)
    assert code == 1 and out[0].startswith("FAILED: the signature does not verify with the receipt key")


def test_a_receipt_signed_by_a_key_not_in_the_set_fails(tmp_path, capsys, signer):
    other = ReceiptSigner(ECKey.generate_key("P-256", parameters={"kid": "another"}, private=True))
    code, out = check(tmp_path, other.sign(version()), signer.jwks_json(), capsys)
    assert (code, out) == (1, ["FAILED: signed with the key 'another', which is not among the receipt keys given"])


def test_another_kind_of_signed_object_is_not_a_receipt(tmp_path, capsys, signer):
    key = ECKey.generate_key("P-256", parameters={"kid": KID}, private=True)
    token = jws.serialize_compact({"alg": "ES256", "kid": KID, "typ": "JWT"}, b'{"sub":"x"}', key, algorithms=["ES256"])
    code, out = check(tmp_path, token, signer.jwks_json(), capsys)
    assert (code, out) == (
        1,
        ["FAILED: not a consent receipt: its type is 'JWT', not 'samhandling-consent-receipt+jws'"],
    )


@pytest.mark.parametrize("text", ["", "hello", "a.b.c", base64.b64encode(b"\xff" * 30).decode()])
def test_a_file_that_is_no_jws_fails(tmp_path, capsys, signer, text):
    code, out = check(tmp_path, text, signer.jwks_json(), capsys)
    assert (code, out) == (1, ["FAILED: not a consent receipt: not a compact JWS"])


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ("<html>", "is not JSON"),
        ('{"kty": "EC"}', 'the keys are not a JWK Set (a JSON object with "keys")'),
        ('{"keys": [{"kty": "EC"}]}', "the keys are not a JWK Set: "),
    ],
)
def test_keys_that_are_no_key_set_fail(tmp_path, capsys, signer, keys, says):
    code, out = check(tmp_path, signer.sign(version()), keys, capsys)
    assert code == 1 and len(out) == 1 and out[0].startswith("FAILED: ") and says in out[0]


def test_a_missing_or_oversized_file_fails_in_one_line(tmp_path, capsys, signer):
    (tmp_path / "keys.json").write_text(signer.jwks_json())
    code = main(["consent", "check-receipt", str(tmp_path / "missing.jws"), "--keys", str(tmp_path / "keys.json")])
    assert (code, capsys.readouterr().out) == (
        1,
        f"FAILED: cannot read the receipt file {tmp_path / 'missing.jws'}: No such file or directory\n",
    )
    code, out = check(tmp_path, "x" * 20_000, signer.jwks_json(), capsys)
    assert code == 1 and out == [f"FAILED: the receipt file {tmp_path / 'kvittering.jws'} is larger than 16000 bytes"]
