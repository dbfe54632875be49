"""Benchmark: whole certification files per second, and how long a suspension takes to reach the
public directory, on SQLite (the baseline) and on PostgreSQL, run side by side.

    .venv/bin/python -m tests.bench.bench_lifecycle --files 30

Figures are reported as ratios against the SQLite run: these machines are shared and noisy, so only
the ratio measured in one sitting means much.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from services.bootstrap import Hallmark, bootstrap
from services.settings import Settings
from tests.support import application_body, scheme_body, wait_for


def one_file(h: Hallmark, code: str, today: date) -> tuple[str, float]:
    """Drive one file from application to suspension; return the certificate and the propagation delay."""
    app_id = _until(lambda: h.applications.submit(application_body(code), "Bea"))["id"]
    h.applications.review(app_id, "accepted", "complete", "Olivia Officer")
    audit = _until(lambda: h.audits.plan({"application_id": app_id, "kind": "initial", "planned_start": today},
                                         "Luc Lead"))["id"]
    h.audits.assign(audit, "Luc Lead", "lead_auditor", {"independent": True, "interests": []}, "Olivia Officer")
    finding = h.audits.record_finding(audit, {"severity": "minor", "requirement": "§5", "description": "log",
                                              "corrective_action_due": None}, "Luc Lead").body["finding_id"]
    h.audits.close_finding(audit, finding, "fixed", "Luc Lead")
    h.audits.report(audit, {"conclusion": "conforming", "recommendation": "grant", "summary": "ok"}, "Luc Lead")
    h.decisions.decide({"subject": {"application_id": app_id}, "outcome": "grant", "basis": [audit],
                        "rationale": "ok", "effective_from": today}, "Dirk Decider")
    number = _wait(lambda: (h.certificates.search(application_id=app_id) or [None])[0])["number"]
    _until(lambda: h.decisions.decide({"subject": {"certificate_number": number}, "outcome": "suspend",
                                       "basis": [], "rationale": "site", "effective_from": today}, "Dirk Decider"))
    decided = time.perf_counter()
    _wait(lambda: h.certificates.get(number)["status"] == "suspended")
    return number, time.perf_counter() - decided


def _until(command):
    from shared.errors import NotYetKnown

    while True:
        try:
            return command().body
        except NotYetKnown:
            time.sleep(0.005)


def _wait(probe):
    value = wait_for(probe, timeout=30.0, interval=0.001)
    if not value:
        raise TimeoutError("the projection did not catch up")
    return value


def run(store: str, files: int) -> dict[str, float]:
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix=f"hallmark-bench-{store}-")), store=store)
    if store == "postgres":
        settings.pg_schema_prefix = f"bench{uuid.uuid4().hex[:8]}_"
    h = bootstrap(settings)
    h.pump.start()
    try:
        code = h.registry.register_scheme(scheme_body(), "Ada").body["code"]
        today = h.clock.today()
        started = time.perf_counter()
        delays = [one_file(h, code, today)[1] for _ in range(files)]
        elapsed = time.perf_counter() - started
    finally:
        h.close()
        if store == "postgres":
            from tests.conftest import drop_schemas

            drop_schemas(settings)
    delays.sort()
    return {
        "files_per_s": files / elapsed,
        "public_p50_ms": statistics.median(delays) * 1000,
        "public_p95_ms": delays[max(0, int(len(delays) * 0.95) - 1)] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30)
    args = parser.parse_args()
    results = {"sqlite": run("sqlite", args.files)}
    try:
        results["postgres"] = run("postgres", args.files)
    except RuntimeError as error:
        print(f"postgres skipped: {error}")
    base = results["sqlite"]
    print(f"\n{args.files} certification files each (application to suspension, 11 commands), pump running")
    print(f"{'store':<10} {'files/s':>9} {'ratio':>7} {'public p50 ms':>14} {'ratio':>7} {'p95 ms':>8}")
    for store, r in results.items():
        print(f"{store:<10} {r['files_per_s']:>9.2f} {r['files_per_s'] / base['files_per_s']:>7.2f} "
              f"{r['public_p50_ms']:>14.1f} {r['public_p50_ms'] / base['public_p50_ms']:>7.2f} {r['public_p95_ms']:>8.1f}")


if __name__ == "__main__":
    main()
