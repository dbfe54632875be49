// Command evidence_verifier checks Hallmark's checkpoints and proofs with Go's standard
// implementations, written independently of Hallmark: golang.org/x/mod/sumdb/note verifies the
// signed notes (C2SP signed-note, Ed25519) and golang.org/x/mod/sumdb/tlog computes tree hashes and
// checks inclusion ("record") and consistency ("tree") proofs of RFC 6962/9162 Merkle trees.
//
// tests/unit/test_checkpoint.py builds and runs it. It reads one JSON request on stdin:
//
//	{"vkey": "<name>+<hex id>+<base64 key>", "origin": "hallmark/...",
//	 "entries": ["<base64 entry>", ...],              // the log's entries, index 0 first
//	 "checks": [
//	   {"kind": "checkpoint", "note": "<signed checkpoint>"},
//	   {"kind": "inclusion", "note": "...", "index": 3, "entry": "<base64>", "proof": ["<base64 hash>", ...]},
//	   {"kind": "consistency", "old": "<signed checkpoint>", "note": "<newer one>", "proof": [...]}
//	 ]}
//
// and writes {"results": [{"ok": true, "size": n, "root": "<base64>"} | {"ok": false, "error": "..."}]},
// one result per check, in order. A "checkpoint" check also recomputes the tree hash of the first
// size entries with tlog and compares it with the checkpoint's root hash.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	VKey    string   `json:"vkey"`
	Origin  string   `json:"origin"`
	Entries [][]byte `json:"entries"`
	Checks  []check  `json:"checks"`
}

type check struct {
	Kind  string   `json:"kind"`
	Note  string   `json:"note"`
	Old   string   `json:"old"`
	Index int64    `json:"index"`
	Entry []byte   `json:"entry"`
	Proof [][]byte `json:"proof"`
}

type result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Root  []byte `json:"root,omitempty"`
}

type checkpoint struct {
	size int64
	root tlog.Hash
}

// openCheckpoint verifies the note's signature with note.Open and reads the checkpoint body
// (C2SP tlog-checkpoint: origin, decimal size, base64 root hash, optional extension lines).
func openCheckpoint(msg string, verifiers note.Verifiers, origin string) (checkpoint, error) {
	n, err := note.Open([]byte(msg), verifiers)
	if err != nil {
		return checkpoint{}, fmt.Errorf("note: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("checkpoint: fewer than three lines")
	}
	if lines[0] != origin {
		return checkpoint{}, fmt.Errorf("checkpoint: origin %q, want %q", lines[0], origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return checkpoint{size, root}, nil
}

func hashes(proof [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(proof))
	for i, h := range proof {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("proof hash %d has %d bytes", i, len(h))
		}
		copy(out[i][:], h)
	}
	return out, nil
}

// treeHash computes the RFC 6962 root of the first n entries the way the Go checksum database
// does: tlog's stored hashes, appended record by record, then tlog.TreeHash.
func treeHash(entries [][]byte, n int64) (tlog.Hash, error) {
	if n > int64(len(entries)) {
		return tlog.Hash{}, fmt.Errorf("the request holds %d entries, not %d", len(entries), n)
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, index := range indexes {
			if index < 0 || index >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", index)
			}
			out[i] = stored[index]
		}
		return out, nil
	})
	for i := int64(0); i < n; i++ {
		more, err := tlog.StoredHashes(i, entries[i], reader)
		if err != nil {
			return tlog.Hash{}, err
		}
		stored = append(stored, more...)
	}
	return tlog.TreeHash(n, reader)
}

func run(req request, verifiers note.Verifiers, c check) (checkpoint, error) {
	switch c.Kind {
	case "checkpoint":
		cp, err := openCheckpoint(c.Note, verifiers, req.Origin)
		if err != nil {
			return cp, err
		}
		th, err := treeHash(req.Entries, cp.size)
		if err != nil {
			return cp, err
		}
		if th != cp.root {
			return cp, fmt.Errorf("tree hash of %d entries is %s, the checkpoint says %s", cp.size, th, cp.root)
		}
		return cp, nil
	case "inclusion":
		cp, err := openCheckpoint(c.Note, verifiers, req.Origin)
		if err != nil {
			return cp, err
		}
		proof, err := hashes(c.Proof)
		if err != nil {
			return cp, err
		}
		return cp, tlog.CheckRecord(proof, cp.size, cp.root, c.Index, tlog.RecordHash(c.Entry))
	case "consistency":
		old, err := openCheckpoint(c.Old, verifiers, req.Origin)
		if err != nil {
			return old, fmt.Errorf("old %w", err)
		}
		cp, err := openCheckpoint(c.Note, verifiers, req.Origin)
		if err != nil {
			return cp, err
		}
		proof, err := hashes(c.Proof)
		if err != nil {
			return cp, err
		}
		return cp, tlog.CheckTree(proof, cp.size, cp.root, old.size, old.root)
	}
	return checkpoint{}, fmt.Errorf("unknown check kind %q", c.Kind)
}

func main() {
	var req request
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "evidence_verifier: bad request:", err)
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(req.VKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, "evidence_verifier: bad vkey:", err)
		os.Exit(2)
	}
	verifiers := note.VerifierList(verifier)
	results := make([]result, len(req.Checks))
	for i, c := range req.Checks {
		cp, err := run(req, verifiers, c)
		if err != nil {
			results[i] = result{Error: err.Error()}
		} else {
			results[i] = result{OK: true, Size: cp.size, Root: bytes.Clone(cp.root[:])}
		}
	}
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(map[string][]result{"results": results}); err != nil {
		fmt.Fprintln(os.Stderr, "evidence_verifier:", err)
		os.Exit(2)
	}
}
