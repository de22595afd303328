"""Verifying the access log offline, pure: given every leaf up to a signed checkpoint (each leaf's
hash, and the event data where the verifier may see it) and the log's verifier key, recompute the
tree and list what does not add up. Fetching is the caller's job (`samhandling audit verify`).

A changed, removed, inserted or reordered event changes the root, so it no longer matches the
checkpoint signed before; a changed event whose data the verifier holds no longer matches its own
leaf hash, which names the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .checkpoints import NoteError, NoteVerifier, open_checkpoint
from .leaves import read_leaf
from .merkle import HASH_SIZE, Frontier, leaf_hash


@dataclass(frozen=True)
class LeafRecord:
    index: int
    leaf_hash: bytes
    data: bytes = b""  # the canonical leaf (services.audit.leaves); empty when not shown to the verifier


def verify_log(leaves: Iterable[LeafRecord], checkpoint_note: str, vkey: str, origin: str) -> list[str]:
    """The problems found, empty when the log verifies: the note must be a checkpoint of `origin`
    signed by `vkey`; the leaves must be exactly those of its tree, 0 to size - 1, and hash to its
    root; each leaf's data, where given, must hash to the leaf's hash and be the event of that
    leaf (its sequence is the index plus one)."""
    try:
        checkpoint = open_checkpoint(checkpoint_note, [NoteVerifier.from_vkey(vkey)], origin)
    except NoteError as exc:
        return [f"the checkpoint does not verify with the key: {exc}"]
    problems: list[str] = []
    hashes: dict[int, bytes] = {}
    for leaf in leaves:
        if leaf.index in hashes:
            problems.append(f"leaf {leaf.index} is given twice")
        elif not 0 <= leaf.index < checkpoint.size:
            problems.append(f"leaf {leaf.index} is outside the checkpoint's tree of {checkpoint.size} leaves")
        elif len(leaf.leaf_hash) != HASH_SIZE:
            problems.append(f"leaf {leaf.index}: the leaf hash is {len(leaf.leaf_hash)} bytes, not {HASH_SIZE}")
        else:
            hashes[leaf.index] = leaf.leaf_hash
            problems += _data_problems(leaf)
    missing = checkpoint.size - len(hashes)
    if missing:
        problems.append(f"{missing} of the checkpoint's {checkpoint.size} leaves are missing or malformed")
        return problems
    frontier = Frontier.empty()
    for index in range(checkpoint.size):
        frontier, _ = frontier.append(hashes[index])
    if frontier.root() != checkpoint.root:
        problems.append(
            f"the leaves do not hash to the signed root of {checkpoint.size} events: "
            "an event was changed, removed, added or reordered after it was checkpointed"
        )
    return problems


def _data_problems(leaf: LeafRecord) -> list[str]:
    if not leaf.data:
        return []
    if leaf_hash(leaf.data) != leaf.leaf_hash:
        return [f"leaf {leaf.index}: the event's data does not match its leaf hash: the event was changed"]
    try:
        _, members = read_leaf(leaf.data)  # version 1 or 2: a log holds both
    except ValueError as exc:
        return [f"leaf {leaf.index}: {exc}"]
    sequence = members.get("sequence")
    if type(sequence) is not int or sequence != leaf.index + 1:
        return [f"leaf {leaf.index}: the data is the event of sequence {sequence}, not {leaf.index + 1}"]
    return []
