"""The STS's signing keys on disk (`<var>/sts/signing-keys.json`) and as the running STS sees them.

The file is written atomically (temp file + rename) under an exclusive lock, so the STS and
`samhandling rotate-keys` never see half a store. The running STS re-reads it at most once a
second, so a rotation takes effect without restarting anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .config import DEFAULT_SEEDS_DIR, StsConfig
from .key_rotation import (
    PUBLICATION_SECONDS,
    KeyStore,
    KeyStoreError,
    initial_store,
    retention_seconds,
    rotate,
    store_from_json,
    store_to_json,
)
from .keys import AsymmetricKey, load_private_jwk_file

log = logging.getLogger(__name__)

STORE_FILE = Path("sts") / "signing-keys.json"
RELOAD_INTERVAL_SECONDS = 1.0


def key_store_path(var_dir: Path) -> Path:
    return Path(var_dir) / STORE_FILE


def open_key_store(path: Path, seed_key_files: Sequence[Path], now: int) -> KeyStore:
    """Reads the store, first creating it from the seed keys if there is none yet."""
    with _locked(path):
        return _read_or_create(path, seed_key_files, now)


def rotate_signing_keys(
    var_dir: Path,
    seeds_dir: Path = DEFAULT_SEEDS_DIR,
    *,
    token_lifetime_seconds: int = StsConfig.token_lifetime_seconds,
    now: int | None = None,
) -> str:
    """Makes a new signing key, keeps the previous ones published while their tokens live;
    returns the new kid. For `samhandling rotate-keys`; the running STS picks it up by itself."""
    path = key_store_path(var_dir)
    moment = int(time.time()) if now is None else now
    with _locked(path):
        store = _read_or_create(path, StsConfig(seeds_dir=Path(seeds_dir)).signing_key_paths(), moment)
        rotated = rotate(store, moment, retention_seconds(token_lifetime_seconds))
        _write(path, rotated)
    log.info(
        "rotated STS signing keys; new kid %s published, signing in %s s", rotated.newest_key.kid, PUBLICATION_SECONDS
    )
    kid = rotated.newest_key.kid
    assert kid is not None, "rotate gives every key a kid (new_kid)"
    return kid


class SigningKeys:
    """The keys the running STS signs with (`signing_key`) and publishes (`published`).

    Without a store file (no var dir) it holds the seed keys in memory and never changes.
    """

    def __init__(
        self, store: KeyStore, *, retention: int, path: Path | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._retention = retention
        self._path = path
        self._clock = clock
        self._raw: bytes | None = None  # the bytes last parsed; None: compare on the first check
        self._checked_at = clock()

    @classmethod
    def open(cls, config: StsConfig, clock: Callable[[], float] = time.time) -> SigningKeys:
        retention = retention_seconds(config.token_lifetime_seconds)
        if config.var_dir is None:
            store = initial_store(map(load_private_jwk_file, config.signing_key_paths()), int(clock()))
            return cls(store, retention=retention, clock=clock)
        path = key_store_path(config.var_dir)
        store = open_key_store(path, config.signing_key_paths(), int(clock()))
        return cls(store, retention=retention, path=path, clock=clock)

    def signing_key(self) -> AsymmetricKey:
        return self._current().signing_key(self._clock())

    def published(self) -> list[AsymmetricKey]:
        return self._current().published(self._clock(), self._retention)

    def _current(self) -> KeyStore:
        now = self._clock()
        if self._path is None or abs(now - self._checked_at) < RELOAD_INTERVAL_SECONDS:
            return self._store
        self._checked_at = now
        try:
            raw = self._path.read_bytes()
            if raw != self._raw:
                previous, self._store, self._raw = self._store, store_from_json(json.loads(raw)), raw
                if self._store.newest_key.kid != previous.newest_key.kid:
                    log.info("signing keys reloaded; newest kid %s", self._store.newest_key.kid)
        except (OSError, ValueError) as exc:
            # Keep signing with the last good keys rather than stop issuing tokens.
            log.error("cannot reload the signing keys from %s (%s); keeping the current ones", self._path, exc)
        return self._store


def _read_or_create(path: Path, seed_key_files: Sequence[Path], now: int) -> KeyStore:
    if path.exists():
        return _read(path)
    store = initial_store([load_private_jwk_file(p) for p in seed_key_files], now)
    _write(path, store)
    log.info("created the STS key store %s from the seed keys", path)
    return store


def _read(path: Path) -> KeyStore:
    try:
        return store_from_json(json.loads(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"cannot read the key store {path}: {exc}") from None


def _write(path: Path, store: KeyStore) -> None:
    data = json.dumps(store_to_json(store), indent=2).encode()
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialises creators and rotators (the STS at start, `rotate-keys`) of one store."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
