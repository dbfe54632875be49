"""RFC 9162 (Certificate Transparency v2) Merkle tree: hashes, roots, proofs and their verifiers.

Definitions (RFC 9162 section 2.1, the same as RFC 6962 section 2.1):

- leaf hash ``SHA-256(0x00 || entry)``, interior node ``SHA-256(0x01 || left || right)``;
- the root of the empty tree is ``SHA-256("")``;
- a tree of n > 1 leaves splits at k, the largest power of two smaller than n: the left subtree holds
  leaves [0, k), the right subtree [k, n). Leaf indices are 0-based.

Everything here works on *leaf hashes* (``leaf_hash(entry)``), never on entries, so that a log can
keep the hashes apart from the entries. Proofs are lists of 32-byte hashes in RFC order: the hash
nearest the leaf (or the old tree) first, the one nearest the root last.

For a log of millions of entries, ``CompactRange`` keeps only the right edge of the tree (one hash
per set bit of the size): an append costs O(log n) hashes and memory, and so does its root. Its
``append`` returns every node the leaf completed, so a store can keep them; proofs are then read
from those stored nodes through a ``NodeReader`` (``inclusion_proof_from``, ``consistency_proof_from``)
with O(log n) reads per subtree. ``MerkleTree`` is such a store kept in memory. The functions that
take a list of leaf hashes (``inclusion_proof``, ``consistency_proof``) recompute what they need and
cost O(n); they are the simple, obviously correct version.

The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step and also check that the
proof has exactly the length its sizes imply. They return ``False`` for anything they cannot verify,
malformed input included; they do not raise.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeReader = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of the perfect subtree of 2**level leaves starting at leaf
``index << level`` (level 0 is the leaf hashes themselves)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_hash(value: object, what: str) -> bytes:
    if not _is_hash(value):
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")
    return bytes(value)  # type: ignore[arg-type]


# --- Incremental tree -------------------------------------------------------------------------


class CompactRange:
    """The right edge of a tree of ``size`` leaves: the roots of its perfect subtrees, left to right
    (largest first), one per set bit of ``size``. Enough to append and to compute the root.

    Restore one from what a store kept: ``CompactRange(size, hashes)``.
    """

    __slots__ = ("_size", "_hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        hashes = [_check_hash(h, "a subtree hash") for h in hashes]
        if not _is_size(size):
            raise ValueError(f"bad tree size {size!r}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} perfect subtrees, not {len(hashes)}")
        self._size = size
        self._hashes = hashes

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Appends a leaf hash. Returns the nodes it completed as ``(level, index, hash)``, the leaf
        itself first (level 0): what a store keeps to answer ``NodeReader`` calls later."""
        h = _check_hash(leaf, "a leaf hash")
        index, level = self._size, 0
        completed = [(0, index, h)]
        while index & 1:
            h = node_hash(self._hashes.pop(), h)
            index >>= 1
            level += 1
            completed.append((level, index, h))
        self._hashes.append(h)
        self._size += 1
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        h = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


class MerkleTree:
    """An append-only tree that keeps every perfect subtree hash in memory (about two hashes per leaf).

    Roots and proofs for any past size cost O(log n) node reads. The log's durable store will keep
    the same nodes (``CompactRange.append`` returns them); this class is the in-memory version.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._range = CompactRange()
        self._levels: list[list[bytes]] = []
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return self._range.size

    def append(self, leaf: bytes) -> int:
        """Appends a leaf hash; returns its index."""
        for level, index, h in self._range.append(leaf):
            if level == len(self._levels):
                self._levels.append([])
            nodes = self._levels[level]
            assert len(nodes) == index, "nodes are completed in order"
            nodes.append(h)
        return self.size - 1

    def node(self, level: int, index: int) -> bytes:
        if not (0 <= level < len(self._levels) and 0 <= index < len(self._levels[level])):
            raise IndexError(f"no complete subtree at level {level}, index {index}")
        return self._levels[level][index]

    def leaf_hash(self, index: int) -> bytes:
        return self.node(0, index)

    def root(self, size: int | None = None) -> bytes:
        if size is None:
            return self._range.root()
        self._check_size(size)
        return root_from(size, self.node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else self._check_size(size)
        return inclusion_proof_from(index, size, self.node)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else self._check_size(new_size)
        return consistency_proof_from(old_size, new_size, self.node)

    def _check_size(self, size: int) -> int:
        if not _is_size(size) or size > self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return size


# --- Roots and proofs from stored nodes ---------------------------------------------------------


def _range_hash(start: int, count: int, node: NodeReader) -> bytes:
    """MTH of leaves [start, start + count), count >= 1, start a multiple of the largest power of two
    in count: the perfect subtrees of count's set bits, largest first, folded from the right."""
    parts = []
    position = start
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            parts.append(node(level, position >> level))
            position += 1 << level
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = node_hash(left, h)
    return h


