"""The audit log's Merkle tree, pure: RFC 9162 §2.1 hashing, inclusion and consistency proofs,
their subtree variants (the tlog-subtrees definitions used by transparency-dev/merkle), and the
frontier that lets the store append in O(log n) without re-reading the tree.

Ranges are half-open leaf intervals [start, end). A *complete* range holds a power of two of
leaves and starts at a multiple of it: it is a node that never changes once written, stored by the
store under `subtree_position(start, end)` (level, index). Every other range hash (the root of a
tree whose size is not a power of two, a right-border sibling) is folded from O(log n) complete
ranges, so proofs need O(log n) reads from a `NodeSource`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol

HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1  # tree sizes are uint64 on the wire (checkpoints, RFC 9162)
EMPTY_ROOT = hashlib.sha256(b"").digest()


class MerkleError(ValueError):
    """Invalid arguments: a size, index or range that does not exist in the tree."""


class HashLengthError(MerkleError):
    """A hash that is not 32 bytes: refused before any hashing, wherever it comes from."""


class ProofError(MerkleError):
    """A proof that does not verify."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    _check_hash("left child", left)
    _check_hash("right child", right)
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeSource(Protocol):
    def get_subtree_hash(self, start: int, end: int) -> bytes:
        """Hash of the complete range [start, end) (see `subtree_position`); leaves are [i, i + 1)."""
        ...


class Node(NamedTuple):
    """A complete range to store: leaves [index * 2**level, (index + 1) * 2**level)."""

    level: int
    index: int  # type: ignore[assignment]  # shadows tuple.index (a method), which nothing calls on a Node
    hash: bytes

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


def subtree_position(start: int, end: int) -> tuple[int, int]:
    """(level, index) of a complete range; MerkleError for any other range."""
    _check_size("start", start)
    _check_size("end", end)
    width = end - start
    if width <= 0 or width & (width - 1) or start % width:
        raise MerkleError(f"[{start}, {end}) is not a complete subtree")
    level = width.bit_length() - 1
    return level, start >> level


@dataclass(frozen=True)
class Frontier:
    """The roots of the maximal complete subtrees of a tree of `size` leaves, left to right
    (one per set bit of size, largest first): all an appender needs to extend the tree."""

    size: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_size("size", self.size)
        if len(self.hashes) != self.size.bit_count():
            raise MerkleError(f"a tree of {self.size} leaves has {self.size.bit_count()} frontier hashes")
        for h in self.hashes:
            _check_hash("frontier hash", h)

    @classmethod
    def empty(cls) -> Frontier:
        return cls(0, ())

    @classmethod
    def from_source(cls, size: int, source: NodeSource) -> Frontier:
        """Reads the frontier of a stored tree (O(log n) reads), e.g. when the store starts."""
        _check_size("size", size)
        return cls(size, tuple(_read(source, a, b) for a, b in _complete_cover(0, size)))

    def root(self) -> bytes:
        return _fold(self.hashes)

    def append(self, leaf: bytes) -> tuple[Frontier, list[Node]]:
        """The frontier after one more leaf (its hash), and the nodes that became complete: the leaf
        itself and each parent it completes, bottom-up. O(log n), no reads."""
        _check_hash("leaf hash", leaf)
        if self.size == MAX_TREE_SIZE:
            raise MerkleError("the tree is full")
        nodes = [Node(0, self.size, leaf)]
        hashes = list(self.hashes)
        current, level, index = leaf, 0, self.size
        while index & 1:  # a left sibling at this level is complete: it is the last frontier hash
            current = node_hash(hashes.pop(), current)
            level, index = level + 1, index >> 1
            nodes.append(Node(level, index, current))
        hashes.append(current)
        return Frontier(self.size + 1, tuple(hashes)), nodes


