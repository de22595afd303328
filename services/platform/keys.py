"""Loading signing keys, refusing development keys in production."""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from .settings import Settings, SettingsError

Key = ECKey | RSAKey | OKPKey


def load_jwk(path: Path, settings: Settings, *, private: bool = True) -> Key:
    """Reads one JWK file. In production a key marked dev-only or kept in seeds/ is refused."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read key file {path}: {exc.__class__.__name__}") from None
    if settings.production and (data.get("dev_only") or inside(path, settings.seeds_dir)):
        raise SettingsError(f"refusing development key {path.name} in production mode")
    data = {k: v for k, v in data.items() if k != "dev_only"}
    key = KeySet.import_key_set({"keys": [data]}).keys[0]
    if not isinstance(key, Key):
        raise SettingsError(f"key file {path.name} holds no signing key pair (EC, RSA or OKP)")
    if not private:
        public = KeySet.import_key_set({"keys": [key.as_dict(private=False)]}).keys[0]
        assert isinstance(public, Key), "the public half of a key pair is of the same type"
        return public
    if not key.is_private:
        raise SettingsError(f"key file {path.name} holds no private key")
    return key


def inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
