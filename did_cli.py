"""`did`: the command line over the collection and the store.

Exit codes (a contract other tools rely on; did_errors.py): 0 success (a file accepted, even
with some records rejected); 1 a usage error (wrong or missing argument, missing store, refused
request); 2 a file rejected as a whole or unreadable; 3 an internal error. Every error is one
line on stderr saying what is wrong and what to do; an internal error's trace goes to the log
file (did_settings.py), never to the screen.

Nothing imports this module.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import did_settings
from did_errors import EXIT_INTERNAL, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, DidError, Refused, UsageError

PROJECT_ROOT = Path(__file__).resolve().parent
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
# The default demo: a full-scale slice of England, 12 months (ADR 0008). Nottingham and
# Nottinghamshire with Derby and Derbyshire: two neighbouring ICBs, ~2.4 M registered patients,
# age structure and imaging rates close to England's, built in a few minutes on 2 cores.
DEMO_FROM, DEMO_TO, DEMO_SCALE, DEMO_AREA = "2025-11", "2026-10", 1.0, "QT1,QJ2"

log = logging.getLogger("did")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would exit 2, which our contract keeps for rejected files
        self.print_usage(sys.stderr)
        print(f"did: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def _month(text: str) -> str:
    from did_months import parse_period

    try:
        return f"{parse_period(text):%Y-%m}"
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _short(path, limit: int = 120) -> str:
    """A path as it fits in a one-line message."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:50]}…{text[-50:]}"


def _store_dir(args) -> Path:
    """The store this command works on: `--store`, which main() made part of the settings."""
    return did_settings.current().store_dir


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- synth -------------------------------------------------------------------------------------


