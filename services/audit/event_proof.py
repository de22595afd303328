"""Offline proofs of single audit events, pure: C2SP tlog-proof v1 (c2sp.org/tlog-proof@v1).

    c2sp.org/tlog-proof@v1
    extra <base64 of the event's canonical leaf bytes (services.audit.leaves)[, 0x0A, openings]>
    index <zero-based leaf index, decimal>
    <base64 inclusion proof hash, leaf's sibling first, one per line>
    <empty line>
    <the signed checkpoint note, verbatim>

The spec leaves computing the leaf hash to the application and offers `extra` for the data needed
to do so: here it carries the leaf itself, so the proof stands alone. `extra` is unauthenticated in
itself; the verifier trusts it only once its hash is proven included under the signed root, and
checks that the leaf names the sequence the index says.

An auditor's proof of a version-2 event also opens the leaf's commitments (services.audit.leaves):
`extra` is then the leaf, one line feed (0x0A) and the openings' canonical JSON. Neither JSON text
holds a raw line feed (JSON escapes control characters; UTF-8 never uses 0x0A inside a
character), so the first one splits them. Only the leaf is hashed; each opening must match its
commitment in the proven leaf. A proof without openings (a patient's, GetPatientEventProof, and
every proof made before version 2) has the leaf alone, as before: old proofs verify unchanged.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import merkle
from .checkpoints import NoteError, NoteVerifier, open_checkpoint
from .events import StoredEvent
from .leaves import (
    COMMITTED_FIELDS,
    Opening,
    Salts,
    check_openings,
    format_openings,
    leaf_bytes,
    openings,
    parse_openings,
    read_leaf,
)
from .merkle import MerkleError

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]*)")


class EventProofError(ValueError):
    """A proof that is malformed or does not verify."""


@dataclass(frozen=True)
class EventProof:
    """One stored event with its leaf's commitment salts (None: a version-1 event), the latest
    signed checkpoint note, and the event's inclusion proof under it."""

    event: StoredEvent
    salts: Salts | None
    checkpoint_note: str
    hashes: list[bytes]

    @property
    def leaf(self) -> bytes:
        """The event's canonical leaf as its row now reads: version 2 when it holds commitment
        salts, version 1 (stored before version 2) when not."""
        event = self.event
        return leaf_bytes(event.record, event_id=event.event_id, sequence=event.sequence, salts=self.salts)

    @property
    def openings(self) -> dict[str, Opening]:
        """The openings of the leaf's commitments; empty for a version-1 event (none to open)."""
        return openings(self.event.record, self.salts) if self.salts is not None else {}


@dataclass(frozen=True)
class ProvenLeaf:
    """What a verified proof proves: the leaf included under the checkpoint of `tree_size`
    leaves, its version and members, and the committed values its openings revealed (by record
    field: actor_pid, justification; empty when the proof opens nothing)."""

    leaf: bytes
    version: int
    members: Mapping[str, Any]
    tree_size: int
    opened: Mapping[str, str] = field(default_factory=dict)

    @property
    def committed(self) -> tuple[str, ...]:
        """The record fields the leaf holds only as commitments (none in version 1)."""
        return COMMITTED_FIELDS if self.version != 1 else ()


def format_event_proof(
    index: int,
    leaf: bytes,
    hashes: Sequence[bytes],
    checkpoint_note: str,
    openings: Mapping[str, Opening] | None = None,
) -> str:
    """The tlog-proof text of leaf `index` with its data (and the openings of its commitments,
    when given), inclusion proof and signed checkpoint."""
    extra = leaf + (b"\n" + format_openings(openings) if openings else b"")
    lines = [HEADER, f"extra {_b64(extra)}", f"index {index}", *(_b64(h) for h in hashes)]
    return "\n".join(lines) + "\n\n" + checkpoint_note


def verify_event_proof(text: str, vkey: str, origin: str) -> ProvenLeaf:
    """The leaf a proof proves included in the log `origin` whose checkpoints `vkey` signs, with
    the values its openings reveal; EventProofError on any problem (format, signature, origin,
    inclusion, leaf not of its index, an opening that does not match its commitment)."""
    header, blank, note = text.partition("\n\n")
    lines = header.split("\n")
    if not blank or len(lines) < 3 or lines[0] != HEADER:
        raise EventProofError(f"a proof starts with {HEADER!r}, extra, index and hash lines, then a blank line")
    if not lines[1].startswith("extra "):
        raise EventProofError("the proof carries no leaf data (its extra line)")
    extra = _unb64(lines[1].removeprefix("extra "), "the leaf data")
    leaf, separator, opening_data = extra.partition(b"\n")
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
    try:
        version, members = read_leaf(leaf)
        opened: dict[str, str] = {}
        if separator:
            given = parse_openings(opening_data)
            if not given:  # one encoding per proof: no openings is no line feed
                raise ValueError("the leaf data's line feed is followed by no openings")
            opened = check_openings(version, members, given)
    except ValueError as exc:
        raise EventProofError(str(exc)) from None
    # A proven leaf is the event logged at `index` only if it says so: its sequence is index + 1.
    sequence = members.get("sequence")
    if type(sequence) is not int or sequence != index + 1:
        raise EventProofError(f"the leaf is not the event with sequence {index + 1}")
    return ProvenLeaf(leaf, version, members, checkpoint.size, opened)


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
