"""Offline proofs of single audit events, pure: C2SP tlog-proof v1 (c2sp.org/tlog-proof@v1).

    c2sp.org/tlog-proof@v1
    extra <base64 of the event's canonical leaf bytes (services.audit.leaves)>
    index <zero-based leaf index, decimal>
    <base64 inclusion proof hash, leaf's sibling first, one per line>
    <empty line>
    <the signed checkpoint note, verbatim>

The spec leaves computing the leaf hash to the application and offers `extra` for the data needed
to do so: here it carries the leaf itself, so the proof stands alone. `extra` is unauthenticated in
itself; the verifier trusts it only once its hash is proven included under the signed root, and
checks that the leaf names the sequence the index says.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence

from . import merkle
from .checkpoints import NoteError, NoteVerifier, open_checkpoint
from .leaves import LEAF_VERSION
from .merkle import MerkleError

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]*)")


class EventProofError(ValueError):
    """A proof that is malformed or does not verify."""


def format_event_proof(index: int, leaf: bytes, hashes: Sequence[bytes], checkpoint_note: str) -> str:
    """The tlog-proof text of leaf `index` with its data, inclusion proof and signed checkpoint."""
    lines = [HEADER, f"extra {_b64(leaf)}", f"index {index}", *(_b64(h) for h in hashes)]
    return "\n".join(lines) + "\n\n" + checkpoint_note


def verify_event_proof(text: str, vkey: str, origin: str) -> bytes:
    """The leaf bytes a proof proves included in the log `origin` whose checkpoints `vkey` signs;
    EventProofError on any problem (format, signature, origin, inclusion, leaf not of its index)."""
    header, blank, note = text.partition("\n\n")
    lines = header.split("\n")
    if not blank or len(lines) < 3 or lines[0] != HEADER:
        raise EventProofError(f"a proof starts with {HEADER!r}, extra, index and hash lines, then a blank line")
    if not lines[1].startswith("extra "):
        raise EventProofError("the proof carries no leaf data (its extra line)")
    leaf = _unb64(lines[1].removeprefix("extra "), "the leaf data")
    index_line = _INDEX.fullmatch(lines[2])
    if index_line is None:
        raise EventProofError("the index line is 'index' and a decimal without leading zeros")
    index = int(index_line.group(1))
    hashes = [_unb64(line, f"proof hash {i}") for i, line in enumerate(lines[3:])]
    try:
        checkpoint = open_checkpoint(note, [NoteVerifier.from_vkey(vkey)], origin)
        if index >= checkpoint.size:
            raise EventProofError(f"leaf {index} is outside the checkpoint's tree of {checkpoint.size}")
        merkle.verify_inclusion(index, checkpoint.size, merkle.leaf_hash(leaf), hashes, checkpoint.root)
    except (NoteError, MerkleError) as exc:
        raise EventProofError(str(exc)) from exc
    _check_sequence(leaf, index)
    return leaf


def _check_sequence(leaf: bytes, index: int) -> None:
    """A proven leaf is the event logged at `index` only if it says so: its sequence is index + 1."""
    if not leaf or leaf[0] != LEAF_VERSION:
        raise EventProofError(f"the leaf is not a version {LEAF_VERSION} audit event")
    try:
        members = json.loads(leaf[1:].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EventProofError("the leaf is not canonical JSON") from None
    sequence = members.get("sequence") if isinstance(members, dict) else None
    if type(sequence) is not int or sequence != index + 1:
        raise EventProofError(f"the leaf is not the event with sequence {index + 1}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    """Standard, canonical base64 only (one encoding per value)."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EventProofError(f"{what} is not base64") from None
    if not text or _b64(data) != text:
        raise EventProofError(f"{what} is not canonical base64")
    return data