def cmd_synth(args) -> int:
    from ingest import synth

    started = time.perf_counter()
    try:
        manifest = synth.generate(
            args.first,
            args.last,
            args.scale,
            Path(args.out),
            seed=args.seed,
            clean=args.clean,
            progress=_say,
            area=args.area,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    totals = manifest.totals
    _say(
        f"wrote {totals['files']} files, {totals['records']:,} records to {args.out} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return EXIT_OK


# --- validate / submit -------------------------------------------------------------------------


def _file_args(args) -> tuple[Path, str, str, date]:
    """The file, provider, period and submission date a command is about, checked before anything
    is read or written; UsageError naming what is wrong."""
    from ingest import ownership
    from ingest.loader import infer_from_name, parse_period

    path = Path(args.file)
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as exc:  # e.g. a file name longer than the file system allows
        raise UsageError(f"cannot open {_short(path)}: {exc.strerror}") from None
    if not exists:
        raise UsageError(f"{_short(path)} does not exist")
    if not is_file:
        raise UsageError(f"{_short(path)} is not a file")
    name_provider, name_period = infer_from_name(path)
    provider = (args.provider or name_provider or "").upper()
    period = args.period or name_period
    if not provider:
        raise UsageError(f"give --provider: the file name {path.name!r} is not DID_<provider>_<YYYYMM>.csv")
    if not period:
        raise UsageError(f"give --period YYYY-MM: the file name {path.name!r} is not DID_<provider>_<YYYYMM>.csv")
    try:
        provider = ownership.provider_code(provider)
        ownership.check_file_name(path, provider)
        if args.submitted_on is not None:
            ownership.check_date(parse_period(period), args.submitted_on)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return path, provider, period, args.submitted_on or date.today()


def _operator():
    """Who runs the command line: the central team (they hold the store files), by OS user name."""
    from did_model.scope import Scope

    return Scope("central", user=did_settings.current().operator)


def _report(result, as_json: bool) -> int:
    if as_json:
        print(result.to_json())
    else:
        c = result.counts
        if result.status == "rejected":
            for err in result.file_errors:
                print(f"REJECTED {result.file}: {err['message']}")
        else:
            print(
                f"{result.status.upper()} {result.file} ({result.provider}, {result.period}, DIDS v{result.version}, "
                f"{result.timeliness}): "
                f"{c['records']:,} records, {c['accepted']:,} accepted, {c['rejected']:,} rejected, "
                f"{c['with_warnings']:,} with warnings"
                + (f", {c['replaced']:,} replaced earlier versions" if c.get("replaced") else "")
            )
            for issue in result.issues[:20]:
                print(f"  line {issue['line']}: {issue['code']} {issue['severity']}: {issue['message']}")
            if result.issues_total > 20:
                print(f"  … {result.issues_total - 20:,} more issues (use --json for the first 200)")
    return EXIT_OK if result.status == "accepted" else EXIT_REJECTED


def cmd_validate(args) -> int:
    from ingest.loader import load_file
    from ingest.store import checking_connection
    from ingest.submit import audit_date_set

    path, provider, period, submitted_on = _file_args(args)
    audit_date_set(_operator(), path.name, provider, period, args.submitted_on, dry_run=True)
    con = checking_connection(_store_dir(args))
    result = load_file(con, path, provider, period, submitted_on, dry_run=True)
    return _report(result, args.json)


def cmd_submit(args) -> int:
    from ingest import store
    from ingest.submit import audit_date_set, load_and_publish

    path, provider, period, submitted_on = _file_args(args)
    store_dir = _store_dir(args)
    audit_date_set(_operator(), path.name, provider, period, args.submitted_on, dry_run=False)
    with store.writer(store_dir, create=True, wait_seconds=args.wait) as con:
        result = load_and_publish(con, store_dir, path, provider, period, submitted_on)
    return _report(result, args.json)


def load_manifest(con, folder: Path, progress=_say) -> dict:
    """Submit every file of a synthetic run in its manifest order, with its submission date."""
    from ingest.loader import load_many

    manifest = folder / "manifest.csv"
    if not manifest.exists():
        raise UsageError(f"{folder} has no manifest.csv: give the folder `did synth --out` wrote")
    from ingest.sites import load_equipment, load_sites

    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    if (folder / "sites.csv").exists():
        load_sites(con, folder / "sites.csv")
    if (folder / "equipment.csv").exists():
        load_equipment(con, folder / "equipment.csv")
    totals = {"files": 0, "rejected_files": 0, "records": 0, "accepted": 0}
    # A batch of loads: let the write-ahead log grow instead of checkpointing every few files
    # (each load is still its own committed transaction; publish checkpoints at the end).
    con.execute("SET checkpoint_threshold = '2GB'")
    started = time.perf_counter()
    jobs = (
        (folder / row["path"], row["provider_code"], row["period"], date.fromisoformat(row["submitted_on"]))
        for row in rows
    )
    for i, result in enumerate(load_many(con, jobs), 1):
        totals["files"] += 1
        totals["rejected_files"] += result.status == "rejected"
        totals["records"] += result.counts.get("records", 0)
        totals["accepted"] += result.counts.get("accepted", 0)
        if progress and (i % 100 == 0 or i == len(rows)):
            rate = totals["records"] / max(time.perf_counter() - started, 1e-9)
            progress(f"loaded {i}/{len(rows)} files, {totals['records']:,} records ({rate:,.0f} records/s)")
    return totals


def cmd_load(args) -> int:
    from ingest import store

    store_dir = _store_dir(args)
    with store.writer(store_dir, create=True, wait_seconds=args.wait) as con:
        _mark_synthetic(con, Path(args.folder))
        totals = load_manifest(con, Path(args.folder))
        store.publish(con, store_dir)
    _say(
        f"loaded {totals['files']} files ({totals['rejected_files']} rejected as a whole), "
        f"{totals['accepted']:,} of {totals['records']:,} records accepted; published"
    )
    return EXIT_OK


def _mark_synthetic(con, folder: Path) -> None:
    """A `did synth` folder makes a synthetic store: say so and what world it is in store_meta, and
    for a slice of England make the reference denominators the area's (ingest/synth/world.py).
    Runs before the records load, so rollups built during the load see the area's reference."""
    import json

    from ingest.synth import world

    planted = folder / "planted.json"
    if planted.exists():
        con.execute("INSERT OR REPLACE INTO store_meta VALUES ('synthetic', 'true')")
        facts = json.loads(planted.read_text(encoding="utf-8"))
        world.record(con, facts)
        world.restrict_reference(con, facts)


# --- demo / serve ------------------------------------------------------------------------------

LOOPBACK = "127.0.0.1"
ADDRESS_HELP = (
    "address to listen on (default 127.0.0.1: this machine only; put a reverse proxy with TLS "
    "in front rather than listening on 0.0.0.0, see the README)"
)


def streamlit_command(port: int, address: str = LOOPBACK, *, unattended: bool = False) -> list[str]:
    """The command that serves the dashboard (run it in PROJECT_ROOT); `unattended` (the browser
    tests and bench/browser_pages.py) also turns off usage statistics and the file watcher."""
    # dashboard.serve loads what the pages need, then runs `streamlit run dashboard/app.py`
    cmd = [sys.executable, "-m", "dashboard.serve"]
    cmd += ["--server.address", address, "--server.port", str(port), "--server.headless", "true"]
    if unattended:
        cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    return cmd


def wait_until_serving(proc: subprocess.Popen, url: str, seconds: float) -> str | None:
    """None once the dashboard `proc` started answers at `url`; else why not (it exited, or did
    not answer within `seconds`)."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            return f"streamlit exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return None
        except OSError:
            pass
        if time.monotonic() > deadline:
            return f"streamlit did not answer within {seconds:g} s"
        time.sleep(0.2)


def _serve(store_dir: Path, port: int, address: str, demo: bool = False) -> int:
    """Run the dashboard. It listens on `address` only: 127.0.0.1 unless told otherwise, so that
    reaching it from elsewhere goes through a reverse proxy that terminates TLS (README)."""
    env = dataclasses.replace(did_settings.current(), store_dir=store_dir, demo_mode=demo).environment()
    if demo:
        _say("DEMO MODE: no sign-in, the viewer picks a role — for synthetic data only")
    cmd = streamlit_command(port, address)
    host = "localhost" if address == LOOPBACK else address
    _say(f"dashboard on http://{host}:{port} (Ctrl+C to stop)")
    try:
        return subprocess.call(cmd, env=env, cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_serve(args) -> int:
    from ingest.store import current_snapshot

    store_dir = _store_dir(args)
    if current_snapshot(store_dir) is None:
        raise UsageError(f"no published store at {store_dir}: run `did demo` or `did submit FILE` first")
    return _serve(store_dir, args.port, args.address, demo=args.demo)


def build_demo(store_dir: Path, extracts: Path, scale: float, area: str | None, timings: dict | None = None) -> None:
    """Generate the demo's extracts (unless `extracts` already holds this world's), then load and
    publish them into a new store at `store_dir`. `timings` gets generate_s, load_s, publish_s."""
    from ingest import store, synth

    timings = {} if timings is None else timings
    started = time.perf_counter()
    if not _holds_world(extracts, scale, area):
        where = f"area {area}" if area else "England"
        _say(f"generating synthetic RIS extracts {DEMO_FROM}..{DEMO_TO} for {where} at scale {scale} into {extracts}")
        try:
            synth.generate(DEMO_FROM, DEMO_TO, scale, extracts, seed=0, progress=_say, area=area)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    timings["generate_s"] = time.perf_counter() - started
    if store.exists(store_dir):
        import shutil

        _say(f"removing an unpublished, partly built store at {store_dir}")
        shutil.rmtree(store_dir)
    _say(f"loading them into {store_dir}")
    with store.writer(store_dir, create=True) as con:
        _mark_synthetic(con, extracts)
        load_manifest(con, extracts)
        from ingest import dm01
        from ingest.synth.dm01 import write_dm01_file

        dm01.load_dm01(con, write_dm01_file(con, extracts / "dm01.csv"))  # for the DM01 reconciliation
        _load_arrangements(con, extracts)
        timings["load_s"] = time.perf_counter() - started - timings["generate_s"]
        store.publish(con, store_dir)
    timings["publish_s"] = time.perf_counter() - started - timings["generate_s"] - timings["load_s"]


def _load_arrangements(con, extracts: Path) -> None:
    """The synthetic outsourcing arrangements the generator planted (ingest/synth/outsourcing.py),
    so the demo's Outsourced imaging page has arrangements, pairs and a gap to show."""
    from ingest.outsourcing import load_outsourcing
    from ingest.synth.outsourcing import ARRANGEMENTS_FILE

    if (extracts / ARRANGEMENTS_FILE).exists():
        load_outsourcing(con, extracts / ARRANGEMENTS_FILE)


def _holds_world(extracts: Path, scale: float, area: str | None) -> bool:
    """Whether a folder holds a complete demo generation of this scale and area (an older demo's
    extracts, e.g. England at 2%, are generated again rather than loaded as if they were it)."""
    import json

    from ingest.synth.world import parse_codes

    try:
        planted = json.loads((extracts / "planted.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    world = planted.get("world") or {}
    return (
        (extracts / "manifest.csv").exists()
        and float(planted.get("scale", -1)) == scale
        and tuple(world.get("area", ())) == parse_codes(area)
        and (planted.get("first_month"), planted.get("last_month")) == (DEMO_FROM, DEMO_TO)
    )


def cmd_demo(args) -> int:
    from ingest import store

    store_dir = _store_dir(args)
    extracts = DEMO_DIR / "extracts"
    if args.rebuild:
        import shutil

        shutil.rmtree(store_dir, ignore_errors=True)
        shutil.rmtree(extracts, ignore_errors=True)
    started = time.perf_counter()
    if store.current_snapshot(store_dir) is None:
        build_demo(store_dir, extracts, args.scale, args.area or None)
        _say(f"demo store built in {time.perf_counter() - started:.0f} s")
    else:
        _say(f"reusing the demo store at {store_dir} (use --rebuild to start again)")
    if args.no_serve:
        return EXIT_OK
    return _serve(store_dir, args.port, args.address, demo=True)


# --- reference ---------------------------------------------------------------------------------

# --- local codes -------------------------------------------------------------------------------


def cmd_local_codes(args) -> int:
    from ingest import local_codes, store

    store_dir = _store_dir(args)
    if args.action == "list":
        con = store.checking_connection(store_dir)
        rows = local_codes.list_codes(con, args.provider)
        print("provider,local_code,maps_to,notified_at")
        for r in rows:
            print(f"{r.provider_code},{r.local_code},{r.nicip_code},{r.notified_at:%Y-%m-%d %H:%M}")
        return EXIT_OK
    try:
        if args.action == "add":
            lc = local_codes.notify(
                store_dir,
                args.provider,
                args.code,
                args.maps_to,
                notified_by=did_settings.current().operator,
                scope=_operator(),
            )
            message = f"{lc.provider_code} local code {lc.local_code} now loads as NICIP {lc.nicip_code}"
        else:
            local_codes.withdraw(store_dir, args.provider, args.code, scope=_operator())
            message = f"{args.provider.upper()} local code {args.code.upper()} removed"
    except local_codes.LocalCodeError as exc:
        raise UsageError(str(exc)) from None
    _say(message)
    return EXIT_OK


def cmd_reference_load(args) -> int:
    """Replace one reference table from a file, under the writer lock, and publish."""
    from ingest import dm01, outsourcing, sites, spec_pack, store, timetable
    from ingest.reference import load_nicip_release

    load = {
        "nicip": load_nicip_release,
        "sites": sites.load_sites,
        "equipment": sites.load_equipment,
        "timetable": timetable.load_timetable,
        "spec": spec_pack.install,
        "outsourcing": outsourcing.load_outsourcing,
        "dm01": dm01.load_dm01,
    }[args.what]
    if args.what == "spec":
        spec_pack.read_pack(Path(args.file))  # a bad pack is refused before the store is opened
    if args.what == "dm01":
        dm01.read_dm01(Path(args.file))  # likewise a bad DM01 file
    store_dir = _store_dir(args)
    with store.writer(store_dir, wait_seconds=args.wait) as con:
        n = load(con, Path(args.file))
        store.publish(con, store_dir)
    what = "rules" if args.what == "spec" else "rows"
    _say(f"{args.what} reference replaced: {n:,} {what} from {args.file}")
    return EXIT_OK


def cmd_publish(args) -> int:
    """Publish the store again, first recording how outsourced duplicates count (ADR 0010)."""
    from ingest import duplicates, store

    store_dir = _store_dir(args)
    with store.writer(store_dir, wait_seconds=args.wait) as con:
        if args.count_duplicates:
            duplicates.set_counting(con, args.count_duplicates)
        store.publish(con, store_dir, full=args.full)
        how = "once" if duplicates.counting_once(con) else "every submitted copy"
        pairs, removed = con.execute("SELECT count(*), count(*) FILTER (WHERE removed) FROM duplicate_pair").fetchall()[
            0
        ]
    _say(f"published; outsourced examinations counted {how}: {pairs:,} pairs found, {removed:,} copies left out")
    return EXIT_OK


def cmd_quarantine_purge(args) -> int:
    from ingest import quarantine, store

    store_dir = _store_dir(args)
    with store.writer(store_dir, wait_seconds=args.wait) as con:
        n = quarantine.purge(con, args.older_than)
        store.publish(con, store_dir)
    _say(f"purged {n:,} quarantined records older than {args.older_than} days")
    return EXIT_OK


# --- export ------------------------------------------------------------------------------------


def _scope(args):
    """Whose view a command produces: `--user NAME` (a registered user's scope) or, by default, the
    machine's operator, who is the central team (they can read the store file anyway)."""
    from did_model.scope import CENTRAL
    from queries import users

    if not getattr(args, "user", None):
        return CENTRAL
    user = users.load().get(args.user)
    if user is None:
        raise UsageError(f"there is no registered user {args.user!r} (see `did users list`)")
    return user.scope()


def _build_as_user(args, what: str, build):
    """Run `build(snap, scope, args)` for the requesting user on the published store; a refusal
    (outside the user's scope) is written to the audit log before it is reported."""
    import did_audit as audit
    from queries.connection import NoStoreError, get_snapshot

    scope = _scope(args)
    try:
        snap = get_snapshot(_store_dir(args))
    except NoStoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        return scope, build(snap, scope, args)
    except Refused as exc:
        audit.record(scope, f"refused {what}", reason=exc.message)
        raise


def cmd_export(args) -> int:
    import did_audit as audit
    from queries import exports

    scope, frame = _build_as_user(args, f"export {args.export_name}", exports.registry()[args.export_name].build)
    audit.record(
        scope,
        f"export {args.export_name}",
        rows=frame.height,
        args={k: v for k, v in vars(args).items() if k not in ("func",) and v is not None},
    )
    out = Path(args.out) if args.out else Path(f"{args.export_name}.{args.format}")
    exports.write(frame, out, args.format)
    _say(f"wrote {frame.height:,} rows to {out}")
    return EXIT_OK


def cmd_report(args) -> int:
    import did_audit as audit
    from queries import reports

    report = reports.registry()[args.report_name]
    scope, output = _build_as_user(args, f"report {args.report_name}", report.build)
    stem = (
        args.report_name
        + "_"
        + "_".join(str(v) for k, v in sorted(vars(args).items()) if k in ("period", "provider", "year") and v)
    )
    written = reports.write(output, Path(args.out), stem, xlsx=not args.no_xlsx)
    if report.audited:
        audit.record(
            scope,
            f"report {args.report_name}",
            files=[str(p) for p in written],
            rows={k: v.height for k, v in output.tables.items()},
        )
    _say(f"wrote {', '.join(p.name for p in written)} to {args.out}")
    return EXIT_OK


def cmd_users(args) -> int:
    from queries import users

    try:
        if args.users_command == "add":
            password = None
            if not args.email:
                if args.password_stdin:
                    password = sys.stdin.readline().rstrip("\n")
                else:
                    import getpass

                    password = getpass.getpass(f"password for {args.username}: ")
            user = users.add(
                args.username, args.role, password, args.provider, args.icb, args.sub_icb, args.practice, args.email
            )
            _say(f"user {user.username} ({user.scope().describe()}) saved in {users.users_path()}")
        elif args.users_command == "remove":
            users.remove(args.username)
            _say(f"user {args.username} removed")
        else:
            print("username,role,scope,sign_in")
            for u in users.load().values():
                print(f"{u.username},{u.role},{u.scope().describe()},{'identity provider' if u.email else 'password'}")
    except users.UserError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


# --- parser ------------------------------------------------------------------------------------


def _command_word(argv: list[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


AREA_HELP = (
    "a slice of England instead of all of it: NHS region codes (Y56 London .. Y63) and/or 2026 ICB "
    "codes, comma-separated (e.g. Y58 or QT1,QJ2); the store's populations become the area's"
)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. The export and report subcommands come from plugin modules that
    import the statistics stack (scipy, pandas: about a second); they are discovered only when
    the command line asks for `export` or `report`, so `did submit` starts quickly."""
    command = _command_word(sys.argv[1:] if argv is None else argv)
    p = _Parser(prog="did", description="NHS Diagnostic Imaging Dataset: collection, store and dashboard")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def store_opts(sp):
        sp.add_argument("--store", help="store directory (default: $DID_STORE_DIR or data/store)")
        sp.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another writer")

    s = sub.add_parser(
        "synth", help="write synthetic RIS extract files (DIDS v1.0 before April 2026 activity, v2.0 from it)"
    )
    s.add_argument("--from", dest="first", required=True, type=_month, help="first activity month YYYY-MM")
    s.add_argument("--to", dest="last", required=True, type=_month, help="last activity month YYYY-MM")
    s.add_argument("--scale", type=float, default=0.01, help="1.0 = England (~4.1 M records a month)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--clean", action="store_true", help="no planted defects")
    s.add_argument("--area", help=AREA_HELP)
    s.set_defaults(func=cmd_synth)

    for name, func, helptext in (
        ("validate", cmd_validate, "check a file without loading it"),
        ("submit", cmd_submit, "check a file and load it into the store"),
    ):
        v = sub.add_parser(name, help=helptext)
        v.add_argument("file")
        v.add_argument("--provider", help="provider ODS code (default: from DID_<provider>_<YYYYMM>.csv)")
        v.add_argument("--period", type=_month, help="submission month YYYY-MM (default: from the file name)")
        v.add_argument(
            "--submitted-on",
            type=_date,
            help="submission date YYYY-MM-DD (default: today, the day the file arrives); another "
            "date re-checks an old file, is audited, and is never in the future nor before the period",
        )
        v.add_argument("--json", action="store_true", help="print one JSON object")
        store_opts(v)
        v.set_defaults(func=func)

    pb = sub.add_parser("publish", help="publish the store again (after changing how duplicates count)")
    pb.add_argument(
        "--count-duplicates",
        choices=("once", "every"),
        help="an outsourced examination submitted by two providers counts once (the default) "
        "or every submitted copy counts; kept for later publishes",
    )
    pb.add_argument(
        "--full",
        action="store_true",
        help="build every rollup and provider file afresh instead of refreshing what changed",
    )
    store_opts(pb)
    pb.set_defaults(func=cmd_publish)

    ld = sub.add_parser("load", help="submit every file of a `did synth` folder in manifest order")
    ld.add_argument("folder")
    store_opts(ld)
    ld.set_defaults(func=cmd_load)

    d = sub.add_parser("demo", help="build the demo store from synthetic extracts (once) and serve the dashboard")
    d.add_argument(
        "--scale",
        type=float,
        default=DEMO_SCALE,
        help="1.0 = real volumes (default); with --area '' a smaller England for quick looks",
    )
    d.add_argument(
        "--area",
        default=DEMO_AREA,
        help=f"{AREA_HELP} (default {DEMO_AREA}: Nottingham and Nottinghamshire, Derby and Derbyshire); "
        "'' = all of England",
    )
    d.add_argument("--port", type=int, default=8501)
    d.add_argument("--address", default=LOOPBACK, help=ADDRESS_HELP)
    d.add_argument("--rebuild", action="store_true", help="throw away the demo store and build it again")
    d.add_argument("--no-serve", action="store_true", help="build the store and stop")
    d.add_argument("--store", help="store directory (default: $DID_STORE_DIR or data/store)")
    d.set_defaults(func=cmd_demo)

    sv = sub.add_parser("serve", help="serve the dashboard on an existing store")
    sv.add_argument("--port", type=int, default=8501)
    sv.add_argument("--address", default=LOOPBACK, help=ADDRESS_HELP)
    sv.add_argument("--store", help="store directory (default: $DID_STORE_DIR or data/store)")
    sv.add_argument(
        "--demo", action="store_true", help="no sign-in: the viewer picks a role (for synthetic demo data only)"
    )
    sv.set_defaults(func=cmd_serve)

    us = sub.add_parser("users", help="register who may sign in to the dashboard, and what they may see")
    ussub = us.add_subparsers(dest="users_command", required=True, parser_class=_Parser)
    ua = ussub.add_parser("add", help="add or replace a user (asks for a password unless --email)")
    ua.add_argument("username")
    ua.add_argument("--role", required=True, choices=("central", "provider", "commissioner", "gp"))
    ua.add_argument("--provider", action="append", default=[], help="provider ODS code (repeatable)")
    ua.add_argument("--icb", action="append", default=[], help="ICB ODS code (repeatable)")
    ua.add_argument("--sub-icb", action="append", default=[], help="sub-ICB ODS code (repeatable)")
    ua.add_argument("--practice", help="GP practice code")
    ua.add_argument("--email", help="sign in through the identity provider with this e-mail (no password)")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ul = ussub.add_parser("list", help="list users (no password hashes)")
    ur = ussub.add_parser("remove", help="remove a user")
    ur.add_argument("username")
    for sp in (ua, ul, ur):
        sp.add_argument(
            "--store",
            help="store directory whose users.json this is (default: $DID_STORE_DIR or "
            "data/store; $DID_USERS_FILE names another file)",
        )
        sp.set_defaults(func=cmd_users)

    lc = sub.add_parser("local-codes", help="notify, list or remove a provider's local procedure codes")
    lcsub = lc.add_subparsers(dest="action", required=True, parser_class=_Parser)
    lca = lcsub.add_parser("add", help="notify a local code and the national NICIP code it means")
    lca.add_argument("--provider", required=True)
    lca.add_argument("--code", required=True)
    lca.add_argument("--maps-to", required=True, help="national NICIP code")
    lcr = lcsub.add_parser("remove", help="withdraw a local code")
    lcr.add_argument("--provider", required=True)
    lcr.add_argument("--code", required=True)
    lcl = lcsub.add_parser("list", help="list notified local codes")
    lcl.add_argument("--provider")
    for sp in (lca, lcr, lcl):
        store_opts(sp)
        sp.set_defaults(func=cmd_local_codes)

    q = sub.add_parser("quarantine", help="manage the quarantine of rejected records")
    qsub = q.add_subparsers(dest="quarantine_command", required=True, parser_class=_Parser)
    qp = qsub.add_parser("purge", help="delete quarantined records older than a retention period")
    qp.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    store_opts(qp)
    qp.set_defaults(func=cmd_quarantine_purge)

    ex = sub.add_parser("export", help="write the table behind a dashboard view as CSV or Parquet")
    exsub = ex.add_subparsers(dest="export_name", required=True, parser_class=_Parser)
    exports: list = []  # the plugins are imported only for the command that needs them
    if command == "export":
        from queries import exports as export_plugins

        exports = list(export_plugins.registry().values())
    for export in exports:
        e = exsub.add_parser(export.name, help=export.help)
        export.add_arguments(e)
        e.add_argument("--format", choices=("csv", "parquet"), default="csv")
        e.add_argument("--user", help="produce it as this registered user sees it (default: central)")
        e.add_argument("--out", help="output file (default: NAME.FORMAT in the current folder)")
        e.add_argument("--store", help="store directory (default: $DID_STORE_DIR or data/store)")
        e.set_defaults(func=cmd_export)

    rp = sub.add_parser("report", help="write an official output (CSV tables, .xlsx workbook with notes)")
    rpsub = rp.add_subparsers(dest="report_name", required=True, parser_class=_Parser)
    reports: list = []
    if command == "report":
        from queries import reports as report_plugins

        reports = list(report_plugins.registry().values())
    for report in reports:
        e = rpsub.add_parser(report.name, help=report.help)
        report.add_arguments(e)
        e.add_argument("--out", required=True, help="output folder")
        e.add_argument("--no-xlsx", action="store_true", help="CSV and notes only")
        e.add_argument("--user", help="produce it as this registered user sees it (default: central)")
        e.add_argument("--store", help="store directory (default: $DID_STORE_DIR or data/store)")
        e.set_defaults(func=cmd_report)

    r = sub.add_parser("reference", help="manage reference data")
    rsub = r.add_subparsers(dest="reference_command", required=True, parser_class=_Parser)
    helps = {
        "nicip": "replace the NICIP code list with an official release CSV",
        "sites": "replace the imaging sites with a CSV (ingest/sites.py)",
        "equipment": "replace the scanner inventory with a CSV (docs/equipment-file-format.md)",
        "timetable": "replace the submission timetable with a CSV (ingest/timetable.py)",
        "spec": "install a DIDS spec pack FOLDER (items, code lists, rules; ingest/spec_pack.py)",
        "outsourcing": "replace the outsourcing arrangements with a CSV (ingest/outsourcing.py)",
        "dm01": "replace the DM01 activity and waiting-list figures with a CSV (ingest/dm01.py)",
    }
    for what, helptext in helps.items():
        rs = rsub.add_parser(f"load-{what}", help=helptext)
        rs.add_argument("file")
        store_opts(rs)
        rs.set_defaults(func=cmd_reference_load, what=what)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command under the settings its flags give (did_settings), catching the errors a
    user can act on (did_errors.DidError); anything else is a bug, logged with its trace."""
    args = build_parser(argv).parse_args(argv)
    try:
        settings = did_settings.activate(did_settings.Settings.from_env({"store_dir": getattr(args, "store", None)}))
        did_settings.configure_logging(settings)
        return args.func(args)
    except DidError as exc:
        print(f"did: {exc.label}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("did: interrupted; nothing was half-written (loads are single transactions)", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine's, not the code's: a missing or unreadable file, a full disk
        if _disk_full(exc):
            return _say_disk_full(exc, args)
        where = f": {_short(exc.filename)}" if exc.filename else ""
        print(f"did: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the one place a bug is caught, to be logged with its trace
        if _disk_full(exc):  # DuckDB reports a full disk as its own IOException, not OSError
            return _say_disk_full(exc, args)
        log.error(
            "internal error in `did %s` (%s); the trace is in %s, please report it",
            _command_name(args),
            type(exc).__name__,
            did_settings.current().log_file,
            exc_info=True,
        )
        return EXIT_INTERNAL


def _command_name(args) -> str:
    """The command and subcommand words (no values: a log line names what ran, not with what)."""
    words = [args.command] + [
        getattr(args, a)
        for a in ("users_command", "action", "quarantine_command", "export_name", "report_name", "reference_command")
        if getattr(args, a, None)
    ]
    return " ".join(words)


def _disk_full(exc: BaseException) -> bool:
    import errno

    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def _say_disk_full(exc: BaseException, args) -> int:
    """One line for a full disk: where, what to free, and that an unfinished load changed nothing
    (each load is one transaction; a snapshot is published only when complete)."""
    where = getattr(exc, "filename", None) or (_store_dir(args) if hasattr(args, "store") else Path.cwd())
    print(
        f"did: error: the disk holding {_short(where)} is full; free space there (old exports, "
        "logs or other files) and run the command again; nothing half-written was kept",
        file=sys.stderr,
    )
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
