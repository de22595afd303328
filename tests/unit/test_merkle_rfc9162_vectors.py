"""The RFC 9162 reference vectors of transparency-dev/merkle (Apache-2.0) against the verifiers of
services.audit.merkle: every file, one test each, named by its path.

The vectors are kept in the repository (tests/testdata/rfc9162, with their licence); every file is
one test. A missing folder fails the run: these tests never skip.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from services.audit.merkle import (
    Frontier,
    HashLengthError,
    MemoryNodes,
    MerkleError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

FOLDER = Path(__file__).parents[1] / "testdata" / "rfc9162"
KINDS = ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")
FILES = sorted(FOLDER.rglob("*.json")) if FOLDER.is_dir() else []

# Cases that expect success with placeholder hashes ("don't care 1"/"don't care 2", 12 bytes).
# The verifiers refuse any hash that is not 32 bytes (services/audit/merkle.py), so these fail on purpose.
_PLACEHOLDER = "its placeholder hashes are 12 bytes, and hashes that are not 32 bytes are refused"
STRICTER = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": _PLACEHOLDER,
    "subtreeconsistency/additional/sizes-are-equal-one-and-proof-is-empty.json": _PLACEHOLDER,
    "subtreeconsistency/additional/"
    "subtree-is-empty-sizes-are-equal-zero-subtree-root-valid-tree-root-random-proof-is-empty.json": _PLACEHOLDER,
    "subtreeconsistency/additional/"
    "subtree-is-empty-sizes-are-equal-one-subtree-root-valid-tree-root-random-proof-is-empty.json": _PLACEHOLDER,
}

# The tree the vectors' happy paths come from (RFC 6962 test data, as in transparency-dev/merkle).
TEST_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]


def _name(path: Path | None) -> str:
    return path.relative_to(FOLDER).as_posix() if path else "vectors-missing"


def _load(path: Path | None) -> tuple[str, dict]:
    if path is None:
        pytest.fail(f"no reference vectors under {FOLDER}: the repository is incomplete")
    return path.relative_to(FOLDER).parts[0], json.loads(path.read_text())


def _hashes(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


def _verify(kind: str, v: dict) -> None:
    b = base64.b64decode
    if kind == "inclusion":
        verify_inclusion(v["leafIdx"], v["treeSize"], b(v["leafHash"]), _hashes(v["proof"]), b(v["root"]))
    elif kind == "subtreeinclusion":
        verify_subtree_inclusion(
            v["leafIdx"], v["start"], v["end"], b(v["leafHash"]), _hashes(v["proof"]), b(v["root"])
        )
    elif kind == "consistency":
        verify_consistency(v["size1"], v["size2"], _hashes(v["proof"]), b(v["root1"]), b(v["root2"]))
    elif kind == "subtreeconsistency":
        verify_subtree_consistency(v["start"], v["end"], v["size"], _hashes(v["proof"]), b(v["root1"]), b(v["root2"]))
    else:
        pytest.fail(f"unknown vector kind {kind}")


def test_the_vectors_are_all_there():
    assert FOLDER.is_dir(), f"reference vectors missing: {FOLDER}"
    for kind in KINDS:
        assert list((FOLDER / kind).rglob("happy-path.json")), f"{kind} has no happy path"
    assert len(FILES) > 500
    for name in STRICTER:
        assert (FOLDER / name).is_file(), name


@pytest.mark.parametrize("path", FILES or [None], ids=_name)
def test_vector(path: Path | None):
    kind, vector = _load(path)
    name = _name(path)
    if name in STRICTER:
        assert vector["wantErr"] is False  # the deviation is real: the reference accepts it
        with pytest.raises(HashLengthError):
            _verify(kind, vector)
    elif vector["wantErr"]:
        with pytest.raises(MerkleError):
            _verify(kind, vector)
    else:
        _verify(kind, vector)


HAPPY_FROM_ZERO = [p for p in FILES if p.name == "happy-path.json" and "additional" not in p.parts]


@pytest.mark.parametrize("path", HAPPY_FROM_ZERO or [None], ids=_name)
def test_happy_path_proofs_are_the_ones_merkle_generates(path: Path | None):
    """The happy paths are proofs over the RFC 6962 test leaves: the generator must produce them."""
    kind, v = _load(path)
    frontier, nodes = Frontier.empty(), MemoryNodes()
    for data in TEST_LEAVES:
        frontier, new = frontier.append(leaf_hash(data))
        nodes.put(new)
    if kind in ("inclusion", "subtreeinclusion"):
        size = v.get("treeSize", v.get("end"))
        assert v.get("start", 0) == 0
        assert inclusion_proof(v["leafIdx"], size, nodes) == _hashes(v["proof"])
        assert tree_root(size, nodes) == base64.b64decode(v["root"])
    else:
        size1, size2 = (v["size1"], v["size2"]) if kind == "consistency" else (v["end"], v["size"])
        assert v.get("start", 0) == 0
        assert consistency_proof(size1, size2, nodes) == _hashes(v["proof"])
        assert tree_root(size1, nodes) == base64.b64decode(v["root1"])
        assert tree_root(size2, nodes) == base64.b64decode(v["root2"])
