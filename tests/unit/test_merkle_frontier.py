"""What the store relies on: appending through the frontier writes each node once and reads
nothing, proofs read O(log n) stored nodes, and a hash that is not 32 bytes is refused everywhere."""

from __future__ import annotations

import hashlib

import pytest

from services.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    HashLengthError,
    MemoryNodes,
    MerkleError,
    Node,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    subtree_consistency_proof,
    subtree_position,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

SIZE = 1500


class CountingNodes:
    """A NodeSource that counts reads and checks each one asks for a complete subtree."""

    def __init__(self, nodes: MemoryNodes) -> None:
        self.nodes, self.reads = nodes, 0

    def get_subtree_hash(self, start: int, end: int) -> bytes:
        subtree_position(start, end)
        self.reads += 1
        return self.nodes.get_subtree_hash(start, end)


@pytest.fixture(scope="module")
def log() -> tuple[MemoryNodes, list[Frontier], list[Node]]:
    nodes, frontiers, written = MemoryNodes(), [Frontier.empty()], []
    for i in range(SIZE):
        frontier, new = frontiers[-1].append(leaf_hash(i.to_bytes(4, "big")))
        nodes.put(new)
        written.extend(new)
        frontiers.append(frontier)
    return nodes, frontiers, written


def test_the_empty_tree_has_the_hash_of_the_empty_string():
    assert EMPTY_ROOT == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert Frontier.empty().root() == EMPTY_ROOT == tree_root(0, MemoryNodes())


def test_hashing_is_domain_separated():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) != node_hash(right, left)


def test_append_writes_the_leaf_and_each_parent_it_completes(log):
    _, frontiers, written = log
    assert frontiers[3].append(leaf_hash(b"x"))[1] == [
        Node(0, 3, leaf_hash(b"x")),
        Node(1, 1, node_hash(frontiers[3].hashes[1], leaf_hash(b"x"))),
        Node(2, 0, node_hash(frontiers[3].hashes[0], node_hash(frontiers[3].hashes[1], leaf_hash(b"x")))),
    ]
    # Every complete subtree of the final tree is written exactly once, under its position.
    positions = [(node.level, node.index) for node in written]
    assert len(positions) == len(set(positions)) == sum(SIZE >> level for level in range(SIZE.bit_length()))
    for node in written:
        assert subtree_position(node.start, node.end) == (node.level, node.index)


def test_the_frontier_holds_one_hash_per_set_bit_and_is_read_back_from_the_store(log):
    nodes, frontiers, _ = log
    for size in (0, 1, 2, 3, 255, 256, 1023, SIZE):
        assert len(frontiers[size].hashes) == size.bit_count()
        counting = CountingNodes(nodes)
        assert Frontier.from_source(size, counting) == frontiers[size]
        assert counting.reads == size.bit_count()


def test_a_frontier_must_match_its_size():
    with pytest.raises(MerkleError):
        Frontier(3, (EMPTY_ROOT,))
    with pytest.raises(HashLengthError):
        Frontier(1, (b"\x00" * 31,))


@pytest.mark.parametrize("size", [2, 3, 5, 64, 65, 1000, 1023, 1024, SIZE])
def test_proofs_read_logarithmically_many_nodes(log, size):
    nodes, frontiers, _ = log
    bound = 2 * size.bit_length()
    for index in {0, 1, size // 3, size - 2, size - 1}:
        counting = CountingNodes(nodes)
        proof = inclusion_proof(index, size, counting)
        assert counting.reads <= bound
        verify_inclusion(index, size, leaf_hash(index.to_bytes(4, "big")), proof, frontiers[size].root())
    for size1 in {1, size // 2, size - 1, size}:
        counting = CountingNodes(nodes)
        proof = consistency_proof(size1, size, counting)
        assert counting.reads <= bound
        verify_consistency(size1, size, proof, frontiers[size1].root(), frontiers[size].root())


def test_positions_are_only_for_complete_aligned_subtrees():
    assert subtree_position(0, 1) == (0, 0)
    assert subtree_position(8, 12) == (2, 2)
    for start, end in ((0, 3), (2, 6), (4, 4), (5, 4), (-1, 0)):
        with pytest.raises(MerkleError):
            subtree_position(start, end)


def test_a_hash_that_is_not_32_bytes_is_refused(log):
    nodes, frontiers, _ = log
    good = leaf_hash(b"a")
    for bad in (b"", good[:31], good + b"\x00", bytearray(good), good.hex()):
        with pytest.raises(HashLengthError):
            node_hash(bad, good)
        with pytest.raises(HashLengthError):
            node_hash(good, bad)
        with pytest.raises(HashLengthError):
            frontiers[5].append(bad)
        with pytest.raises(HashLengthError):
            MemoryNodes([Node(0, 0, bad)])
        with pytest.raises(HashLengthError):
            verify_inclusion(0, 1, bad, [], good)
        with pytest.raises(HashLengthError):
            verify_inclusion(0, 1, good, [], bad)
        with pytest.raises(HashLengthError):
            verify_inclusion(0, 2, good, [bad], good)
        with pytest.raises(HashLengthError):
            verify_consistency(1, 2, [bad], good, good)


def test_a_stored_node_that_is_not_32_bytes_is_refused(log):
    nodes, _, _ = log

    class Truncating:
        def get_subtree_hash(self, start: int, end: int) -> bytes:
            return nodes.get_subtree_hash(start, end)[:31]

    with pytest.raises(HashLengthError):
        inclusion_proof(3, 10, Truncating())


def test_proofs_outside_the_tree_are_refused(log):
    nodes, frontiers, _ = log
    for index, size in ((0, 0), (5, 5), (-1, 5), (True, 5)):
        with pytest.raises(MerkleError):
            inclusion_proof(index, size, nodes)
    for size1, size2 in ((0, 5), (6, 5)):
        with pytest.raises(MerkleError):
            consistency_proof(size1, size2, nodes)
    for start, end, size in ((1, 3, 8), (2, 2, 8), (0, 9, 8)):
        with pytest.raises(MerkleError):
            subtree_consistency_proof(start, end, size, nodes)
    with pytest.raises(MerkleError):  # beyond what is stored
        inclusion_proof(0, SIZE + 1, nodes)


def test_consistency_from_the_empty_tree_is_refused():
    """The empty tree is a prefix of every tree: such a proof would show nothing."""
    with pytest.raises(ProofError):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_consistency(0, 3, [], EMPTY_ROOT, leaf_hash(b"x"))
