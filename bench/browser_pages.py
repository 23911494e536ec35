"""What users feel: every page, for each role, timed in a real browser (Debian's Chromium).

    .venv/bin/python bench/browser_pages.py --store /work/national/store [--filters 4] [--roles central,provider]

Serves the dashboard over the given published store (demo mode: the role is picked in the
sidebar, as a demo viewer does), and for each role opens every page it may see:

- **cold**: the page's first visit after the server started — its queries run for the first time
  on this snapshot, as on the first visit after a publish (the caches are keyed on the snapshot
  version, so a publish empties them just as a restart does);
- **warm**: the second visit to the same page, in the same browser session;
- **filter**: up to `--filters` changes of the page's first drop-down in the main area (the
  period, measure or provider choice a user makes next), each timed from the choice.

Each time runs from the click (on the page's link, or on the option) to the page drawn: the
script finished and, where the page has one, its first chart (SVG, or a painted canvas) or table on screen. Writes
bench/results/browser_pages.json and prints a Markdown table of p50/p95 per page and role.
Targets (issue 22): p95 ≤ 2 s cold and ≤ 1 s warm per page.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import did_cli  # noqa: E402
from dashboard.navigation import PAGES  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROLE_LABELS = {
    "central": "Central data team",
    "provider": "Provider",
    "commissioner": "Commissioner (ICB)",
    "gp": "GP practice",
}
SKIP = {"about.py", "accessibility.py"}  # text only: nothing is queried
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Drawn: the main area's first chart on screen (in page order: the page's main one), or on a page
# without charts a table. Plotly: its SVG. A Vega chart (the funnel) is drawn as SVG, or on a
# canvas for thousands of marks, whose white background is painted in the same pass as the
# marks: a painted pixel means it is drawn (the canvas exists before that). A table: a data
# grid's canvas or a <table>.
DRAWN_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const chart = [...main.querySelectorAll('[data-testid="stPlotlyChart"], [data-testid="stVegaLiteChart"]')]
    .find(e => e.offsetWidth > 0 && e.offsetHeight > 0);  // not one in a closed tab
  if (chart) {
    if (chart.getAttribute('data-testid') === 'stPlotlyChart') return !!chart.querySelector('.main-svg');
    const canvas = chart.querySelector('canvas');
    return canvas ? canvas.width > 0 && canvas.getContext('2d').getImageData(0, 0, 1, 1).data[3] > 0
                  : !!chart.querySelector('svg.marks .role-frame');
  }
  return !main.querySelector('[data-testid="stDataFrame"], [data-testid="stTable"]')
    || !!main.querySelector('[data-testid="stDataFrame"] canvas, [data-testid="stTable"] table');
}"""
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(store_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DID_STORE_DIR": str(store_dir), "DID_DEMO_MODE": "1"}
    proc = subprocess.Popen(
        did_cli.streamlit_command(port, unattended=True),
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    failed = did_cli.wait_until_serving(proc, url, 120)
    if failed:
        proc.kill()
        raise SystemExit(f"{failed}; see {log}")
    return proc, url


# Script runs are counted from the server's messages: each run ends with a `script_finished`
# ForwardMsg (field 6) on the tab's websocket, seen by a listener the page adds before
# Streamlit's own. (Watching the app's `data-test-script-state` attribute for "running" missed
# runs: a text-only page such as About runs in a few milliseconds, React renders "running" and
# "not running" in one pass, the attribute never changes, and the bench waited 15 s for a run
# that had already happened, ~3 clicks in 100.)
_COUNT_RUNS = """(() => {
  window.__didRuns = 0;
  const finished = data => {  // a top-level protobuf field 6 in the message
    const b = new Uint8Array(data); let i = 0;
    const varint = () => { let x = 0, s = 0, c; do { c = b[i++]; x += (c & 0x7f) * 2 ** s; s += 7; }
                           while (c & 0x80 && i < b.length); return x; };
    while (i < b.length) {
      const tag = varint(), wire = tag % 8;
      if (Math.floor(tag / 8) === 6) return true;
      if (wire === 0) varint(); else if (wire === 1) i += 8; else if (wire === 2) { const n = varint(); i += n; }
      else if (wire === 5) i += 4; else return false;
    }
    return false;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => {
        if (e.data instanceof ArrayBuffer && finished(e.data)) window.__didRuns += 1;
      });
    }
  };
})();"""


def _new_page(browser):
    """A tab in a fresh browser context whose finished script runs are counted (`_runs`)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    page.add_init_script(_COUNT_RUNS)
    return page


def _runs(page) -> int:
    """How many script runs the tab has seen finish."""
    return page.evaluate("() => window.__didRuns")


def _wait_run(page, runs_before: int, timeout_ms: int) -> bool:
    """Whether a run after `runs_before` finishes within `timeout_ms`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("n => window.__didRuns > n", arg=runs_before, timeout=timeout_ms, polling="raf")
    except PlaywrightTimeout:
        return False
    return True


def _wait_drawn(page, started: float, runs_before: int, timeout_ms: int = TIMEOUT_MS) -> float:
    """Seconds from `started` until a run begun after the click has finished and the main chart or
    table is drawn."""
    if not _wait_run(page, runs_before, timeout_ms):
        raise TimeoutError(f"no script run finished within {timeout_ms / 1000:.0f} s")
    # The listener saw the message before Streamlit's handler did: one frame later, that has run.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]').getAttribute('data-test-script-state') !== 'running'",
        timeout=timeout_ms,
        polling="raf",
    )
    if page.locator(
        '[data-testid="stMain"] [data-testid="stPlotlyChart"], '
        '[data-testid="stMain"] [data-testid="stVegaLiteChart"], '
        '[data-testid="stMain"] [data-testid="stDataFrame"], '
        '[data-testid="stMain"] [data-testid="stTable"]'
    ).count():
        page.wait_for_function(DRAWN_JS, timeout=TIMEOUT_MS, polling="raf")
    return time.perf_counter() - started


def _settle(page) -> None:
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)