def root_from(size: int, node: NodeReader) -> bytes:
    """The root of the tree of the first ``size`` leaves."""
    if not _is_size(size):
        raise ValueError(f"bad tree size {size!r}")
    return EMPTY_ROOT if size == 0 else _range_hash(0, size, node)


def inclusion_proof_from(index: int, size: int, node: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1."""
    if not (_is_size(index) and _is_size(size) and index < size):
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:  # top-down; the RFC lists the proof bottom-up
        k = _split(n)
        if m < k:
            path.append(_range_hash(start + k, n - k, node))
            n = k
        else:
            path.append(_range_hash(start, k, node))
            start, m, n = start + k, m - k, n - k
    path.reverse()
    return path


def consistency_proof_from(old_size: int, new_size: int, node: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 section 2.1.4.1; empty when the sizes are equal."""
    if not (_is_size(old_size) and _is_size(new_size) and 0 < old_size <= new_size):
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    path: list[bytes] = []
    start, m, n, whole = 0, old_size, new_size, True
    while m != n:  # SUBPROOF(m, D[start:start+n], whole), top-down
        k = _split(n)
        if m <= k:
            path.append(_range_hash(start + k, n - k, node))
            n = k
        else:
            path.append(_range_hash(start, k, node))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        path.append(_range_hash(start, n, node))
    path.reverse()
    return path


# --- The same from a list of leaf hashes --------------------------------------------------------


def nodes_from_leaves(leaves: Sequence[bytes]) -> NodeReader:
    """A ``NodeReader`` that recomputes each subtree from the leaf hashes (O(2**level) per node)."""

    def node(level: int, index: int) -> bytes:
        start = index << level
        end = start + (1 << level)
        if index < 0 or end > len(leaves):
            raise IndexError(f"no complete subtree at level {level}, index {index}")
        return root(leaves[start:end])

    return node


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH of a list of leaf hashes (``leaf_hash(entry)`` each)."""
    compact = CompactRange()
    compact.extend(leaves)
    return compact.root()


def _check_leaves(size: int, leaves: Sequence[bytes]) -> None:
    if not _is_size(size) or size > len(leaves):
        raise ValueError(f"a tree of {size} leaves needs that many leaf hashes, not {len(leaves)}")


def inclusion_proof(index: int, size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The proof that leaf ``index`` is in the tree of the first ``size`` of these leaf hashes."""
    _check_leaves(size, leaves)
    return inclusion_proof_from(index, size, nodes_from_leaves(leaves))


def consistency_proof(old_size: int, new_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The proof that the tree of ``new_size`` of these leaf hashes extends the tree of ``old_size``."""
    _check_leaves(new_size, leaves)
    return consistency_proof_from(old_size, new_size, nodes_from_leaves(leaves))


# --- Verifiers ----------------------------------------------------------------------------------


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes an inclusion proof for leaf ``index`` in a tree of ``size`` leaves has:
    one per level below the point where the paths to ``index`` and ``size - 1`` part, plus one per
    left sibling above it."""
    if not (_is_size(index) and _is_size(size) and index < size):
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """How many hashes a consistency proof from ``old_size`` to ``new_size`` has (0 < old <= new)."""
    if not (_is_size(old_size) and _is_size(new_size) and 0 < old_size <= new_size):
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == new_size:
        return 0
    last = old_size - 1
    inner = (last ^ (new_size - 1)).bit_length()
    border = (last >> inner).bit_count()
    shift = (old_size & -old_size).bit_length() - 1  # the old tree's rightmost perfect subtree
    seed = 0 if old_size & last == 0 else 1  # its root is in the proof unless it is the old root itself
    return seed + inner - shift + border


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` show leaf ``index`` of the tree of ``size`` leaves
    with this ``root`` to have ``leaf_hash``?"""
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_size(index) and _is_size(size)):
        return False
    try:
        proof = list(proof)
    except TypeError:
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    # 1. leaf_index must be below tree_size.
    if index >= size:
        return False
    if len(proof) != inclusion_proof_length(index, size):
        return False
    # 2.-3.
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    # 4.
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> bool:
    """RFC 9162 section 2.1.4.2: does ``proof`` show the tree of ``new_size`` leaves with ``new_root``
    to extend the tree of ``old_size`` leaves with ``old_root``?

    The RFC defines the check for 0 < old_size < new_size. Equal sizes are consistent with an empty
    proof and equal roots. A proof from the empty tree (old_size 0) is refused: it would prove
    nothing, and a log's first checkpoint needs none.
    """
    if not (_is_hash(old_root) and _is_hash(new_root) and _is_size(old_size) and _is_size(new_size)):
        return False
    try:
        proof = list(proof)
    except TypeError:
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    if old_size == 0 or new_size < old_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if len(proof) != consistency_proof_length(old_size, new_size):
        return False
    # 1.
    if not proof:
        return False
    # 2.
    path = [bytes(old_root), *proof] if old_size & (old_size - 1) == 0 else proof
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = bytes(path[0])
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return sn == 0 and fr == old_root and sr == new_root
