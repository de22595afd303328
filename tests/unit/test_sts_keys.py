import json
from pathlib import Path

import pytest

from services.sts.keys import KeyFileError, import_private_jwk, import_public_jwk, load_private_jwk_file, public_jwks

KEYS = Path(__file__).resolve().parents[2] / "seeds" / "keys"
NAMES = [
    "demo-ehr",
    "demo-auditor",
    "demo-ehr-baerum",
    "demo-hospital",
    "demo-legevakt",
    "samhandling-web",
    "sts-signing-1",
    "sts-signing-2",
    "gateway-assertion",
]


@pytest.mark.parametrize("name", NAMES)
def test_each_seed_key_is_a_dev_only_es256_private_jwk_named_by_its_kid(name: str) -> None:
    data = json.loads((KEYS / f"{name}.dev-only.jwk.json").read_text())

    assert data["dev_only"] is True
    assert (data["kid"], data["kty"], data["crv"], data["alg"]) == (name, "EC", "P-256", "ES256")
    assert load_private_jwk_file(KEYS / f"{name}.dev-only.jwk.json").is_private


def test_seed_keys_are_distinct() -> None:
    xs = {json.loads((KEYS / f"{name}.dev-only.jwk.json").read_text())["x"] for name in NAMES}

    assert len(xs) == len(NAMES)


def test_published_jwks_holds_public_members_only() -> None:
    key = load_private_jwk_file(KEYS / "sts-signing-1.dev-only.jwk.json")

    (published,) = public_jwks([key])["keys"]

    assert set(published) == {"kty", "crv", "x", "y", "kid", "alg", "use"}


def test_key_errors_never_echo_key_material() -> None:
    data = json.loads((KEYS / "demo-ehr.dev-only.jwk.json").read_text())
    broken = {**data, "x": "not-base64url!"}

    with pytest.raises(KeyFileError) as refused:
        import_private_jwk(broken)

    assert data["d"] not in str(refused.value)
    with pytest.raises(KeyFileError):
        import_private_jwk({k: v for k, v in data.items() if k != "d"})  # public only
    with pytest.raises(KeyFileError):
        import_public_jwk(data)  # private parts where a public key belongs
