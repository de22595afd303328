"""Signed tree heads, pure: C2SP tlog-checkpoint v1.0.0 bodies in C2SP signed-note v1.0.0 notes,
signed with Ed25519 (signature type 0x01).

Keys:
- verifier keys travel as vkeys, `<name>+<hex key id>+<base64(0x01 || public key)>` (the
  golang.org/x/mod/sumdb/note encoding), e.g. in configuration and for auditors;
- the signer's private key is kept as an unencrypted PKCS#8 PEM file (what
  `openssl genpkey -algorithm ed25519` writes); its key name is configured beside it, and is the
  log's origin. Reading and writing the file is the caller's job: this module takes bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from .merkle import HASH_SIZE, MAX_TREE_SIZE

ED25519 = 0x01  # signed-note signature type
MAX_SIGNATURES = 100  # the spec asks verifiers to cap signatures, and to accept at least 16
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_KEY_ID = re.compile(r"[0-9a-f]{8}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, checkpoint or key that must not be used."""


class MalformedNote(NoteError):
    pass


class MalformedKey(NoteError):
    pass


class SignatureRejected(NoteError):
    """A known key's signature that does not verify, or no verified signature by a known key."""


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            raise MalformedKey("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([ED25519]) + self.public_key)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        name, _, rest = vkey.partition("+")
        hex_id, _, material = rest.partition("+")
        if not _KEY_ID.fullmatch(hex_id):
            raise MalformedKey("a vkey is <name>+<8 lowercase hex digits>+<base64 key>")
        try:
            key = _unb64(material)
        except ValueError:
            raise MalformedKey("the vkey's key is not canonical base64") from None
        if len(key) != 33 or key[0] != ED25519:
            raise MalformedKey("the vkey is not an Ed25519 key (type 0x01 and 32 bytes)")
        verifier = cls(name, key[1:])
        if verifier.key_id.hex() != hex_id:
            raise MalformedKey("the vkey's key id does not match its name and key")
        return verifier

    def verifies(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


class NoteSigner:
    """An Ed25519 signing key and its key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = NoteVerifier(name, public)
        self._key = private_key

    @property
    def name(self) -> str:
        return self.verifier.name

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, name: str, pem: bytes) -> NoteSigner:
        """Loads an unencrypted PKCS#8 PEM Ed25519 private key."""
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise MalformedKey("not an unencrypted PKCS#8 PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedKey("the note signing key must be Ed25519")
        return cls(name, key)

    def to_pem(self) -> bytes:
        return self._key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

    def signature_line(self, text: str) -> str:
        signature = self._key.sign(text.encode())
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64(self.verifier.key_id + signature)}\n"

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier.vkey!r})"


@dataclass(frozen=True)
class OpenedNote:
    text: str
    verified_by: tuple[NoteVerifier, ...]


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """The note: text (non-empty, ending in a newline), a blank line, one signature line per signer."""
    if not text.endswith("\n"):
        raise MalformedNote("the note text must end with a newline")
    _check_characters(text)
    if not signers:
        raise MalformedNote("a note needs at least one signature")
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Parses a note and checks its signatures: signatures by unknown keys (name and key id not both
    those of a verifier) are ignored, a known key's signature must verify, and at least one must."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNote("a note is UTF-8") from None
    _check_characters(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("a note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNote("a note ends with signature lines, each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    known = _by_name_and_id(verifiers)
    verified: list[NoteVerifier] = []
    for line in lines:
        name, signature = _parse_signature_line(line)
        verifier = known.get((name, signature[:4]))
        if verifier is None:
            continue
        if not verifier.verifies(text.encode(), signature[4:]):
            raise SignatureRejected(f"the signature by {verifier.vkey} does not verify")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        raise SignatureRejected("no known key signed the note")
    return OpenedNote(text, tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, tree size and root hash. Extension lines are not supported:
    this log never signs any, and a checkpoint carrying some is refused."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedNote("the origin is one non-empty line")
        _check_characters(self.origin)
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedNote("the tree size is an integer in [0, 2**64)")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise MalformedNote(f"the root hash is {HASH_SIZE} bytes")

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise MalformedNote("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) != 3:
            raise MalformedNote("a checkpoint is exactly three lines: origin, tree size, root hash")
        origin, size, root = lines
        if not _TREE_SIZE.fullmatch(size):
            raise MalformedNote("the tree size is decimal without leading zeros")
        try:
            root_hash = _unb64(root)
        except ValueError:
            raise MalformedNote("the root hash is not canonical base64") from None
        return cls(origin, int(size), root_hash)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as the log stores it: the tree size it covers and its signed note."""

    size: int
    note: str


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> str:
    return sign_note(checkpoint.text(), signers)


def open_checkpoint(note: str | bytes, verifiers: Iterable[NoteVerifier], origin: str) -> Checkpoint:
    """A checkpoint of the log `origin`, signed by at least one of `verifiers`."""
    checkpoint = Checkpoint.from_text(open_note(note, verifiers).text)
    if checkpoint.origin != origin:
        raise MalformedNote(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise MalformedNote("a signature line starts with an em dash and a space")
    name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    try:
        _check_key_name(name)
        signature = _unb64(encoded)
    except (MalformedKey, ValueError):
        raise MalformedNote("a signature line is: em dash, space, key name, space, base64 signature") from None
    if not space or len(signature) < 5:
        raise MalformedNote("a signature is a 4-byte key id and a signature")
    return name, signature


def _by_name_and_id(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        other = known.setdefault((verifier.name, verifier.key_id), verifier)
        if other != verifier:
            raise MalformedKey(f"two verifier keys share the name and key id of {verifier.vkey}")
    return known


def _check_key_name(name: str) -> None:
    if not name or any(c == "+" or c < " " or c.isspace() for c in name) or not _is_utf8(name):
        raise MalformedKey("a key name is non-empty UTF-8 without spaces, control characters or '+'")


def _check_characters(text: str) -> None:
    """Valid UTF-8 without ASCII control characters other than newline."""
    if any(c < " " and c != "\n" for c in text):
        raise MalformedNote("a note has no control characters other than newline")
    if not _is_utf8(text):
        raise MalformedNote("a note is valid UTF-8")


def _is_utf8(text: str) -> bool:
    """False for strings holding lone surrogates, which no UTF-8 byte string decodes to."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    """Standard base64 with padding, canonical only (one encoding per value)."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data
