"""`samhandling audit verify`: checks the access log through the gateway with the log's public
key alone — the signed checkpoint, every leaf up to it (reordering, removal or change of any
event changes the root), the auditor's own organisation's events against their leaf hashes,
and, with `--since FILE`, consistency with a checkpoint saved earlier."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import grpc

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.audit.checkpoints import Checkpoint, NoteError, NoteVerifier, open_checkpoint
from services.audit.merkle import MerkleError, verify_consistency
from services.audit.verification import LeafRecord, verify_log
from services.platform.error_reasons import Reason
from services.platform.errors import error_info

from .token import Token

PAGE = 1000


@dataclass(frozen=True)
class VerifyOptions:
    vkey: str | None = None  # pinned verifier key; None: trust what the gateway publishes (printed)
    since: Path | None = None  # a checkpoint note saved earlier
    save: Path | None = None  # where to save the verified checkpoint


def audit_verify(address: str, token: Token, options: VerifyOptions) -> int:
    metadata = (("authorization", f"{token.scheme} {token.access_token}"),)
    with grpc.insecure_channel(address) as channel:
        log = audit_pb2_grpc.AuditServiceStub(channel)
        published = log.GetVerifierKey(audit_pb2.GetVerifierKeyRequest(), metadata=metadata, timeout=30)
        vkey = options.vkey or published.vkey
        print(f"verifier key: {vkey}" + ("" if options.vkey else "  (as published; pin it with --vkey)"))
        try:
            note = log.GetCheckpoint(audit_pb2.GetCheckpointRequest(), metadata=metadata, timeout=30).checkpoint
        except grpc.RpcError as exc:
            if error_info(exc)[0] != Reason.NO_CHECKPOINT:
                raise
            print("the log holds no events yet: nothing to verify")
            return 0
        problems: list[str] = []
        try:
            verifier = NoteVerifier.from_vkey(vkey)
            checkpoint = open_checkpoint(note, [verifier], published.origin)
        except NoteError as exc:
            print(f"FAILED: the checkpoint does not verify with the key: {exc}", file=sys.stderr)
            return 1
        leaves: list[LeafRecord] = []
        for start in range(0, checkpoint.size, PAGE):
            end = min(start + PAGE, checkpoint.size)
            page = log.GetLeaves(audit_pb2.GetLeavesRequest(start=start, end=end), metadata=metadata, timeout=60)
            leaves += [LeafRecord(leaf.index, leaf.leaf_hash, leaf.data) for leaf in page.leaves]
        problems += verify_log(leaves, note, vkey, published.origin)
        if options.since is not None:
            problems += _consistency(log, metadata, options.since.read_text(), verifier, published.origin, checkpoint)
    print(f"checkpoint: {checkpoint.origin}, {checkpoint.size} events, root {checkpoint.root.hex()}")
    if problems:
        for problem in problems:
            print(f"FAILED: {problem}", file=sys.stderr)
        return 1
    if options.save is not None:
        options.save.write_text(note)
    print("the log verifies")
    return 0


def _consistency(
    log: audit_pb2_grpc.AuditServiceStub,
    metadata: tuple[tuple[str, str], ...],
    saved_note: str,
    verifier: NoteVerifier,
    origin: str,
    latest: Checkpoint,
) -> list[str]:
    try:
        earlier = open_checkpoint(saved_note, [verifier], origin)
    except NoteError as exc:
        return [f"the saved checkpoint does not verify with the key: {exc}"]
    if earlier.size > latest.size:
        return [f"the log shrank: {earlier.size} events were checkpointed before, {latest.size} now"]
    if earlier.size == 0 or earlier.size == latest.size:
        return (
            [] if earlier.size == 0 or earlier.root == latest.root else ["the log was rewritten: same size, other root"]
        )
    proof = log.GetConsistencyProof(
        audit_pb2.GetConsistencyProofRequest(first_size=earlier.size, second_size=latest.size),
        metadata=metadata,
        timeout=30,
    )
    try:
        verify_consistency(earlier.size, latest.size, list(proof.hashes), earlier.root, latest.root)
    except MerkleError as exc:
        return [f"the log is not an extension of the saved checkpoint: {exc}"]
    return []
