"""The public transparency page: the log's latest checkpoint, its key and its recent checkpoints, for
anyone to keep and compare (ADR 0011, the witness's role). Plain HTML, one stylesheet from this
server, no script."""

from __future__ import annotations

from html import escape
from typing import Any

from services.projections.log import b64

RECENT = 20


def transparency_page(log: Any) -> str:
    latest = log.latest()
    recent = list(reversed(log.checkpoints()))[:RECENT]
    rows = "".join(
        f"<tr><td>{c.size}</td><td>{escape(c.signed_at)}</td><td class=\"hash\">{escape(b64(c.root))}</td></tr>"
        for c in recent)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hallmark transparency log: {escape(log.origin)}</title>
<link rel="stylesheet" href="/public/assets/hallmark.css">
</head>
<body>
<header>
<h1>Transparency log of the audit trail</h1>
<p>{escape(log.origin)}: every recorded step of every certification file, in one append-only log</p>
</header>
<main>
<p>Every event Hallmark records (applications, audits, findings, decisions, certificates, appeals) is an
entry of this log, an RFC 9162 Merkle tree like Certificate Transparency's. The log signs a checkpoint
(its size and root hash) every time it grows. Keep the checkpoint below: the log can later prove to you,
with a consistency proof, that it only grew since, and that no entry you saw was changed, removed or
moved.</p>

<h2>Latest checkpoint</h2>
<p class="muted">A C2SP tlog-checkpoint in a C2SP signed note, byte for byte as signed
(also at <a href="/v1/trail/checkpoint">/v1/trail/checkpoint</a>). Size {latest.size}, signed
{escape(latest.signed_at)}.</p>
<pre id="checkpoint">{escape(latest.note)}</pre>

<h2>Public key</h2>
<p class="muted">Ed25519, named <code>{escape(log.key.name)}</code>. As a signed-note verifier key (Go's
<code>golang.org/x/mod/sumdb/note</code> takes it as it is); also at
<a href="/v1/trail/public-key">/v1/trail/public-key</a>.</p>
<pre id="vkey">{escape(log.key.vkey)}</pre>

<h2>Recent checkpoints</h2>
<table>
<thead><tr><th>Size</th><th>Signed (UTC)</th><th>Root hash (base64)</th></tr></thead>
<tbody>{rows}</tbody>
</table>

<h2>Keep watch: be a witness</h2>
<p>Save each checkpoint you see. Next time, ask Hallmark for a consistency proof between the one you kept
and the new one (<code>/v1/trail/proof/consistency?from=&lt;old size&gt;&amp;to=&lt;new size&gt;</code>, for
assessors) and check it with any RFC 9162 verifier; or run <code>hallmark trail witness --url …</code>,
which pins the key, keeps every checkpoint and raises an alert when a new one does not extend the last.
A partner with access to Hallmark's Kafka topics finds every checkpoint on the
<code>trail.checkpoints</code> topic.</p>

<h2>Verify an evidence pack</h2>
<p>An assessor's evidence pack holds the entries of a certification file with an inclusion proof each
against one signed checkpoint, and the report for people. <code>hallmark evidence verify PACK.zip</code>
checks it without network or database; so can any RFC 9162 and signed-note verifier, with the key above.</p>
<footer>Hallmark: the certification body's register. This page loads nothing but its own stylesheet.</footer>
</main>
</body>
</html>
"""

