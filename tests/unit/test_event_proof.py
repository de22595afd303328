"""C2SP tlog-proofs of audit events: built from a tree and a signed checkpoint, verified offline with
only the log's vkey and origin, and refused when any part is changed. LEAVES are version 1, as every
proof made before version 2 holds; V2_TREE mixes both versions, with and without openings."""

from __future__ import annotations

import base64

import pytest

from services.audit import merkle
from services.audit.checkpoints import NoteSigner
from services.audit.event_proof import HEADER, EventProofError, format_event_proof, verify_event_proof
from services.audit.leaves import leaf_bytes
from services.audit.merkle import Frontier, MemoryNodes
from services.audit.signer import LogSigner
from tests.fixtures.event_proofs import (
    LEAVES,
    ORIGIN,
    PID,
    SIGNER,
    SIZE,
    V2_TREE,
    VKEY,
    WORDS,
    bad_openings,
    build,
    build_v2,
    record,
    swap_line,
)


@pytest.mark.parametrize("index", range(SIZE))
def test_round_trip_offline_with_only_the_vkey(index):
    text = build(index)
    assert text.startswith(f"{HEADER}\nextra {base64.b64encode(LEAVES[index]).decode()}\nindex {index}\n")
    assert verify_event_proof(text, VKEY, ORIGIN).leaf == LEAVES[index]


def test_a_single_leaf_tree_has_no_proof_hashes():
    text = build(0, size=1)
    assert "\nindex 0\n\n" in text
    assert verify_event_proof(text, VKEY, ORIGIN).leaf == LEAVES[0]


def flip_b64(value: str) -> str:
    data = bytearray(base64.b64decode(value))
    data[-1] ^= 1
    return base64.b64encode(bytes(data)).decode()


def tampered() -> dict[str, str]:
    text = build(2)
    lines = text.split("\n")
    other_leaf = base64.b64encode(LEAVES[3]).decode()
    header, _, note = text.partition("\n\n")
    body, _, signatures = note.partition("\n\n")
    origin, size, root = body.split("\n")
    signer, _, signature = signatures.rpartition(" ")
    return {
        "leaf byte": swap_line(text, 1, "extra " + flip_b64(lines[1].removeprefix("extra "))),
        "another leaf": swap_line(text, 1, "extra " + other_leaf),
        "proof hash": swap_line(text, 3, flip_b64(lines[3])),
        "proof hash dropped": "\n".join(lines[:3] + lines[4:]),
        "proof hash added": "\n".join(lines[:4] + lines[3:]),
        "short hash": swap_line(text, 3, base64.b64encode(b"x" * 31).decode()),
        "index": swap_line(text, 2, "index 3"),
        "index outside the tree": swap_line(text, 2, f"index {SIZE}"),
        "index with leading zero": swap_line(text, 2, "index 02"),
        "checkpoint root": f"{header}\n\n{origin}\n{size}\n{flip_b64(root)}\n\n{signatures}",
        "checkpoint size": f"{header}\n\n{origin}\n{SIZE + 1}\n{root}\n\n{signatures}",
        "checkpoint signature": f"{header}\n\n{body}\n\n{signer} {flip_b64(signature.rstrip())}\n",
        "header": text.replace(HEADER, "c2sp.org/tlog-proof@v2", 1),
        "no leaf data": "\n".join(lines[:1] + lines[2:]),
        "non-canonical base64": swap_line(text, 3, lines[3].rstrip("=")),
        "no checkpoint": header + "\n\n",
    }


@pytest.mark.parametrize("name", sorted(tampered()))
def test_tampered_proofs_are_refused(name):
    with pytest.raises(EventProofError):
        verify_event_proof(tampered()[name], VKEY, ORIGIN)


def test_another_key_or_origin_is_refused():
    text = build(4)
    other = LogSigner(ORIGIN, NoteSigner.generate(ORIGIN)).verifier.vkey
    with pytest.raises(EventProofError):
        verify_event_proof(text, other, ORIGIN)
    with pytest.raises(EventProofError):
        verify_event_proof(text, VKEY, "samhandling.test/other")
    with pytest.raises(EventProofError):
        verify_event_proof(text, "not a vkey", ORIGIN)


def test_a_proven_leaf_must_name_its_own_sequence():
    """A leaf logged at one index is refused when presented as the event of another sequence."""
    wrong = leaf_bytes(record("k"), event_id="id", sequence=9)
    nodes, frontier = MemoryNodes(), Frontier.empty()
    for leaf in [LEAVES[0], wrong]:
        frontier, new = frontier.append(merkle.leaf_hash(leaf))
        nodes.put(new)
    text = format_event_proof(1, wrong, merkle.inclusion_proof(1, 2, nodes), SIGNER.sign(2, frontier.root()))
    with pytest.raises(EventProofError, match="sequence 2"):
        verify_event_proof(text, VKEY, ORIGIN)


# ---- version 2: commitments, and the openings an auditor's proof carries -----------------------


@pytest.mark.parametrize("index", range(SIZE))
def test_a_mixed_log_proves_both_versions(index):
    proven = verify_event_proof(build_v2(index, opened=False), VKEY, ORIGIN)
    assert (proven.leaf, proven.version, proven.opened) == (V2_TREE[index], 1 if index < 3 else 2, {})
    assert proven.committed == (() if index < 3 else ("actor_pid", "justification"))


def test_a_proof_without_openings_holds_neither_value():
    """A patient's proof: the commitments, not the person number nor the justification."""
    text = build_v2(4, opened=False)
    extra = base64.b64decode(text.split("\n")[1].removeprefix("extra "))
    assert extra == V2_TREE[4]
    assert PID.encode() not in text.encode() + extra and b"bevisstl" not in extra.lower()


def test_an_auditors_proof_opens_both_commitments():
    text = build_v2(5, opened=True)
    proven = verify_event_proof(text, VKEY, ORIGIN)
    assert proven.leaf == V2_TREE[5]
    assert proven.opened == {"actor_pid": PID, "justification": WORDS}
    extra = base64.b64decode(text.split("\n")[1].removeprefix("extra "))
    assert extra.count(b"\n") == 1  # the one separator: the justification's line feed is escaped


@pytest.mark.parametrize("name", sorted(bad_openings()))
def test_openings_that_do_not_match_are_refused(name):
    with pytest.raises(EventProofError):
        verify_event_proof(bad_openings()[name], VKEY, ORIGIN)
