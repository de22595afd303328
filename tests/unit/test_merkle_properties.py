"""Properties over trees of up to a few thousand leaves: every proof services.audit.merkle generates
verifies, and a single flipped bit in the leaf, a proof hash or a root makes it fail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit.merkle import (
    Frontier,
    MemoryNodes,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    subtree_consistency_proof,
    subtree_inclusion_proof,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

SIZE = 3000
LEAVES = [leaf_hash(f"event {i}".encode()) for i in range(SIZE)]


def _build() -> tuple[MemoryNodes, list[bytes]]:
    nodes, frontier, roots = MemoryNodes(), Frontier.empty(), [Frontier.empty().root()]
    for h in LEAVES:
        frontier, new = frontier.append(h)
        nodes.put(new)
        roots.append(frontier.root())
    return nodes, roots


NODES, ROOTS = _build()


def subtree_root(start: int, end: int) -> bytes:
    frontier = Frontier.empty()
    for h in LEAVES[start:end]:
        frontier = frontier.append(h)[0]
    return frontier.root()


def flip(h: bytes, bit: int) -> bytes:
    flipped = bytearray(h)
    flipped[bit // 8 % 32] ^= 1 << (bit % 8)
    return bytes(flipped)


def flips(proof: list[bytes], target: bytes, root: bytes, which: int, bit: int) -> list[tuple]:
    """The (proof, target, root) triples with one bit flipped: in a proof hash, the target, the root."""
    out = [(proof, flip(target, bit), root), (proof, target, flip(root, bit))]
    if proof:
        i = which % len(proof)
        out.append((proof[:i] + [flip(proof[i], bit)] + proof[i + 1 :], target, root))
    return out


sizes = st.integers(1, SIZE)
bits = st.integers(0, 255)


@given(data=st.data(), which=st.integers(0, 64), bit=bits)
def test_inclusion_proofs_verify_and_a_flipped_bit_fails(data, which, bit):
    size = data.draw(sizes)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, NODES)
    assert len(proof) <= (size - 1).bit_length()
    verify_inclusion(index, size, LEAVES[index], proof, ROOTS[size])
    for bad_proof, leaf, root in flips(proof, LEAVES[index], ROOTS[size], which, bit):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, bad_proof, root)


@given(data=st.data(), which=st.integers(0, 64), bit=bits)
def test_consistency_proofs_verify_and_a_flipped_bit_fails(data, which, bit):
    size2 = data.draw(sizes)
    size1 = data.draw(st.integers(1, size2))
    proof = consistency_proof(size1, size2, NODES)
    assert len(proof) <= (size2 - 1).bit_length() + 1
    verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])
    for bad_proof, root1, root2 in flips(proof, ROOTS[size1], ROOTS[size2], which, bit):
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, bad_proof, root1, root2)


@st.composite
def subtrees(draw) -> tuple[int, int, int]:
    """A valid subtree [start, end) of a tree of `size` leaves: start is a multiple of the smallest
    power of two that holds the subtree."""
    width = draw(st.integers(1, SIZE))
    aligned = 1 << (width - 1).bit_length()
    start = aligned * draw(st.integers(0, (SIZE - width) // aligned))
    size = draw(st.integers(start + width, SIZE))
    return start, start + width, size


@given(subtree=subtrees(), data=st.data(), which=st.integers(0, 64), bit=bits)
def test_subtree_proofs_verify_and_a_flipped_bit_fails(subtree, data, which, bit):
    start, end, size = subtree
    sub_root = subtree_root(start, end)
    index = data.draw(st.integers(start, end - 1))
    proof = subtree_inclusion_proof(index, start, end, NODES)
    verify_subtree_inclusion(index, start, end, LEAVES[index], proof, sub_root)
    for bad_proof, leaf, root in flips(proof, LEAVES[index], sub_root, which, bit):
        with pytest.raises(ProofError):
            verify_subtree_inclusion(index, start, end, leaf, bad_proof, root)

    proof = subtree_consistency_proof(start, end, size, NODES)
    verify_subtree_consistency(start, end, size, proof, sub_root, ROOTS[size])
    for bad_proof, target, root in flips(proof, sub_root, ROOTS[size], which, bit):
        with pytest.raises(ProofError):
            verify_subtree_consistency(start, end, size, bad_proof, target, root)
