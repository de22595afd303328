"""What the auditor console checks about the audit log, pure: an event proof verified with the
pinned verifier key (SAMHANDLING_AUDIT_LOG_VKEY) and its leaf read as an event; a checkpoint
opened with that key; a consistency link from an earlier checkpoint to a later one; and the
chain of checkpoints an auditor has seen, kept as a bounded mark. The RPCs are the caller's;
nothing here trusts what the gateway says about its own key."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from services.audit.checkpoints import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_checkpoint
from services.audit.event_proof import EventProofError, verify_event_proof
from services.audit.merkle import MerkleError, verify_consistency
from services.audit.signer import DEV_ORIGIN
from services.platform.settings import Settings, SettingsError

MAX_CHAIN = 10  # checkpoints kept per auditor (web_marks); the oldest are dropped
CHAIN_MARK = "auditor.checkpoints"


class LogCheckFailed(ValueError):
    """A proof, checkpoint or consistency link that does not verify with the pinned key."""


def pinned_vkey(settings: Settings) -> str:
    """SAMHANDLING_AUDIT_LOG_VKEY, checked; in development without it, the vkey of the dev log
    key under the log's origin. SettingsError for a malformed key (the gateway does not start)."""
    vkey = settings.audit_log_vkey
    if vkey is None:
        if settings.production:
            raise SettingsError("SAMHANDLING_AUDIT_LOG_VKEY must pin the audit log's verifier key in production mode")
        origin = settings.audit_log_origin or DEV_ORIGIN
        try:
            pem = Path(settings.audit_log_key()).read_bytes()
            return NoteSigner.from_pem(origin, pem).verifier.vkey
        except (OSError, NoteError, ValueError) as exc:
            raise SettingsError(f"cannot derive the dev audit log's verifier key: {exc.__class__.__name__}") from None
    try:
        NoteVerifier.from_vkey(vkey)
    except NoteError as exc:
        raise SettingsError(f"SAMHANDLING_AUDIT_LOG_VKEY: {exc}") from None
    return vkey


def origin_of(vkey: str) -> str:
    """A vkey's name is the log's origin."""
    return vkey.split("+", 1)[0]


@dataclass(frozen=True)
class ProvenEvent:
    """An event read from the leaf a proof proves included under a checkpoint signed by the pinned key."""

    sequence: int
    tree_size: int
    members: Mapping[str, Any]
    # The record fields the leaf holds only as commitments (actor_pid, justification in version 2)
    committed: tuple[str, ...] = ()
    # ...and the values the proof's openings revealed, each checked against its commitment.
    opened: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.members.get(name)

    @property
    def occurred_at(self) -> datetime | None:
        text = self.members.get("occurred_at")
        if not isinstance(text, str):
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None


def read_event_proof(proof: str, vkey: str) -> ProvenEvent:
    """The event a C2SP tlog-proof proves, verified with `vkey` exactly as `samhandling audit
    check-proof` verifies it; LogCheckFailed otherwise."""
    try:
        proven = verify_event_proof(proof, vkey, origin_of(vkey))
    except EventProofError as exc:
        raise LogCheckFailed(str(exc)) from exc
    members = {**proven.members, **proven.opened}  # an opened value reads as the v1 member did
    return ProvenEvent(
        sequence=int(members["sequence"]),
        tree_size=proven.tree_size,
        members=members,
        committed=proven.committed,
        opened=proven.opened,
    )


def open_pinned(note: str, vkey: str) -> Checkpoint:
    try:
        return open_checkpoint(note, [NoteVerifier.from_vkey(vkey)], origin_of(vkey))
    except NoteError as exc:
        raise LogCheckFailed(str(exc)) from exc


@dataclass(frozen=True)
class Seen:
    """A checkpoint an auditor saw verified: its size and root, and when (unix seconds)."""

    size: int
    root: bytes
    seen_at: int

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "root": base64.b64encode(self.root).decode("ascii"), "seen_at": self.seen_at}


def parse_chain(mark: str | None) -> list[Seen]:
    """The stored chain, oldest first; a mark that is not one is an empty chain."""
    if not mark:
        return []
    try:
        items = json.loads(mark)
        chain = [Seen(int(i["size"]), base64.b64decode(i["root"], validate=True), int(i["seen_at"])) for i in items]
    except (ValueError, TypeError, KeyError):
        return []
    return chain[-MAX_CHAIN:]


def format_chain(chain: Sequence[Seen]) -> str:
    return json.dumps([seen.as_json() for seen in chain[-MAX_CHAIN:]], separators=(",", ":"))


def check_link(older: Seen, newer: Checkpoint, proof: Sequence[bytes]) -> None:
    """The log grew from `older` to `newer` without changing a leaf (RFC 9162 consistency);
    the same size must have the same root. LogCheckFailed otherwise."""
    if older.size == 0:
        return  # the empty tree is part of every tree
    if newer.size < older.size:
        raise LogCheckFailed(f"the log shrank from {older.size} to {newer.size} leaves")
    if newer.size == older.size:
        if newer.root != older.root:
            raise LogCheckFailed(f"two different roots for a tree of {older.size} leaves")
        return
    try:
        verify_consistency(older.size, newer.size, proof, older.root, newer.root)
    except MerkleError as exc:
        raise LogCheckFailed(str(exc)) from exc


def extend(chain: Sequence[Seen], current: Checkpoint, now: int) -> list[Seen]:
    """The chain with the current checkpoint appended (unless it is the last one), at most MAX_CHAIN."""
    if chain and chain[-1].size == current.size and chain[-1].root == current.root:
        return list(chain)[-MAX_CHAIN:]
    return [*chain, Seen(current.size, current.root, now)][-MAX_CHAIN:]