class MemoryNodes:
    """A NodeSource over a dict, for tests and offline tools; the store's table plays this part."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self._hashes: dict[tuple[int, int], bytes] = {}
        self.put(nodes)

    def put(self, nodes: Iterable[Node]) -> None:
        for node in nodes:
            _check_hash("node hash", node.hash)
            self._hashes[(node.level, node.index)] = node.hash

    def get_subtree_hash(self, start: int, end: int) -> bytes:
        try:
            return self._hashes[subtree_position(start, end)]
        except KeyError:
            raise MerkleError(f"no stored node for [{start}, {end})") from None


def tree_root(size: int, source: NodeSource) -> bytes:
    """MTH of the first `size` leaves: O(log n) reads."""
    return Frontier.from_source(size, source).root()


# Proof generation. Each proof is the list of sibling hashes along one path, bottom-up, so that
# generation and verification share the path (`_path`) and differ only in where hashes come from.


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
    _check_inclusion(index, 0, size)
    return _prove(_path(0, size, index, index + 1), source)


def subtree_inclusion_proof(index: int, start: int, end: int, source: NodeSource) -> list[bytes]:
    """The inclusion proof of leaf `index` in the valid subtree [start, end)."""
    _check_subtree(start, end)
    _check_inclusion(index, start, end)
    return _prove(_path(start, end, index, index + 1), source)


def consistency_proof(size1: int, size2: int, source: NodeSource) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1; empty when the sizes are equal."""
    _check_consistency(size1, size2)
    return _prove(_path(0, size2, 0, size1), source)


def subtree_consistency_proof(start: int, end: int, size: int, source: NodeSource) -> list[bytes]:
    """The proof that the valid, non-empty subtree [start, end) is part of the tree of `size` leaves."""
    _check_subtree(start, end)
    if start == end:
        raise MerkleError("an empty subtree needs no proof")
    _check_size("size", size)
    if end > size:
        raise MerkleError(f"subtree [{start}, {end}) is outside a tree of {size} leaves")
    return _prove(_path(0, size, start, end), source)


