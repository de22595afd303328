"""Reading the JWK files of seeds/keys and publishing their public halves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey

# Signing keys must be asymmetric: RS/PS/ES (docs/architecture.md "The request path", step 1).
AsymmetricKey = ECKey | RSAKey


class KeyFileError(ValueError):
    """A key file is missing, unreadable or holds the wrong kind of key."""


def import_private_jwk(data: Mapping[str, Any]) -> AsymmetricKey:
    """Imports a private JWK dict; the `dev_only` marker is ours, not JOSE, so it is dropped."""
    jwk = {k: v for k, v in data.items() if k != "dev_only"}
    try:
        key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
    except (ValueError, TypeError, KeyError) as exc:
        # Never echo the key material itself.
        raise KeyFileError(f"not a valid JWK ({exc.__class__.__name__})") from None
    if not isinstance(key, (ECKey, RSAKey)) or not key.is_private:
        raise KeyFileError("an asymmetric private JWK (EC or RSA) is required")
    if not key.kid:
        raise KeyFileError("the JWK has no 'kid'")
    return key


def import_public_jwk(data: Mapping[str, Any]) -> AsymmetricKey:
    """Imports a registered client's public JWK, refusing one that carries private parts."""
    if "d" in data:
        raise KeyFileError("a public JWK must not hold private parts")
    try:
        key = KeySet.import_key_set({"keys": [dict(data)]}).keys[0]
    except (ValueError, TypeError, KeyError) as exc:
        raise KeyFileError(f"not a valid JWK ({exc.__class__.__name__})") from None
    if not isinstance(key, (ECKey, RSAKey)):
        raise KeyFileError("an asymmetric public JWK (EC or RSA) is required")
    return key


def load_private_jwk_file(path: Path) -> AsymmetricKey:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.__class__.__name__}") from None
    try:
        return import_private_jwk(data)
    except KeyFileError as exc:
        raise KeyFileError(f"{Path(path).name}: {exc}") from None


def public_jwks(keys: Iterable[AsymmetricKey]) -> dict[str, list[dict[str, Any]]]:
    """The JWKS document: public members only, each with its kid, alg and use."""
    return {"keys": [dict(key.as_dict(private=False)) for key in keys]}


def generate_signing_key(kid: str) -> ECKey:
    """A fresh ES256 (P-256) private key named `kid`."""
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"}, private=True)
