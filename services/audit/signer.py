"""The log's checkpoint signer: an Ed25519 key kept as a PKCS#8 PEM file, and the log's origin,
which is also the key's name in the signed notes (services.audit.checkpoints).

Loaded like services.platform.keys loads JWKs: in production a development key is refused, by
location (under seeds/) and by content (a PEM whose leading text holds the line `dev_only: true`,
which PEM readers skip).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.platform.keys import inside
from services.platform.settings import Settings, SettingsError

from .checkpoints import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_checkpoint, sign_checkpoint

DEV_ORIGIN = "samhandling.dev/audit"
DEV_MARKER = "dev_only: true"


@dataclass(frozen=True)
class LogSigner:
    origin: str
    key: NoteSigner

    @property
    def verifier(self) -> NoteVerifier:
        return self.key.verifier

    def sign(self, size: int, root: bytes) -> str:
        """The signed checkpoint note of the tree of `size` leaves with this root."""
        return sign_checkpoint(Checkpoint(self.origin, size, root), [self.key])

    def open(self, note: str) -> Checkpoint:
        """The checkpoint a note holds, if this log's key signed it; NoteError otherwise."""
        return open_checkpoint(note, [self.key.verifier], self.origin)


def load_log_signer(settings: Settings) -> LogSigner:
    origin = settings.audit_log_origin
    if origin is None:
        if settings.production:
            raise SettingsError("SAMHANDLING_AUDIT_LOG_ORIGIN must name the audit log in production mode")
        origin = DEV_ORIGIN
    path = Path(settings.audit_log_key())
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read the audit log key file {path}: {exc.__class__.__name__}") from None
    if settings.production and (inside(path, settings.seeds_dir) or _marked_dev_only(pem)):
        raise SettingsError(f"refusing development key {path.name} in production mode")
    try:
        return LogSigner(origin, NoteSigner.from_pem(origin, pem))
    except NoteError as exc:
        raise SettingsError(f"audit log key {path.name} or origin {origin!r}: {exc}") from None


def _marked_dev_only(pem: bytes) -> bool:
    preamble = pem.split(b"-----BEGIN", 1)[0].decode("utf-8", "replace")
    return DEV_MARKER in (line.strip() for line in preamble.splitlines())
