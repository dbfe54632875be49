"""A second party keeps the checkpoints it saw and checks each new one extends the last (ADR 0011)."""

from __future__ import annotations

from services.witness import WitnessState, witness_round
from shared.evidence.merkle import leaf_hash
from tests.support import File


def test_a_witness_accepts_a_growing_log_and_alerts_on_a_rewrite(api, hallmark, tmp_path):
    state = WitnessState(tmp_path / "witness.jsonl")
    assessor = api.headers("Wanda Witness", "assessor")
    first = witness_round(api.client, state, assessor)
    assert first.ok and "pinned" in first.said[0]
    File(api).granted()
    assert witness_round(api.client, state, assessor).ok  # from the empty tree: nothing to prove
    File(api).granted()
    grown = witness_round(api.client, state, assessor)
    assert grown.ok and "consistency proof verified" in grown.said[0], grown.said
    same = witness_round(api.client, state, assessor)
    assert same.ok and "no new entries" in same.said[0]
    kept = state.last()["size"]

    # Someone rewrites entry 1 in the database and the live process, restarted, signs from the rewrite:
    # simulated by a log object that reads the tree afresh and a checkpoint row signed over it.
    with hallmark.views.transaction() as c:
        c.execute("SELECT entry FROM log_entries WHERE idx = 1")
        entry = c.fetchone()[0].replace('"type":"', '"type":"X', 1)
        c.execute("UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE idx = 1",
                  (entry, leaf_hash(entry.encode()).hex()))
    from services.projections.log import TransparencyLog
    from shared.evidence.checkpoint import sign_checkpoint

    rewritten = TransparencyLog(hallmark.views, hallmark.trail.log.key, "local")
    File(api).create_scheme()
    tree = rewritten.tree()
    forged = sign_checkpoint("hallmark/local", tree.size, tree.root(), rewritten.key)
    with hallmark.views.transaction() as c:
        c.execute("INSERT INTO log_checkpoints (epoch, size, root, note, signed_at) VALUES (1, ?, ?, ?, ?)",
                  (tree.size + 1000, tree.root().hex(), forged, "2026-01-01"))  # served as the latest
    hallmark.trail.log._tree = rewritten.tree()  # the server now proves from the rewritten tree
    alert = witness_round(api.client, state, assessor)
    assert not alert.ok and f"does not extend checkpoint {kept}" in alert.said[0], alert.said
    assert state.last()["size"] == kept  # nothing accepted


def test_a_witness_refuses_another_key_and_a_shrunk_log(api, hallmark, tmp_path):
    state = WitnessState(tmp_path / "witness.jsonl")
    File(api).granted()
    assert witness_round(api.client, state).ok
    lines = state.path.read_text().splitlines()
    import json

    from shared.evidence.checkpoint import generate_key

    state.path.write_text(json.dumps({"vkey": generate_key("hallmark/local").vkey}) + "\n" + "\n".join(lines[1:]) + "\n")
    refused = witness_round(api.client, state)
    assert not refused.ok and "not the key pinned" in refused.said[0]
