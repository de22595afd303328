"""`samhandling audit prove` fetches a self-contained proof of one event (C2SP tlog-proof)
through the gateway; `samhandling audit check-proof` verifies one offline with the log's
public key alone — no gateway, no database."""

from __future__ import annotations

from pathlib import Path

import grpc

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.audit.event_proof import verify_event_proof
from services.audit.leaves import COMMITMENT_SUFFIX

from .token import Token


def prove(address: str, token: Token, sequence: int, out: Path) -> int:
    metadata = (("authorization", f"{token.scheme} {token.access_token}"),)
    with grpc.insecure_channel(address) as channel:
        answer = audit_pb2_grpc.AuditServiceStub(channel).GetEventProof(
            audit_pb2.GetEventProofRequest(sequence=sequence), metadata=metadata, timeout=30
        )
    out.write_text(answer.proof)
    print(f"proof of event {sequence} written to {out}")
    return 0


def check_proof(proof: Path, vkey: str) -> int:
    """Exit 0 when the proof verifies with the key; the key's name is the log's origin. Says
    what a version-2 leaf holds only as commitments, and what the proof's openings (an auditor's
    proof) revealed and checked against them."""
    origin = vkey.split("+", 1)[0]
    try:
        text = proof.read_bytes().decode("utf-8")
    except OSError as exc:
        print(f"FAILED: cannot read the proof file {proof}: {exc.strerror}")
        return 1
    except UnicodeDecodeError:
        print(f"FAILED: the proof file {proof} is not text (a proof is a C2SP tlog-proof)")
        return 1
    try:
        proven = verify_event_proof(text, vkey, origin)
    except ValueError as exc:
        print(f"FAILED: {exc}")
        return 1
    print(
        f"the proof verifies: the event is in the log {origin} "
        f"({len(proven.leaf)} bytes of leaf data, version {proven.version}, "
        f"sequence {proven.members['sequence']}, under a checkpoint of {proven.tree_size} events)"
    )
    for name in proven.committed:
        if name in proven.opened:
            print(f"{name}: {proven.opened[name]!r} (opened; matches the leaf's commitment)")
        else:
            print(
                f"{name}: committed, not shown ({name}{COMMITMENT_SUFFIX} {proven.members.get(name + COMMITMENT_SUFFIX)})"
            )
    return 0
