"""The public directory at a register's scale: lookup throughput against a bare app, and search latency.

For each store (SQLite, PostgreSQL): seed N certificates (``hallmark seed``), start a real
``hallmark run``, and beside it a bare FastAPI app that serves the same lookup JSON from memory (the
baseline: uvicorn, no middleware, no database). ``wrk`` (Debian's, native; ``apt-get install wrk``)
drives both in the same run, at 8 and 32 connections, and then the search at 8 connections for a
number, a quick code, a holder, a product and a query that matches nothing.

    python -m tests.bench.bench_directory --certificates 20000 [--stores sqlite,postgres] [--seconds 10]
        [--search-scale 1000000]

``--search-scale N`` then measures the search alone with N certificates in the directory, filled by
``services.seed.fill_directory`` (the event path at 1,000,000 certificates takes hours here).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

BARE = """
import json, sys
from fastapi import FastAPI
from fastapi.responses import Response
body = open(sys.argv[1], "rb").read()
app = FastAPI()
@app.get("/public/v1/certificates/{number}")
def lookup(number: str) -> Response:
    return Response(body, media_type="application/json")
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    latency = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency["50"],
            "p99": latency["99"], "errors": int(non2xx.group(1)) if non2xx else 0}


def store_env(store: str, data: Path, prefix: str) -> dict[str, str]:
    env = {**os.environ, "HALLMARK_STORE": store, "HALLMARK_DATA": str(data), "HALLMARK_ACCESS_LOG": "off",
           "HALLMARK_SWEEP_SECONDS": "86400", "HALLMARK_PUBLIC_RATE_LIMIT": "0", "HALLMARK_LOG_LEVEL": "ERROR"}
    if store == "postgres":
        env["HALLMARK_PG_SCHEMA_PREFIX"] = prefix
    return env


def drop_schemas(prefix: str) -> None:
    import psycopg

    from services.settings import Settings

    with psycopg.connect(Settings(store="postgres").pg_conninfo, autocommit=True) as conn:
        pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"  # '_' is not a wildcard
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (pattern,)).fetchall():
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def bench_store(store: str, certificates: int, seconds: int) -> dict:
    data = Path(tempfile.mkdtemp(prefix=f"hallmark-bench-{store}-"))
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    env = store_env(store, data / "data", prefix)
    processes: list[subprocess.Popen] = []
    try:
        started = time.monotonic()
        subprocess.run([str(BIN / "hallmark"), "seed", "--certificates", str(certificates)], env=env, check=True,
                       cwd=ROOT)
        seeded = time.monotonic() - started
        port, bare_port = free_port(), free_port()
        processes.append(subprocess.Popen([str(BIN / "hallmark"), "run", "--port", str(port)], env=env, cwd=ROOT,
                                          stdout=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/livez")
        listing = json.loads(urllib.request.urlopen(base + "/public/v1/certificates?limit=100").read())
        sample = listing["items"][len(listing["items"]) // 2]
        body_file = data / "lookup.json"
        body_file.write_bytes(urllib.request.urlopen(f"{base}/public/v1/certificates/{sample['number']}").read())
        processes.append(subprocess.Popen([sys.executable, "-c", BARE, str(body_file), str(bare_port)], cwd=ROOT))
        bare = f"http://127.0.0.1:{bare_port}"
        wait_up(f"{bare}/public/v1/certificates/{sample['number']}")
        lookup = {}
        for connections in (8, 32):
            path = f"/public/v1/certificates/{sample['number']}"
            wrk(base + path, connections, 2)  # warm-up
            lookup[connections] = {"bare": wrk(bare + path, connections, seconds),
                                   "hallmark": wrk(base + path, connections, seconds)}
        return {"store": store, "certificates": certificates, "seed_seconds": round(seeded, 1), "lookup": lookup,
                "search": measure_search(base, sample, seconds)}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
        if store == "postgres":
            drop_schemas(prefix)


def measure_search(base: str, sample: dict, seconds: int) -> dict:
    """The directory's JSON search at 8 connections, for what people type: a number, a quick code, the
    first words of a holder, a product name, and a word that matches nothing."""
    queries = {"number": sample["number"], "quick code": sample["quick_code"],
               "holder": " ".join(sample["holder"]["name"].split()[:2]), "product": sample["products"][0]["name"],
               "holder word": sample["holder"]["name"].split()[0], "no match": "zzzyqx"}
    search = {}
    for what, q in queries.items():
        url = f"{base}/public/v1/certificates?{urllib.parse.urlencode({'q': q})}"
        found = len(json.loads(urllib.request.urlopen(url).read())["items"])
        wrk(url, 8, 1)  # warm-up
        search[what] = {"q": q, "found": found, **wrk(url, 8, max(seconds // 2, 3))}
    return search


def search_at_scale(store: str, certificates: int, seconds: int) -> dict:
    """Search latency with ``certificates`` in the certificate view, filled by ``services.seed.fill_directory``
    (the registry's policy and the view's own handler, without the event store and the other consumers)."""
    from services.bootstrap import bootstrap
    from services.seed import fill_directory
    from services.settings import Settings

    data = Path(tempfile.mkdtemp(prefix=f"hallmark-bench-{store}-"))
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    env = store_env(store, data / "data", prefix)
    saved = dict(os.environ)
    process = None
    try:
        os.environ.update(env)
        started = time.monotonic()
        hallmark = bootstrap(Settings())
        try:
            count = fill_directory(hallmark, certificates)
        finally:
            hallmark.close()
            os.environ.clear()
            os.environ.update(saved)
        filled = time.monotonic() - started
        port = free_port()
        process = subprocess.Popen([str(BIN / "hallmark"), "run", "--port", str(port)], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/livez", timeout=600)
        listing = json.loads(urllib.request.urlopen(base + "/public/v1/certificates?limit=100").read())
        sample = listing["items"][len(listing["items"]) // 2]
        return {"store": store, "certificates": count, "fill_seconds": round(filled, 1),
                "search": measure_search(base, sample, seconds)}
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)
        if store == "postgres":
            drop_schemas(prefix)


def report_search(result: dict) -> None:
    print(f"\n{result['store']}: search with {result['certificates']:,} certificates in the directory "
          f"(view filled in {result['fill_seconds']} s)")
    print("| search (8 connections) | q | found | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    for what, r in result["search"].items():
        print(f"| {what} | `{r['q']}` | {r['found']} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} |")


def report(result: dict) -> None:
    print(f"\n{result['store']}: {result['certificates']:,} certificates (seeded in {result['seed_seconds']} s)")
    print("| lookup | connections | requests/s | ratio | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    for connections, pair in result["lookup"].items():
        base = pair["bare"]["rps"]
        for name, label in (("bare", "bare FastAPI, JSON from memory (baseline)"), ("hallmark", "hallmark run")):
            r = pair[name]
            print(f"| {label} | {connections} | {r['rps']:,.0f} | {r['rps'] / base:.2f} | {r['p50']:.2f} | "
                  f"{r['p99']:.2f} |" + (f" ({r['errors']} non-2xx)" if r["errors"] else ""))
    print("| search (8 connections) | q | found | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    for what, r in result["search"].items():
        print(f"| {what} | `{r['q']}` | {r['found']} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=20000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--search-scale", type=int, default=0, metavar="N",
                        help="also measure the search with N certificates in the directory (fill_directory)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench_directory needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    results = []
    for store in args.stores.split(","):
        if args.certificates:
            results.append(bench_store(store, args.certificates, args.seconds))
            report(results[-1])
        if args.search_scale:
            results.append(search_at_scale(store, args.search_scale, args.seconds))
            report_search(results[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
