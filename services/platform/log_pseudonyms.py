"""The secret key of log pseudonyms (services.platform.ids.pseudonymise).

A person number has 11 digits and few valid values, so an unkeyed hash of one is reversed by
trying them all (it took 13 s). Log pseudonyms are therefore an HMAC under a key the logs'
readers do not hold: SAMHANDLING_LOG_PSEUDONYM_KEY, or the file SAMHANDLING_LOG_PSEUDONYM_KEY_FILE
names (one trailing newline stripped; how Kubernetes delivers it, from a Secret), at least 32
characters (e.g. `openssl rand -base64 32`); setting both is refused (services.platform.settings).
The key is read once at start: a new key takes a restart (tags change with it). Production
refuses to start without one (services/platform/production.py). In development an unset key is a random one kept in
`<var_dir>/log-pseudonym.dev-only.key` (so tags stay comparable across restarts and
components), or, without a var dir, a random one for the process.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .ids import MIN_PSEUDONYM_KEY_BYTES
from .settings import Settings, SettingsError

SETTING = "SAMHANDLING_LOG_PSEUDONYM_KEY"
DEV_KEY_FILE = "log-pseudonym.dev-only.key"


def log_pseudonym_key_problems(settings: Settings) -> list[str]:
    """What production refuses about the key: unset or too short."""
    key = settings.log_pseudonym_key
    if key is None:
        return [
            f"{SETTING} or {SETTING}_FILE must hold a secret of at least {MIN_PSEUDONYM_KEY_BYTES} characters "
            "(log pseudonyms)"
        ]
    if len(key.encode()) < MIN_PSEUDONYM_KEY_BYTES:
        return [f"{SETTING} is shorter than {MIN_PSEUDONYM_KEY_BYTES} characters"]
    return []


def log_pseudonym_key(configured: str | None, *, var_dir: Path | None, production: bool) -> bytes:
    """The key: the configured one; in development without one, the var dir's (created) or a
    random one. Raises SettingsError where production would refuse it."""
    if configured is not None:
        key = configured.encode()
        if len(key) < MIN_PSEUDONYM_KEY_BYTES:
            raise SettingsError(f"{SETTING} is shorter than {MIN_PSEUDONYM_KEY_BYTES} characters")
        return key
    if production:
        raise SettingsError(f"{SETTING} must be set in production mode")
    if var_dir is None:
        return secrets.token_bytes(MIN_PSEUDONYM_KEY_BYTES)
    return dev_secret(Path(var_dir) / DEV_KEY_FILE)


def dev_secret(path: Path) -> bytes:
    """A random 32-byte development secret kept (mode 0600) at `path`, created on first use."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise SettingsError(f"{path} does not hold a hex key; delete it to make a new one") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(MIN_PSEUDONYM_KEY_BYTES)
    staged = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key.hex() + "\n")
    try:
        # A link appears whole and never replaces: two components starting at once agree on one key.
        os.link(staged, path)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    finally:
        staged.unlink()
    return key