def _pick_role(page, role: str) -> None:
    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="View as")
    picker.locator("input").click()
    page.keyboard.type(ROLE_LABELS[role])
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    _settle(page)


def _open(page, title: str) -> float:
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_test_id("stSidebarNavViewButton")
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    link = nav.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True))
    before = _runs(page)
    started = time.perf_counter()
    link.click()
    running = '[data-testid="stApp"][data-test-script-state="running"]'
    # a click that started no run at all is made again (not seen since runs are counted from the
    # server's messages; kept as a guard, and said when it happens)
    if not _wait_run(page, before, 15_000) and not page.locator(running).count():
        print(
            f"  (no run 15 s after clicking {title!r}: clicked again; the time counts from the first click)",
            file=sys.stderr,
            flush=True,
        )
        link.click()
    return _wait_drawn(page, started, before)


def _filter_changes(page, n: int) -> list[float]:
    """Times of up to n choices in the main area's first drop-down (each a different option)."""
    times: list[float] = []
    box = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first
    if not box.count():
        return times
    for i in range(n):
        box.locator("input").click()
        options = page.locator('[role="option"]:not([aria-selected="true"])')  # not the current choice
        try:
            options.first.wait_for(timeout=5000)
        except Exception:  # noqa: BLE001 - a disabled box, or one with one option, offers no other
            page.keyboard.press("Escape")
            break
        target = options.nth(i % options.count())
        before = _runs(page)
        started = time.perf_counter()
        target.click()
        try:
            times.append(_wait_drawn(page, started, before, timeout_ms=30_000))
        except Exception:  # noqa: BLE001 - a choice that starts no run (e.g. inside a form) is not timed
            print("  a choice in the first drop-down started no run; not timed", file=sys.stderr)
            break
    return times


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))], 2)


def run(store_dir: Path, roles: list[str], filters: int, log_dir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    rows: list[dict] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role in roles:
            proc, url = _serve(store_dir, log_dir / f"streamlit-{role}.log")  # a fresh server: every cache cold
            try:
                page = _new_page(browser)
                page.goto(url)
                _settle(page)
                if role != "central":
                    _pick_role(page, role)
                entries = [
                    e
                    for e in PAGES
                    if role in e.roles and e.file not in SKIP and (ROOT / "dashboard" / "views" / e.file).exists()
                ]
                for entry in entries:
                    cold = _open(page, entry.title)
                    changes = _filter_changes(page, filters)
                    _open(page, "About the data")
                    warm = _open(page, entry.title)
                    rows.append(
                        {
                            "role": role,
                            "page": entry.title,
                            "cold_s": round(cold, 2),
                            "warm_s": round(warm, 2),
                            "filter_s": [round(t, 2) for t in changes],
                        }
                    )
                    print(
                        f"{role:12} {entry.title:28} cold {cold:5.2f}  warm {warm:5.2f}  "
                        f"filters {[round(t, 2) for t in changes]}",
                        file=sys.stderr,
                        flush=True,
                    )
                page.context.close()
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        browser.close()
    return {"rows": rows}


def summary(rows: list[dict]) -> dict:
    cold = [r["cold_s"] for r in rows]
    warm = [r["warm_s"] for r in rows] + [t for r in rows for t in r["filter_s"]]
    return {
        "pages_timed": len(rows),
        "cold_p50": _pct(cold, 0.5),
        "cold_p95": _pct(cold, 0.95),
        "warm_p50": _pct(warm, 0.5),
        "warm_p95": _pct(warm, 0.95),
        "cold_over_2s": [f"{r['role']}: {r['page']}" for r in rows if r["cold_s"] > 2],
        "warm_over_1s": sorted({f"{r['role']}: {r['page']}" for r in rows if max([r["warm_s"], *r["filter_s"]]) > 1}),
    }


def markdown(rows: list[dict]) -> str:
    lines = ["| role | page | cold s | warm s | filter changes p50 / p95 s |", "|---|---|---:|---:|---:|"]
    for r in rows:
        f = r["filter_s"]
        changes = f"{_pct(f, 0.5)} / {_pct(f, 0.95)} (n={len(f)})" if f else "–"
        lines.append(f"| {r['role']} | {r['page']} | {r['cold_s']} | {r['warm_s']} | {changes} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", type=Path, default=ROOT / "data" / "store")
    p.add_argument("--roles", default="central,provider,commissioner,gp")
    p.add_argument("--filters", type=int, default=4, help="drop-down changes timed per page")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "browser_pages.json")
    args = p.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is not installed: apt-get install -y chromium")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="did-browser-bench-"))  # the servers' logs, if one fails
    result = {
        "date": date.today().isoformat(),
        "store": str(args.store),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        **run(args.store, args.roles.split(","), args.filters, log_dir),
    }
    result["summary"] = summary(result["rows"])
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result["rows"]))
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
