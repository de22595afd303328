"""services.audit.merkle against a second, deliberately naive implementation written straight from
the text of RFC 9162: the recursive MTH, PATH and PROOF/SUBPROOF of §2.1.1-2.1.4.1 and the
verification algorithms of §2.1.3.2 and §2.1.4.2, for every tree of up to 64 leaves."""

from __future__ import annotations

import hashlib

import pytest

from services.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryNodes,
    MerkleError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    subtree_consistency_proof,
    subtree_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

MAX_LEAVES = 64
DATA = [f"entry {i}".encode() for i in range(MAX_LEAVES)]


# --- The naive implementation: the RFC's definitions, on lists of entries -------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + d[0])
    k = largest_power_of_two_below(n)
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def subtree_subproof(start: int, end: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF generalised to a subtree [start, end) (tlog-subtrees): where the subtree spans both
    halves it starts at 0, and the rest is proven like the m > k case above."""
    n = len(d)
    if start == 0 and end == n:
        return [] if b else [mth(d)]
    k = largest_power_of_two_below(n)
    if end <= k:
        return subtree_subproof(start, end, d[:k], b) + [mth(d[k:])]
    if start >= k:
        return subtree_subproof(start - k, end - k, d[k:], b) + [mth(d[:k])]
    return subtree_subproof(0, end - k, d[k:], False) + [mth(d[:k])]


def rfc_verify_inclusion(leaf_index: int, tree_size: int, h: bytes, inclusion_path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = h
    for p in inclusion_path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path_: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step (defined for 0 < first < second)."""
    if not path_:
        return False
    if first & (first - 1) == 0:
        path_ = [first_hash] + path_
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path_[0]
    for c in path_[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha256(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


# --- The comparison -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree() -> tuple[MemoryNodes, list[Frontier]]:
    """The implementation's store for the 64 entries, and its frontier at every size."""
    nodes, frontiers = MemoryNodes(), [Frontier.empty()]
    for data in DATA:
        frontier, new = frontiers[-1].append(leaf_hash(data))
        nodes.put(new)
        frontiers.append(frontier)
    return nodes, frontiers


def merkle_verifies(check, *args) -> bool:
    try:
        check(*args)
    except MerkleError:
        return False
    return True


def flip(h: bytes, position: int = 0, bit: int = 1) -> bytes:
    flipped = bytearray(h)
    flipped[position] ^= bit
    return bytes(flipped)


def corruptions(hashes: list[bytes], extra: bytes) -> list[list[bytes]]:
    """Every single-bit flip at the two ends of each hash, a dropped last hash, an added hash."""
    out = []
    for i, h in enumerate(hashes):
        for position, bit in ((0, 1), (31, 128)):
            out.append(hashes[:i] + [flip(h, position, bit)] + hashes[i + 1 :])
    if hashes:
        out.append(hashes[:-1])
    out.append(hashes + [extra])
    out.append([extra] + hashes)
    return out


def test_roots_match_mth(tree):
    nodes, frontiers = tree
    assert mth([]) == EMPTY_ROOT == frontiers[0].root()
    for n in range(MAX_LEAVES + 1):
        assert frontiers[n].root() == mth(DATA[:n]), n
        assert tree_root(n, nodes) == mth(DATA[:n]), n
        assert Frontier.from_source(n, nodes) == frontiers[n]


def test_inclusion_proofs_match_path_and_both_verifiers_agree(tree):
    nodes, _ = tree
    for n in range(1, MAX_LEAVES + 1):
        d, root = DATA[:n], mth(DATA[:n])
        for m in range(n):
            generated = inclusion_proof(m, n, nodes)
            assert generated == path(m, d), (m, n)
            leaf = leaf_hash(d[m])
            assert rfc_verify_inclusion(m, n, leaf, generated, root)
            verify_inclusion(m, n, leaf, generated, root)
            for bad in corruptions(generated, root):
                assert not rfc_verify_inclusion(m, n, leaf, bad, root)
                assert not merkle_verifies(verify_inclusion, m, n, leaf, bad, root)
            for other in {m - 1, m + 1, m ^ 2, n} - {m}:
                expected = 0 <= other < n and rfc_verify_inclusion(other, n, leaf, generated, root)
                assert merkle_verifies(verify_inclusion, other, n, leaf, generated, root) == expected


def test_consistency_proofs_match_proof_and_both_verifiers_agree(tree):
    nodes, _ = tree
    for n in range(1, MAX_LEAVES + 1):
        root2 = mth(DATA[:n])
        for m in range(1, n + 1):
            root1 = mth(DATA[:m])
            generated = consistency_proof(m, n, nodes)
            if m == n:
                assert generated == []
                verify_consistency(m, n, generated, root1, root2)
                continue
            assert generated == proof(m, DATA[:n]), (m, n)
            assert rfc_verify_consistency(m, n, root1, root2, generated)
            verify_consistency(m, n, generated, root1, root2)
            for bad in corruptions(generated, root1):
                assert not rfc_verify_consistency(m, n, root1, root2, bad)
                assert not merkle_verifies(verify_consistency, m, n, bad, root1, root2)
            for wrong in (flip(root1), mth(DATA[: m - 1]), root2):
                assert not rfc_verify_consistency(m, n, wrong, root2, generated)
                assert not merkle_verifies(verify_consistency, m, n, generated, wrong, root2)
            for m2, n2 in {(m - 1, n), (m + 1, n), (m ^ 2, n), (m, n + 1), (m, n - 1)} - {(m, n)}:
                expected = 0 < m2 < n2 and rfc_verify_consistency(m2, n2, root1, root2, generated)
                assert merkle_verifies(verify_consistency, m2, n2, generated, root1, root2) == expected


def valid_subtrees(n: int):
    for end in range(1, n + 1):
        for start in range(end):
            width = end - start
            if start % (1 << (width - 1).bit_length()) == 0:
                yield start, end


def test_subtree_proofs_match_their_definitions(tree):
    nodes, _ = tree
    for n in range(1, 33):
        root = mth(DATA[:n])
        for start, end in valid_subtrees(n):
            sub = DATA[start:end]
            sub_root = mth(sub)
            index = (start + end) // 2
            generated = subtree_inclusion_proof(index, start, end, nodes)
            assert generated == path(index - start, sub)
            verify_subtree_inclusion(index, start, end, leaf_hash(DATA[index]), generated, sub_root)

            generated = subtree_consistency_proof(start, end, n, nodes)
            assert generated == subtree_subproof(start, end, DATA[:n], True), (start, end, n)
            verify_subtree_consistency(start, end, n, generated, sub_root, root)
            for bad in corruptions(generated, root):
                assert not merkle_verifies(verify_subtree_consistency, start, end, n, bad, sub_root, root)
            for wrong in (flip(sub_root), flip(root)):
                assert not merkle_verifies(verify_subtree_consistency, start, end, n, generated, wrong, root)
                assert not merkle_verifies(verify_subtree_consistency, start, end, n, generated, sub_root, wrong)


def test_a_subtree_consistency_proof_from_zero_is_a_consistency_proof(tree):
    nodes, _ = tree
    for n in range(1, MAX_LEAVES + 1):
        for m in range(1, n + 1):
            assert subtree_consistency_proof(0, m, n, nodes) == consistency_proof(m, n, nodes)
