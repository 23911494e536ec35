"""The suite's synthetic stores, built once per run in one background process that both xdist
workers share.

Each of these takes half a minute to a minute and a half on two cores. Built as session fixtures,
every worker built its own copy, both at once. Now the first worker to collect tests that need
any of them starts one builder process (`python tests/shared_builds.py ROOT NAME…`). The process
builds them in order into ROOT (the run's temporary directory, which the workers share) while the
workers run the tests that need none of them; `tests/conftest.py` puts those first. A fixture
waits for its build (`wait`), and a failed build fails the tests that need it with the builder's
trace.

The builds are read-only to the tests (copy one before writing to it) and are made with the run's
one throwaway pseudonymisation key (`key_file`), so a pseudonym a test works out matches the
store's on either worker.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

SYNTHETIC_MONTHS = ("2025-11", "2026-04")  # activity months of the shared synthetic store
SYNTHETIC_SCALE = 0.004
SYNTH_YEAR = ("2025-11", "2026-10", 0.01)  # tests/synth's one output: 12 months at scale 0.01, seed 0
DEMO_AREA = "QPM"  # Northamptonshire: ~0.85 M patients, an age structure close to England's
WAIT_SECONDS = 840  # below pytest-timeout's 900 s, so a stuck build fails with this module's message


def build_synthetic_store(target: Path) -> tuple[Path, Path]:
    """A published store built the way real data arrives: `did synth` files through `did load`.

    Six activity months at scale 0.004 (~200 k examinations, ~880 files), seed 1, with the
    generator's planted defects. Returns (store_dir, extracts_dir)."""
    import did_cli
    from ingest import store, synth

    extracts, store_dir = target / "extracts", target / "store"
    synth.generate(*SYNTHETIC_MONTHS, SYNTHETIC_SCALE, extracts, seed=1)
    with store.writer(store_dir, create=True) as con:
        did_cli.load_manifest(con, extracts, progress=None)
        did_cli._mark_synthetic(con, extracts)
        store.publish(con, store_dir)
    return store_dir, extracts


def build_synth_year(target: Path):
    """tests/synth's output: `generate` over 12 months at scale 0.01, seed 0. Returns (out, manifest)."""
    from ingest.synth import generate

    first, last, scale = SYNTH_YEAR
    out = target / "year"
    return out, generate(first, last, scale, out, seed=0)


def build_demo_world(target: Path) -> Path:
    """A small full-scale slice of England built like `did demo` (one ICB, 12 months)."""
    import did_cli

    did_cli.build_demo(target / "store", target / "extracts", 1.0, DEMO_AREA)
    return target / "store"


def build_clean_run(target: Path) -> Path:
    """A store of `generate(..., clean=True)` files (4 months at scale 0.001, seed 3): nothing planted."""
    import did_cli
    from ingest import store, synth

    synth.generate("2025-11", "2026-02", 0.001, target / "extracts", seed=3, clean=True)
    with store.writer(target / "store", create=True) as con:
        did_cli.load_manifest(con, target / "extracts", progress=None)
        store.publish(con, target / "store")
    return target / "store"


# In the order the builder makes them: the store most tests need first.
BUILDS: dict[str, Callable[[Path], object]] = {
    "synthetic_store": build_synthetic_store,
    "synth_year": build_synth_year,
    "demo_world": build_demo_world,
    "clean_run": build_clean_run,
}


def shared_root(basetemp: Path) -> Path:
    """The run's temporary directory: the parent of a worker's own under xdist, else its own."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def key_file(root: Path) -> Path:
    return root / "key" / "pseudonymisation.key"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def make_key(root: Path) -> Path:
    """The run's pseudonymisation key, written once (whichever worker comes first)."""
    path = key_file(root)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    with _locked(root / "key.lock"):
        if not path.exists():
            from ingest import pseudonymise

            path.write_text(os.urandom(pseudonymise.KEY_BYTES).hex() + "\n")
            path.chmod(0o600)
    return path


_STARTED: list[subprocess.Popen] = []  # the builder this process started: kept (and reaped) by it


def start(root: Path, names: list[str]) -> None:
    """Start the builder for `names` unless a worker already has (both collect the same tests)."""
    if not names:
        return
    with _locked(root / "builder.lock"):
        if (root / "builder.pid").exists():
            return
        env = {
            **os.environ,
            "DID_KEY_FILE": str(make_key(root)),
            "DID_AUDIT_LOG": str(root / "builder-audit.jsonl"),
        }
        env.pop("PYTEST_XDIST_WORKER", None)
        log = open(root / "builder.log", "w")  # noqa: SIM115 - the builder's until it exits
        proc = subprocess.Popen(
            [sys.executable, __file__, str(root), *names],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (root / "builder.pid").write_text(f"{proc.pid} {os.getpid()}")
        log.close()
        _STARTED.append(proc)


def stop(root: Path) -> None:
    """At the end of the whole run, stop the builder if it is still going. Called by xdist's
    controller (or the one process of a run without workers), never by a worker: xdist ends a
    worker as soon as it has no more files, and the other may still be waiting for a build."""
    if (root / "builder.pid").exists() and _builder_alive(root):
        with suppress(ProcessLookupError):
            os.killpg(int((root / "builder.pid").read_text().split()[0]), signal.SIGTERM)
    for proc in _STARTED:
        proc.wait()
    _STARTED.clear()


def release() -> None:
    """A worker's end: a builder it started is left to finish (the other worker may be waiting for
    it) and to the run's end to stop; Python is told not to warn that it still runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        _STARTED.clear()


def _builder_alive(root: Path) -> bool:
    """Whether the builder is still running (an exited one may be a zombie until its starter reaps it)."""
    for proc in _STARTED:
        proc.poll()
    pid = int((root / "builder.pid").read_text().split()[0])
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait(root: Path, name: str):
    """The result of build `name`, waiting for the builder to make it. Builds it here when no
    builder was started (a test run directly, by node id, outside the collected set)."""
    done, failed = root / f"{name}.done", root / f"{name}.failed"
    if not (root / "builder.pid").exists():
        with _locked(root / f"{name}.lock"):
            if not done.exists() and not failed.exists():  # a failed build is not tried again
                _build(root, name)
    deadline = time.monotonic() + WAIT_SECONDS
    while not done.exists():
        if failed.exists():
            raise RuntimeError(f"building the shared {name} failed:\n{failed.read_text()}")
        if not _builder_alive(root) and not done.exists():
            log = (root / "builder.log").read_text() if (root / "builder.log").exists() else ""
            raise RuntimeError(f"the shared-store builder stopped before building {name}:\n{log[-4000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the shared {name} was not built within {WAIT_SECONDS} s ({root / 'builder.log'})")
        time.sleep(0.5)
    return pickle.loads(done.read_bytes())


def _build(root: Path, name: str) -> None:
    """Build `name` into ROOT/name; its result pickled to ROOT/name.done (written last, by rename)."""
    try:
        result = BUILDS[name](root / name)
    except BaseException:
        (root / f"{name}.failed").write_text(traceback.format_exc())
        raise
    part = root / f"{name}.done.part"
    part.write_bytes(pickle.dumps(result))
    part.rename(root / f"{name}.done")


if __name__ == "__main__":
    root = Path(sys.argv[1])
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
    import did_settings

    did_settings.activate(did_settings.Settings.from_env())  # an entry point: the key and audit log above
    for name in sys.argv[2:]:
        with _locked(root / f"{name}.lock"):
            if not (root / f"{name}.done").exists():
                started = time.perf_counter()
                _build(root, name)
                print(f"{name}: built in {time.perf_counter() - started:.1f} s", flush=True)
