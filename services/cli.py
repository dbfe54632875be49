"""The ``hallmark`` command: run, token, rebuild, verify, demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from services.settings import ConfigurationError, Settings
from shared import logs, telemetry
from shared.errors import DomainError
from shared.http.auth import ROLES, issue_token

RESTART_LOCK_WAIT_SECONDS = 30.0  # see _run


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.component:
        settings.component = args.component
    if args.port is None:
        from services.bootstrap import PORTS

        args.port = int(os.environ.get("PORT") or PORTS.get(settings.component, 8000))
    # wait: a supervisor (hallmark up, Kubernetes) may start this process again the moment the last one
    # was killed, before PostgreSQL has ended the dead process's session and its lock.
    with settings.exclusive(f"running Hallmark ({settings.component})", wait=RESTART_LOCK_WAIT_SECONDS):
        return _serve(settings, args)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from services.bootstrap import bootstrap
    from services.web import create_app
    from shared.http.limits import Limits, LimitsError
    from shared.http.server import head_timeout_protocol

    try:
        limits = Limits.from_env()
    except LimitsError as error:
        raise ConfigurationError(str(error)) from None
    hallmark = bootstrap(settings)
    app = create_app(hallmark)
    base = f"http://{args.host}:{args.port}"
    where = (f"{settings.component}, Kafka at {settings.kafka_bootstrap}" if settings.transport == "kafka"
             else "embedded")
    print(f"Hallmark ({where}; {settings.store} store in {settings.data_dir.resolve()}) listening on {base}")
    print(f"  API documentation   {base}/docs")
    print(f"  public lookup       {base}/public/v1/certificates?q=...")
    print(f"  health              {base}/livez  {base}/readyz")
    print("  get a token         hallmark token --sub alice --role admin   (or: make token)")
    print("  guided first run    make demo   (in another terminal)")
    print("Ctrl-C stops it.")
    try:
        uvicorn.run(
            app, host=args.host, port=args.port,
            http=head_timeout_protocol(limits.header_timeout),  # request heads must arrive in time
            timeout_keep_alive=5,
            limit_concurrency=limits.max_connections,  # beyond: 503 at once
            backlog=limits.backlog,
            server_header=False,
            access_log=False,  # the app logs one JSON line per request (shared/http/access.py)
            log_config=None,  # uvicorn's own messages go through the JSON root handler too
            log_level="warning",
        )
    finally:
        hallmark.close()
    return 0


def _token(args: argparse.Namespace) -> int:
    settings = Settings()
    roles = args.role or ["admin"]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        print(f"unknown role(s): {', '.join(unknown)}; roles are {', '.join(ROLES)}", file=sys.stderr)
        return 2
    cap = settings.jwt_max_lifetime_hours
    if not 0 < args.hours <= cap:
        print(f"--hours {args.hours:g}: a local token is valid for more than 0 and at most {cap:g} h "
              "(HALLMARK_JWT_MAX_LIFETIME_HOURS); Hallmark would refuse a longer one", file=sys.stderr)
        return 2
    secret = settings.local_secret(create=True)
    print(f"# token for {args.sub} with roles {', '.join(roles)}, valid {args.hours:g} h", file=sys.stderr)
    print(issue_token(secret, args.sub, roles, ttl_seconds=int(args.hours * 3600), issuer=settings.jwt_issuer or None,
                      organisation=args.organisation))
    return 0


def _distributed_settings(component: str) -> Settings:
    """The settings of one component of the instance `hallmark up` runs (its database, topics, data)."""
    from pathlib import Path

    from services.supervisor import DEFAULT_STATE_DIR, Plan

    state_dir = Path(os.environ.get("HALLMARK_UP_DIR") or DEFAULT_STATE_DIR)
    plan = Plan.load(state_dir)
    if plan is None:
        raise ConfigurationError(f"no distributed instance in {state_dir}; start one with 'make up'")
    os.environ.update({k: v for k, v in plan.child_env(component).items()
                       if k.startswith(("HALLMARK_", "KAFKA_")) or k.endswith("_POSTGRES_DBNAME")})
    return Settings()


def _rebuild(args: argparse.Namespace) -> int:
    from services.bootstrap import bootstrap
    from services.rebuild import rebuild

    if args.distributed:
        if args.view == "all":
            print("hallmark rebuild --distributed: name one --view (certificates lives with the registry, "
                  "trail with projections), and stop that component first", file=sys.stderr)
            return 2
        settings = _distributed_settings("registry" if args.view == "certificates" else "projections")
    else:
        settings = Settings()
    with settings.exclusive("a rebuild"):
        hallmark = bootstrap(settings)
        try:
            rebuild(hallmark, args.view)
        finally:
            hallmark.close()
    return 0


def _seed(args: argparse.Namespace) -> int:
    from services.bootstrap import bootstrap
    from services.seed import seed

    settings = Settings()
    with settings.exclusive("seeding"):
        hallmark = bootstrap(settings)
        try:
            counts = seed(hallmark, args.certificates, batch=args.batch, seed_value=args.seed)
        finally:
            hallmark.close()
    print(f"seeded {args.certificates} certificates ({counts['decisions']} decisions applied by the registry, "
          f"{counts['messages']} messages applied by the consumers)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import json

    from services.bootstrap import bootstrap

    settings = _distributed_settings("projections") if args.distributed else Settings()
    hallmark = bootstrap(settings)
    try:
        report = hallmark.verify_trail()
    finally:
        hallmark.close()
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def _trail(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return _verify(args)
    if args.action == "witness":
        import httpx

        from services.witness import WitnessState, witness_round

        token = os.environ.get("HALLMARK_TOKEN")
        try:
            with httpx.Client(base_url=args.url, timeout=30) as client:
                result = witness_round(client, WitnessState(Path(args.state)),
                                       {"Authorization": f"Bearer {token}"} if token else {})
        except httpx.HTTPError as error:
            print(f"hallmark trail witness: cannot reach {args.url} ({error}); pass --url", file=sys.stderr)
            return 2
        for line in result.said:
            print(("" if result.ok else "ALERT: ") + line)
        return 0 if result.ok else 1
    if args.action == "keygen":
        from shared.evidence.checkpoint import generate_key

        key = generate_key(f"hallmark/{args.instance}")
        print(f"# the public key (vkey), for /v1/trail/public-key and verifiers:\n# {key.vkey}", file=sys.stderr)
        print(key.skey)  # the secret: mount it as HALLMARK_TRAIL_SIGNING_KEY_FILE
        return 0
    from services.bootstrap import _ensure_postgres_schemas, open_log, open_views
    from services.projections.trail import TrailView

    if not args.reason:
        print("hallmark trail recover needs --reason (it is recorded in the new log's first entry)", file=sys.stderr)
        return 2
    settings = _distributed_settings("projections") if args.distributed else Settings()
    with settings.exclusive("starting a new log"):
        if settings.store == "postgres":
            _ensure_postgres_schemas(settings, ["projections"])
        views = open_views(settings)
        try:
            log = open_log(settings, views)
            origin = log.recover(args.person, args.reason)
            TrailView(views, log).drop()  # every event is appended again, to the new log, at the next start
        finally:
            views.close()
    print(f"started log {origin}; its entry 0 holds the last checkpoint of the log that was lost. "
          "Start Hallmark: the trail is rebuilt into the new log")
    return 0


def _evidence(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return _evidence_verify(args)
    from datetime import UTC, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from services.bootstrap import bootstrap
    from services.projections.evidence import make_pack, select

    chosen = [bool(args.certificate), bool(args.application), bool(args.start or args.end)]
    if sum(chosen) != 1 or (chosen[2] and not (args.start and args.end)):
        print("hallmark evidence export: give one of --certificate NUMBER, --application ID, or --from DATE --to DATE",
              file=sys.stderr)
        return 2
    settings = _distributed_settings("projections") if args.distributed else Settings()
    start = end = None
    if chosen[2]:
        zone = ZoneInfo(settings.timezone)
        try:
            days = [datetime.strptime(d, "%Y-%m-%d").date() for d in (args.start, args.end)]
        except ValueError:
            print("hallmark evidence export: --from and --to are dates, YYYY-MM-DD", file=sys.stderr)
            return 2
        start, end = (datetime.combine(d, time.min, tzinfo=zone).astimezone(UTC).isoformat(timespec="microseconds")
                      for d in (days[0], days[1] + timedelta(days=1)))
    out = Path(args.out or f"hallmark-evidence-{args.certificate or args.application or f'{args.start}-{args.end}'}.zip")
    hallmark = bootstrap(settings, component="projections" if args.distributed else None)
    try:
        label, indices = select(hallmark.trail, application_id=args.application, certificate_number=args.certificate,
                                start=start, end=end)
        print(f"exporting {len(indices)} entries of {label} ...", file=sys.stderr)
        pack = make_pack(hallmark.trail, label, indices, name=out.name)
    except DomainError as error:
        print(f"hallmark evidence export: {error}", file=sys.stderr)
        return 1
    finally:
        hallmark.close()
    out.write_bytes(pack)
    print(f"wrote {out} ({len(pack):,} bytes, {len(indices)} entries); check it with 'hallmark evidence verify {out}'")
    return 0


def _evidence_verify(args: argparse.Namespace) -> int:
    """No network, no database: the pack and, at best, the key the assessor got from Hallmark."""
    import json

    from services.projections.evidence import verify_offline

    if not args.pack:
        print("hallmark evidence verify PACK.zip", file=sys.stderr)
        return 2
    trusted = None
    if args.key:
        trusted = Path(args.key).read_text().strip() if Path(args.key).exists() else args.key
    try:
        data = Path(args.pack).read_bytes()
    except OSError as error:
        print(f"hallmark evidence verify: cannot read {args.pack}: {error.strerror}", file=sys.stderr)
        return 2
    verdict = verify_offline(data, trusted_vkey=trusted)
    print(json.dumps({"ok": verdict.ok, "first_bad_entry": verdict.first_bad_entry, "problems": verdict.problems,
                      **verdict.summary}, indent=2))
    if verdict.ok:
        print(f"{args.pack}: intact. {verdict.summary.get('entries')} entries, every inclusion proof verified "
              f"against the signed checkpoint of size {verdict.summary.get('checkpoint_size')} of "
              f"{verdict.summary.get('origin')}; the report was made from exactly these entries."
              + ("" if trusted else " (Checked against the key inside the pack: compare it with the key "
                 "Hallmark publishes at /v1/trail/public-key, or pass --key.)"), file=sys.stderr)
        return 0
    print(f"{args.pack}: NOT intact: {verdict.problems[0]}", file=sys.stderr)
    return 1


def _parked(args: argparse.Namespace) -> int:
    """Through the running instance's admin endpoint, so the server's own state stays the one truth."""
    import json

    import httpx

    token = os.environ.get("HALLMARK_TOKEN")
    if not token:
        token = issue_token(Settings().local_secret(create=False), args.person, ["admin"], ttl_seconds=300)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        if args.action == "list":
            response = httpx.get(f"{args.url}/v1/operations/parked-messages", headers=headers, timeout=30)
        else:
            missing = [flag for flag, value in (("--consumer", args.consumer), ("--message", args.message),
                                                ("--reason", args.reason)) if not value]
            if missing:
                print(f"hallmark parked {args.action} needs {', '.join(missing)}", file=sys.stderr)
                return 2
            response = httpx.post(f"{args.url}/v1/operations/parked-messages/{args.action}", headers=headers,
                                  json={"consumer": args.consumer, "message_id": args.message, "reason": args.reason},
                                  timeout=30)
    except httpx.ConnectError:
        print(f"hallmark parked: nothing answers at {args.url}; start Hallmark first, or pass --url", file=sys.stderr)
        return 2
    print(json.dumps(response.json(), indent=2))
    return 0 if response.status_code < 400 else 1


def _certificate(args: argparse.Namespace) -> int:
    """The certificate document of a revision, from the registry's own store: HTML on stdout, or --pdf FILE."""
    from services.bootstrap import open_vault
    from services.registry.application import Registry
    from services.registry.printing import print_pdf
    from shared.clock import Clock

    settings = _distributed_settings("registry") if args.distributed else Settings()
    vault = open_vault(settings)
    registry = Registry(env=settings.store_env("registry"), clock=Clock(settings.timezone), vault=vault)
    try:
        facts, html = registry.certificate_document(args.number.strip().upper(), revision=args.revision, staff=True,
                                                    organisation=None, public_url=settings.public_url)
        if args.pdf:
            Path(args.pdf).write_bytes(print_pdf(html, name=f"{facts['number']}-revision-{facts['revision']}"))
            print(f"wrote {args.pdf}: certificate {facts['number']}, revision {facts['revision']} "
                  f"({facts['status']['state']} on {facts['status']['on']})", file=sys.stderr)
        else:
            sys.stdout.write(html)
    except DomainError as error:
        print(f"hallmark certificate document: {error.detail}", file=sys.stderr)
        return 1
    finally:
        registry.close()
        vault.close()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from services.demo import run_demo

    return run_demo(args.url, Settings(), distributed=args.distributed, story=args.story)


