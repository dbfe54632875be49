"""The RFC 9162 Merkle tree of the transparency log (ADR 0010).

Known answers: the RFC 6962 test leaves, with the node hashes, roots, compact ranges and proofs that
github.com/transparency-dev/merkle publishes for them (testonly/constants.go, testonly/reference_test.go
and the happy paths of testdata/inclusion and testdata/consistency). Then every proof of every tree up
to 64 leaves, checked against the RFC's recursive definitions written out again here, verified, and
refused once tampered with.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from shared.evidence import merkle
from shared.evidence.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    consistency_proof,
    consistency_proof_length,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    node_hash,
    nodes_from_leaves,
    root,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# RFC 6962's test leaves (certificate-transparency's merkle_tree_test.cc; transparency-dev/merkle LeafInputs).
ENTRIES = [h(""), h("00"), h("10"), h("2021"), h("3031"), h("40414243"), h("5051525354555657"),
           h("606162636465666768696a6b6c6d6e6f")]
LEAVES = [leaf_hash(e) for e in ENTRIES]

# transparency-dev/merkle testonly.NodeHashes(): level, then index within the level.
NODES = [
    [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
     h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
     h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
     h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
     h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
     h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
     h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
     h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1")],
    [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
     h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
     h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
     h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")],
    [h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
     h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# testonly.RootHashes(): the root of the first n leaves, n = 0..8.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# testonly.CompactTrees(): (level, index) of the perfect subtrees that make up each size.
COMPACT = [[], [(0, 0)], [(1, 0)], [(1, 0), (0, 2)], [(2, 0)], [(2, 0), (0, 4)], [(2, 0), (1, 2)],
           [(2, 0), (1, 2), (0, 6)], [(3, 0)]]

# (index, size) -> proof: reference_test.go TestRefInclusionProof and testdata/inclusion/*/happy-path.json.
KNOWN_INCLUSION = {
    (0, 1): [],
    (0, 2): [NODES[0][1]],
    (1, 2): [NODES[0][0]],
    (2, 3): [NODES[1][0]],
    (1, 5): [NODES[0][0], NODES[1][1], NODES[0][4]],
    (0, 8): [NODES[0][1], NODES[1][1], NODES[2][1]],
    (5, 8): [NODES[0][4], NODES[1][3], NODES[2][0]],
}

# (old size, new size) -> proof: TestRefConsistencyProof and testdata/consistency/*/happy-path.json.
KNOWN_CONSISTENCY = {
    (1, 1): [],
    (1, 8): [NODES[0][1], NODES[1][1], NODES[2][1]],
    (2, 5): [NODES[1][1], NODES[0][4]],
    (6, 8): [NODES[1][2], NODES[1][3], NODES[2][0]],
    (6, 7): [NODES[1][2], NODES[0][6], NODES[2][0]],
}


# --- RFC 6962 section 2.1, written out again, recursively, as a reference ----------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, leaves[:k], whole) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [leaf_hash(b"hallmark entry %d" % i) for i in range(n)]


N = 64
BIG = leaves_of(N)
BIG_TREE = MerkleTree(BIG)
BIG_ROOTS = [ref_mth(BIG[:n]) for n in range(N + 1)]


def flipped(value: bytes, bit: int = 0) -> bytes:
    return value[:bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1:]


# --- Known answers ------------------------------------------------------------------------------


def test_the_rfc_6962_test_vector():
    assert root(LEAVES).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert LEAVES == NODES[0]
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(NODES[0][0], NODES[0][1]) == NODES[1][0]


def test_the_root_of_every_prefix_of_the_test_leaves():
    tree = MerkleTree()
    compact = CompactRange()
    assert compact.root() == tree.root() == ROOTS[0]
    for n in range(1, 9):
        tree.append(LEAVES[n - 1])
        compact.append(LEAVES[n - 1])
        assert root(LEAVES[:n]) == compact.root() == tree.root() == ROOTS[n], n
    for n in range(9):
        assert tree.root(n) == ROOTS[n]


def test_every_node_and_compact_range_of_the_test_leaves():
    tree = MerkleTree(LEAVES)
    for level, nodes in enumerate(NODES):
        for index, expected in enumerate(nodes):
            assert tree.node(level, index) == expected
            assert nodes_from_leaves(LEAVES)(level, index) == expected
    compact = CompactRange()
    for n in range(9):
        assert compact.hashes == tuple(NODES[level][index] for level, index in COMPACT[n])
        if n < 8:
            compact.append(LEAVES[n])


@pytest.mark.parametrize(("index", "size"), sorted(KNOWN_INCLUSION))
def test_known_inclusion_proofs(index, size):
    proof = KNOWN_INCLUSION[(index, size)]
    assert inclusion_proof(index, size, LEAVES) == proof
    assert MerkleTree(LEAVES[:size]).inclusion_proof(index) == proof
    assert MerkleTree(LEAVES).inclusion_proof(index, size) == proof
    assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new"), sorted(KNOWN_CONSISTENCY))
def test_known_consistency_proofs(old, new):
    proof = KNOWN_CONSISTENCY[(old, new)]
    assert consistency_proof(old, new, LEAVES) == proof
    assert MerkleTree(LEAVES).consistency_proof(old, new) == proof
    assert verify_consistency(old, new, proof, ROOTS[old], ROOTS[new])


# --- Every proof up to 64 leaves ----------------------------------------------------------------


def test_roots_of_every_size_agree_with_the_rfc_definition():
    compact = CompactRange()
    for n in range(N + 1):
        assert compact.root() == BIG_TREE.root(n) == root(BIG[:n]) == BIG_ROOTS[n]
        assert len(compact.hashes) == n.bit_count()
        if n < N:
            completed = compact.append(BIG[n])
            assert len(completed) == 1 + (n ^ (n + 1)).bit_length() - 1  # one per trailing 1-bit of n
            assert completed[0] == (0, n, BIG[n])


@pytest.mark.parametrize("size", range(1, N + 1))
def test_every_inclusion_proof_verifies_and_tampering_is_refused(size):
    leaves, tree_root = BIG[:size], BIG_ROOTS[size]
    for index in range(size):
        proof = inclusion_proof(index, size, BIG)
        assert proof == ref_path(index, leaves) == BIG_TREE.inclusion_proof(index, size), (index, size)
        assert len(proof) == inclusion_proof_length(index, size)
        assert verify_inclusion(BIG[index], index, size, proof, tree_root)

        refused = [
            (flipped(BIG[index]), index, size, proof, tree_root),  # another leaf
            (BIG[index], index, size, proof, flipped(tree_root, 255)),  # another root
            (BIG[index], index, size, proof + [BIG[0]], tree_root),  # trailing garbage
            (BIG[index], index, size, [BIG[0]] + proof, tree_root),  # preceding garbage
            (BIG[index], index, size, proof + [tree_root], tree_root),
            (BIG[index], index, size + 1, proof, BIG_ROOTS[size + 1] if size < N else tree_root),
            (BIG[index], index, size - 1, proof, BIG_ROOTS[size - 1]),
            (BIG[index], index, size * 2, proof, tree_root),
            (BIG[index], index, 0, proof, EMPTY_ROOT),
            (BIG[index], size, size, proof, tree_root),  # index out of the tree
            (BIG[index], -1, size, proof, tree_root),
        ]
        if proof:
            refused += [
                (BIG[index], index, size, proof[:-1], tree_root),  # truncated
                (BIG[index], index, size, proof[1:], tree_root),
                (BIG[index], index, size, proof[::-1], tree_root) if len(proof) > 1 else None,
                (BIG[index], index, size, [*proof[:-1], proof[-1][:31]], tree_root),  # a short hash
            ]
            refused += [(BIG[index], index, size, [*proof[:i], flipped(p, i * 37 % 256), *proof[i + 1:]], tree_root)
                        for i, p in enumerate(proof)]
        if size > 1:
            other = index ^ 1 if index ^ 1 < size else index - 1
            refused += [
                (BIG[index], other, size, proof, tree_root),  # another index
                (BIG[other], other, size, proof, tree_root),
            ]
        for case in filter(None, refused):
            assert not verify_inclusion(*case), (index, size, case[1:3])


@pytest.mark.parametrize("new", range(1, N + 1))
def test_every_consistency_proof_verifies_and_tampering_is_refused(new):
    new_root = BIG_ROOTS[new]
    for old in range(1, new + 1):
        old_root = BIG_ROOTS[old]
        proof = consistency_proof(old, new, BIG)
        assert proof == ref_subproof(old, BIG[:new], True) == BIG_TREE.consistency_proof(old, new), (old, new)
        assert len(proof) == consistency_proof_length(old, new)
        assert verify_consistency(old, new, proof, old_root, new_root)

        refused = [
            (old, new, proof, flipped(old_root), new_root),
            (old, new, proof, old_root, flipped(new_root, 100)),
            (old, new, proof + [BIG[0]], old_root, new_root),
            (old, new, [BIG[0]] + proof, old_root, new_root),
            (old, new, [old_root] + proof, old_root, new_root),
            (old, new, proof + [new_root], old_root, new_root),
            (old - 1, new, proof, BIG_ROOTS[old - 1], new_root),
            (0, new, proof, EMPTY_ROOT, new_root),
            (new + 1, new, proof, BIG_ROOTS[new + 1] if new < N else new_root, new_root),
        ]
        if old < new:
            refused += [
                (old, new, proof, new_root, old_root),  # swapped roots
                (old, new, [], old_root, new_root),
                (old, new, proof[:-1], old_root, new_root),
                (old, new, proof[1:], old_root, new_root),
                (old + 1, new, proof, BIG_ROOTS[old + 1], new_root),
                (old, new - 1, proof, old_root, BIG_ROOTS[new - 1]),
                (old, new, proof, old_root, old_root),
            ]
            if new < N:
                refused.append((old, new + 1, proof, old_root, BIG_ROOTS[new + 1]))
            refused += [(old, new, [*proof[:i], flipped(p, 200 - i), *proof[i + 1:]], old_root, new_root)
                        for i, p in enumerate(proof)]
        else:
            refused += [(old, new, [BIG[0]], old_root, new_root), (old, new, [], old_root, flipped(new_root))]
        for case in refused:
            assert not verify_consistency(*case), (old, new, case[:2])


def test_the_rfc_steps_alone_refuse_proofs_of_the_wrong_length(monkeypatch):
    """The verifiers compare the proof's length with the one its sizes imply before anything else.
    With that comparison switched off (it then expects whatever length it is given), the steps of
    RFC 9162 2.1.3.2 and 2.1.4.2 still refuse every proof that is too long or too short."""

    def rfc_inclusion(index, size, proof):
        monkeypatch.setattr(merkle, "inclusion_proof_length", lambda i, s: len(proof))
        return verify_inclusion(BIG[index], index, size, proof, BIG_ROOTS[size])

    def rfc_consistency(old, new, proof):
        monkeypatch.setattr(merkle, "consistency_proof_length", lambda o, n: len(proof))
        return verify_consistency(old, new, proof, BIG_ROOTS[old], BIG_ROOTS[new])

    for size in range(1, 33):
        for index in range(size):
            proof = inclusion_proof(index, size, BIG)
            assert rfc_inclusion(index, size, proof)
            assert not rfc_inclusion(index, size, proof + [BIG[0]])
            assert not rfc_inclusion(index, size, proof + [BIG_ROOTS[size]] * 2)
            assert not proof or not rfc_inclusion(index, size, proof[:-1])
        for old in range(1, size):
            proof = consistency_proof(old, size, BIG)
            assert rfc_consistency(old, size, proof)
            assert not rfc_consistency(old, size, proof + [BIG[0]])
            assert not rfc_consistency(old, size, proof + [BIG_ROOTS[size]] * 2)
            assert not rfc_consistency(old, size, proof[:-1])


def test_random_larger_trees_from_stored_nodes_and_from_leaves_agree():
    rng = random.Random(9162)
    leaves = leaves_of(3000)
    tree = MerkleTree(leaves)
    for _ in range(40):
        size = rng.randint(1, len(leaves))
        index = rng.randrange(size)
        proof = tree.inclusion_proof(index, size)
        assert proof == ref_path(index, leaves[:size])
        assert verify_inclusion(leaves[index], index, size, proof, tree.root(size))
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], tree.root(size))
        old = rng.randint(1, size)
        proof = tree.consistency_proof(old, size)
        assert proof == ref_subproof(old, leaves[:size], True)
        assert verify_consistency(old, size, proof, tree.root(old), tree.root(size))
        if proof:
            assert not verify_consistency(old, size, proof + proof[-1:], tree.root(old), tree.root(size))
    assert tree.root() == ref_mth(leaves)


def test_the_compact_range_stays_logarithmic_and_restores_from_what_a_store_kept():
    compact = CompactRange()
    stored: dict[tuple[int, int], bytes] = {}
    for i in range(70_000):
        for level, index, value in compact.append(leaf_hash(i.to_bytes(4, "big"))):
            stored[(level, index)] = value
        assert len(compact.hashes) <= 17
    assert compact.size == 70_000 and len(compact.hashes) == (70_000).bit_count()
    restored = CompactRange(compact.size, compact.hashes)
    assert restored.root() == compact.root() == merkle.root_from(70_000, lambda level, index: stored[(level, index)])
    proof = merkle.inclusion_proof_from(12_345, 70_000, lambda level, index: stored[(level, index)])
    assert verify_inclusion(leaf_hash((12_345).to_bytes(4, "big")), 12_345, 70_000, proof, compact.root())
    with pytest.raises(ValueError):
        CompactRange(5, compact.hashes)


def test_an_inclusion_proof_binds_the_size_only_through_the_root():
    """Why a verifier takes size and root from one signed checkpoint (ADR 0010): the proof of leaf 0
    in the tree of 3 also checks as a tree of 4 against the root of 3, never against the root of 4."""
    proof = KNOWN_INCLUSION[(0, 8)][:1] + [NODES[0][2]]
    assert inclusion_proof(0, 3, LEAVES) == proof
    assert verify_inclusion(LEAVES[0], 0, 3, proof, ROOTS[3])
    assert verify_inclusion(LEAVES[0], 0, 4, proof, ROOTS[3])
    assert not verify_inclusion(LEAVES[0], 0, 4, proof, ROOTS[4])


# --- Edge cases, as transparency-dev/merkle's testdata/*/additional and single-entry ------------


def test_edge_cases_are_refused():
    one = LEAVES[0]
    assert verify_inclusion(one, 0, 1, [], one)
    assert not verify_inclusion(one, 0, 1, [], EMPTY_ROOT)
    assert not verify_inclusion(b"", 0, 1, [], one)  # empty leaf
    assert not verify_inclusion(one, 0, 1, [], b"")  # empty root
    assert not verify_inclusion(one, 0, 0, [], one)
    assert not verify_inclusion(one, 1, 1, [], one)
    assert not verify_inclusion(one, 0, 1, [one], one)
    assert not verify_inclusion(one, True, 2, [LEAVES[1]], ROOTS[2])  # not an index
    assert not verify_inclusion(one, 0, 2, None, ROOTS[2])

    assert verify_consistency(1, 1, [], one, one)
    assert not verify_consistency(1, 1, [], one, LEAVES[1])
    assert not verify_consistency(1, 1, [one], one, one)
    assert not verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)  # nothing to prove from the empty tree
    assert not verify_consistency(0, 1, [], EMPTY_ROOT, one)
    assert not verify_consistency(0, 1, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)
    assert not verify_consistency(1, 0, [], one, one)
    assert not verify_consistency(2, 1, [], ROOTS[2], one)
    assert not verify_consistency(1, 2, [], one, ROOTS[2])
    assert verify_consistency(1, 2, [LEAVES[1]], one, ROOTS[2])


def test_proofs_are_not_made_for_sizes_that_do_not_exist():
    tree = MerkleTree(LEAVES)
    for call in (lambda: inclusion_proof(0, 0, LEAVES), lambda: inclusion_proof(8, 8, LEAVES),
                 lambda: inclusion_proof(0, 9, LEAVES), lambda: consistency_proof(0, 3, LEAVES),
                 lambda: consistency_proof(4, 3, LEAVES), lambda: consistency_proof(1, 9, LEAVES),
                 lambda: tree.root(9), lambda: tree.inclusion_proof(0, 9), lambda: tree.consistency_proof(0),
                 lambda: inclusion_proof_length(3, 3), lambda: consistency_proof_length(0, 1)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(ValueError):
        CompactRange().append(b"not a hash")
    with pytest.raises(IndexError):
        tree.node(3, 1)