# Verification: raises ProofError (HashLengthError for a malformed hash) unless the proof holds.


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    _check_hashes(leaf=leaf, root=root, proof=proof)
    _refuse(_check_inclusion, index, 0, size)
    _verify(_path(0, size, index, index + 1), leaf, proof, root)


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], subtree_root: bytes
) -> None:
    _check_hashes(leaf=leaf, root=subtree_root, proof=proof)
    _refuse(_check_subtree, start, end)
    _refuse(_check_inclusion, index, start, end)
    _verify(_path(start, end, index, index + 1), leaf, proof, subtree_root)


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Size 0 is refused: the empty tree is consistent with every tree, so such a proof shows nothing."""
    _check_hashes(root1=root1, root2=root2, proof=proof)
    _refuse(_check_consistency, size1, size2)
    _verify(_path(0, size2, 0, size1), root1, proof, root2)


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> None:
    """An empty subtree [start, start) is part of any tree at least that large; its root must be
    EMPTY_ROOT and its proof empty."""
    _check_hashes(subtree_root=subtree_root, root=root, proof=proof)
    _refuse(_check_subtree, start, end)
    _refuse(_check_size, "size", size)
    if end > size:
        raise ProofError(f"subtree [{start}, {end}) is outside a tree of {size} leaves")
    if start == end:
        if proof or subtree_root != EMPTY_ROOT:
            raise ProofError("an empty subtree has the empty root and an empty proof")
        return
    _verify(_path(0, size, start, end), subtree_root, proof, root)


class _Turn(Enum):
    LEFT = "left"  # the target lies in the left child; the sibling is the right child
    RIGHT = "right"  # the target lies in the right child; the sibling is the left child
    SPLIT = "split"  # the target spans both children: the left child is part of it


class _Step(NamedTuple):
    turn: _Turn
    sibling: tuple[int, int]


class _Path(NamedTuple):
    steps: list[_Step]  # top-down
    seed: tuple[int, int] | None  # the node the proof starts from, or None when it is the target itself


def _path(lo: int, hi: int, start: int, end: int) -> _Path:
    """The path in the tree over leaves [lo, hi) down to the valid subtree [start, end) (a leaf for
    inclusion, a prefix for consistency). Where the target spans both children its left part is a
    complete left child, and the walk goes on into the right child: the node reached there is part
    of the target but unknown to the verifier, so the proof starts with its hash (the `false` case of
    RFC 9162's SUBPROOF)."""
    steps: list[_Step] = []
    known = True
    while (start, end) != (lo, hi):
        mid = lo + _split(hi - lo)
        if end <= mid:
            steps.append(_Step(_Turn.LEFT, (mid, hi)))
            hi = mid
        elif start >= mid:
            steps.append(_Step(_Turn.RIGHT, (lo, mid)))
            lo = mid
        else:  # start == lo for any valid subtree: it is aligned to a power of two above its size
            steps.append(_Step(_Turn.SPLIT, (lo, mid)))
            lo = start = mid
            known = False
    return _Path(steps, None if known else (lo, hi))


def _prove(path: _Path, source: NodeSource) -> list[bytes]:
    ranges = ([path.seed] if path.seed is not None else []) + [step.sibling for step in reversed(path.steps)]
    return [_range_hash(source, a, b) for a, b in ranges]


def _verify(path: _Path, target: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Recomputes the root from the proof, and (when the proof starts below the target) the target
    from the proof's hashes inside it; both must match."""
    needed = len(path.steps) + (path.seed is not None)
    if len(proof) != needed:
        raise ProofError(f"the proof has {len(proof)} hashes, this path needs {needed}")
    siblings = list(proof)
    inside = up = siblings.pop(0) if path.seed is not None else target
    for step, sibling in zip(reversed(path.steps), siblings, strict=True):
        up = node_hash(up, sibling) if step.turn is _Turn.LEFT else node_hash(sibling, up)
        if step.turn is _Turn.SPLIT:
            inside = node_hash(sibling, inside)
    if inside != target:
        raise ProofError("the proof does not match the subtree's root")
    if up != root:
        raise ProofError("the proof does not match the tree's root")


def _range_hash(source: NodeSource, start: int, end: int) -> bytes:
    return _fold([_read(source, a, b) for a, b in _complete_cover(start, end)])


def _complete_cover(start: int, end: int) -> list[tuple[int, int]]:
    """The complete ranges MTH(D[start:end]) folds, largest first (start is aligned; see _path)."""
    cover, width = [], 1 << max(end - start, 1).bit_length()
    while start < end:
        width >>= 1
        if end - start >= width:
            cover.append((start, start + width))
            start += width
    return cover


def _fold(hashes: Sequence[bytes]) -> bytes:
    """node(h1, node(h2, ... node(h[-2], h[-1]))): MTH's split at the largest power of two, applied
    to a list of complete subtrees of strictly decreasing size."""
    if not hashes:
        return EMPTY_ROOT
    current = hashes[-1]
    for h in reversed(hashes[:-1]):
        current = node_hash(h, current)
    return current


def _read(source: NodeSource, start: int, end: int) -> bytes:
    h = source.get_subtree_hash(start, end)
    _check_hash(f"stored node [{start}, {end})", h)
    return h


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_inclusion(index: int, start: int, end: int) -> None:
    _check_size("index", index)
    _check_size("size", end)
    if not start <= index < end:
        raise MerkleError(f"leaf {index} is outside [{start}, {end})")


def _check_consistency(size1: int, size2: int) -> None:
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size1 == 0:
        raise MerkleError("a consistency proof from the empty tree is meaningless")
    if size1 > size2:
        raise MerkleError(f"size1 {size1} is larger than size2 {size2}")


def _check_subtree(start: int, end: int) -> None:
    """A valid subtree: start <= end, and start a multiple of the smallest power of two >= its size,
    so that [start, end) is a node (or a left part of one) of every tree that contains it."""
    _check_size("start", start)
    _check_size("end", end)
    if start > end:
        raise MerkleError(f"subtree start {start} is after its end {end}")
    if start and end > start and start % (1 << (end - start - 1).bit_length()):
        raise MerkleError(f"[{start}, {end}) is not a valid subtree: start is not aligned to its size")


def _check_size(name: str, value: int) -> None:
    if type(value) is not int or not 0 <= value <= MAX_TREE_SIZE:
        raise MerkleError(f"{name} must be an integer in [0, 2**64): {value!r}")


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes):
        raise HashLengthError(f"{name} must be {HASH_SIZE} bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise HashLengthError(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_hashes(proof: Sequence[bytes], **named: bytes) -> None:
    for name, value in named.items():
        _check_hash(name, value)
    for i, h in enumerate(proof):
        _check_hash(f"proof[{i}]", h)


def _refuse(check: Callable[..., None], *args: object) -> None:
    """Runs an argument check inside verification, where any failure means the proof is refused."""
    try:
        check(*args)
    except MerkleError as exc:
        raise ProofError(str(exc)) from None