def main(argv: list[str] | None = None) -> int:
    logs.configure(os.environ.get("HALLMARK_LOG_LEVEL", "WARNING"))
    telemetry.configure()
    parser = argparse.ArgumentParser(prog="hallmark", description="Hallmark certification system")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start Hallmark (embedded default) on one port")
    run.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=None,
                     help="default: $PORT, else 8000 embedded or the component's port of API.md (8001-8005)")
    run.add_argument("--component", default=None,
                     help="distributed mode: one of applications, audits, decisions, registry, projections "
                          "(needs HALLMARK_TRANSPORT=kafka); default $HALLMARK_COMPONENT or all")
    run.set_defaults(func=_run)

    token = sub.add_parser("token", help="print a bearer token the local default accepts (last line)")
    token.add_argument("--sub", required=True, help="the acting person")
    token.add_argument("--role", action="append", help=f"repeatable; one of {', '.join(ROLES)}")
    token.add_argument("--organisation", help="the holder's registration number (role applicant) or the "
                       "laboratory's id (role laboratory) the person acts for")
    token.add_argument("--hours", type=float, default=8,
                       help="validity (default 8); at most HALLMARK_JWT_MAX_LIFETIME_HOURS (default 24)")
    token.set_defaults(func=_token)

    rebuild = sub.add_parser("rebuild", help="drop and rebuild the projections from the event stores")
    rebuild.add_argument("--view", choices=["all", "certificates", "trail", "holder"], default="all")
    rebuild.add_argument("--distributed", action="store_true",
                         help="rebuild a view of the instance 'make up' runs, from the Kafka topics")
    rebuild.set_defaults(func=_rebuild)

    seeding = sub.add_parser("seed", help="load N made-up certificates with histories through the registry's "
                                          "decisions and the consumers (stop the server first)")
    seeding.add_argument("--certificates", type=int, required=True, help="how many certificates")
    seeding.add_argument("--batch", type=int, default=500, help="decisions per transaction (default 500)")
    seeding.add_argument("--seed", type=int, default=17, help="random seed: the same seed, the same register")
    seeding.set_defaults(func=_seed)

    verify = sub.add_parser("verify", help="the same as 'hallmark trail verify'")
    verify.add_argument("--distributed", action="store_true",
                        help="verify the transparency log of the instance 'make up' runs against its five stores")
    verify.set_defaults(func=_verify)

    trail = sub.add_parser("trail", help="the audit trail's transparency log: verify, recover, keygen")
    trail.add_argument("action", choices=["verify", "recover", "keygen", "witness"],
                       help="verify: recompute the log from the live event stores and check every checkpoint; "
                            "recover: start a new log, cross-signed by the last checkpoint, after the projections "
                            "database was lost; keygen: print a new checkpoint signing key (for a secret); witness: "
                            "keep the log's checkpoints and check that each extends the last (HALLMARK_TOKEN: an "
                            "assessor's token, for the consistency proofs)")
    trail.add_argument("--reason", help="recover: why (recorded in the new log)")
    trail.add_argument("--as", dest="person", default=os.environ.get("USER") or "operator", help="recover: who")
    trail.add_argument("--instance", default=os.environ.get("HALLMARK_INSTANCE", "local"), help="keygen: the name")
    trail.add_argument("--distributed", action="store_true", help="the instance 'make up' runs")
    trail.add_argument("--url", default=os.environ.get("HALLMARK_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}",
                       help="witness: the Hallmark whose log to watch (its projections service in distributed mode)")
    trail.add_argument("--state", default="hallmark-witness.jsonl", help="witness: where it keeps what it saw")
    trail.set_defaults(func=_trail)

    evidence = sub.add_parser("evidence", help="evidence packs: export a file or a period as a zip; verify one offline")
    evidence.add_argument("action", choices=["export", "verify"])
    evidence.add_argument("pack", nargs="?", help="verify: the pack (zip)")
    evidence.add_argument("--certificate", help="export: the file of this certificate")
    evidence.add_argument("--application", help="export: the file of this application")
    evidence.add_argument("--from", dest="start", help="export: every entry from this day (YYYY-MM-DD) ...")
    evidence.add_argument("--to", dest="end", help="export: ... to this day, included")
    evidence.add_argument("--out", help="export: where to write the zip (default hallmark-evidence-<what>.zip)")
    evidence.add_argument("--key", help="verify: the vkey you trust (or a file holding it), from /v1/trail/public-key")
    evidence.add_argument("--distributed", action="store_true", help="export from the instance 'make up' runs")
    evidence.set_defaults(func=_evidence)

    parked = sub.add_parser("parked", help="dead letters: list, retry or discard parked messages (admin)")
    parked.add_argument("action", choices=["list", "retry", "discard"])
    parked.add_argument("--consumer", help="the consumer holding it (retry, discard), as 'hallmark parked list' shows")
    parked.add_argument("--message", help="the parked message's id (retry, discard)")
    parked.add_argument("--reason", help="why (retry, discard); recorded with your name")
    parked.add_argument("--as", dest="person", default=os.environ.get("USER") or "operator",
                        help="the acting admin, for a locally minted token (ignored with HALLMARK_TOKEN)")
    parked.add_argument("--url", default=os.environ.get("HALLMARK_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}")
    parked.set_defaults(func=_parked)

    certificate = sub.add_parser("certificate", help="a certificate's printable document (ISO/IEC 17065 7.7)")
    certificate.add_argument("action", choices=["document"])
    certificate.add_argument("number", help="the certificate number, e.g. BENOR-00001")
    certificate.add_argument("--revision", type=int, help="which revision (default: the current one)")
    certificate.add_argument("--pdf", metavar="FILE", help="print it to this PDF file with headless Chromium "
                             "(default: the HTML on standard output)")
    certificate.add_argument("--distributed", action="store_true", help="the instance 'make up' runs")
    certificate.set_defaults(func=_certificate)

    demo = sub.add_parser("demo", help="drive one full certification lifecycle through the HTTP API")
    demo.add_argument("--url", default=os.environ.get("HALLMARK_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}",
                      help="the running instance (default: HALLMARK_URL, else http://127.0.0.1:$PORT, PORT 8000)")
    demo.add_argument("--story", choices=("lifecycle", "people", "schemes"), default="lifecycle",
                      help="lifecycle: application to suspension and the assessor's evidence (default); people: "
                      "a laboratory, the holder's corrective action and comments, the printable certificate, "
                      "a complaint leading to a special audit and a sanction; schemes: a scheme's admission period "
                      "and programme, the sanctions ladder, a commission's PTV version and its missed transition, "
                      "a CO2 Performance Ladder certificate and an asbestos expert's person certificate")
    demo.add_argument("--distributed", action="store_true",
                      default=os.environ.get("HALLMARK_DISTRIBUTED", "") not in ("", "0"),
                      help="distributed mode (make up): each path to its service's port, --url's port + 1..5 "
                           "(default 8001-8005 of API.md); default $HALLMARK_DISTRIBUTED")
    demo.set_defaults(func=_demo)

    from services import supervisor

    for name, text in (("up", "distributed mode: PostgreSQL, Kafka and the five services as separate processes "
                              "under a supervisor that restarts them (background)"),
                       ("down", "stop every process 'hallmark up' started (and the broker if it started it)"),
                       ("status", "each process of 'hallmark up': pid, port, up/down, restarts, lag, parked")):
        command = sub.add_parser(name, help=text)
        supervisor.add_arguments(command, name)
        command.set_defaults(func=supervisor.cli)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as error:
        print(f"hallmark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
