"""Accreditation evidence: the audit trail as a transparency log (ADR 0010).

- ``merkle``: the RFC 9162 Merkle tree (leaf and node hashes, roots, inclusion and consistency
  proofs and their verifiers, and an incremental tree for logs of millions of entries);
- ``checkpoint``: C2SP tlog-checkpoint bodies in C2SP signed notes, signed with Ed25519, and the
  key formats of Go's ``golang.org/x/mod/sumdb/note``.

A library only: no I/O, no service imports it yet.
"""
