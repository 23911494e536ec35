"""The Submit page in a real browser: how soon a provider sees its file's verdict, and its publish.

    .venv/bin/python bench/browser_submit.py --store /work/national/store [--repeat 3] [--extracts DIR]

Takes the largest file of the newest submission month in the extracts' manifest (as
bench/resubmission.py does), serves the dashboard over a copy of the store (a submission changes
it; the copy is removed afterwards) and, in Debian's Chromium, as the central data team:
chooses the file's provider and month on the Submit page, uploads the file, waits for the
upload to finish, then clicks **Submit** and times, from the click:

- **verdict**: the verdict on screen ("… was accepted", with its counts, "Publishing it …"),
  shown as soon as the file is checked and loaded;
- **published**: the progress box reading "Published" (the new snapshot in place, what the
  dashboard reads), after the publish's steps were shown one by one.

`--repeat` submissions of the same file (each replaces the one before). Writes
bench/results/browser_submit.json and prints the times. Target (issue 22): the verdict ≤ 3 s after
the upload for the largest provider-month, and progress shown while it publishes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser_pages import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _open, _serve, _settle  # noqa: E402
from bench.resubmission import _choose_file  # noqa: E402


def _choose(page, label: str, text: str) -> None:
    box = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(has_text=label)
    box.locator("input").click()
    page.keyboard.type(text)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    _settle(page)


def _submit_once(page, chosen: dict) -> dict:
    _choose(page, "Provider", chosen["provider"])
    period = page.get_by_label("Submission month (YYYY-MM)", exact=True).and_(page.get_by_test_id("stTextInputField"))
    period.fill(chosen["period"])
    period.press("Enter")
    _settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(chosen["file"]))
    page.locator('[data-testid="stFileChip"]').wait_for(timeout=TIMEOUT_MS)
    submit = page.get_by_role("button", name="Submit", exact=True)
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Submit');"
        " return b && !b.disabled; }",
        timeout=TIMEOUT_MS,
    )
    _settle(page)
    started = time.perf_counter()
    submit.click()
    # The verdict as the load commits, before the publish: it alone says "Publishing it" (the
    # previous submission's final verdict stays on screen until this one replaces it).
    page.locator('[data-testid="stAlert"]').filter(has_text="Publishing it").first.wait_for(timeout=TIMEOUT_MS)
    verdict = time.perf_counter() - started
    steps_seen = page.locator('[data-testid="stExpander"] [data-testid="stMarkdownContainer"]').count()
    page.get_by_text("Published: the dashboard shows it now").first.wait_for(timeout=TIMEOUT_MS)
    published = time.perf_counter() - started
    _settle(page)
    return {"verdict_s": round(verdict, 2), "published_s": round(published, 2), "steps_shown_at_verdict": steps_seen}


def run(store_dir: Path, chosen: dict, repeat: int, log_dir: Path) -> list[dict]:
    from playwright.sync_api import sync_playwright

    proc, url = _serve(store_dir, log_dir / "streamlit.log")
    runs: list[dict] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            page.goto(url)
            _settle(page)
            for i in range(repeat):
                _open(page, "Submit a file")
                runs.append(_submit_once(page, chosen))
                print(f"submission {i + 1}: {runs[-1]}", file=sys.stderr, flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, type=Path)
    p.add_argument("--extracts", type=Path, help="a `did synth` folder (default: STORE/../extracts)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "browser_submit.json")
    args = p.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is not installed: apt-get install -y chromium")
    chosen = _choose_file(args.extracts or args.store.resolve().parent / "extracts")
    os.environ.setdefault("DID_KEY_FILE", str(args.store.resolve().parent / "bench.key"))
    with tempfile.TemporaryDirectory(prefix="did-browser-submit-", dir=args.store.resolve().parent) as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        shutil.copytree(args.store.resolve(), work / "store", ignore=shutil.ignore_patterns(".lock"))
        print(f"copied the store in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        runs = run(work / "store", chosen, args.repeat, work)
    result = {
        "date": date.today().isoformat(),
        "store": str(args.store),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "file": Path(chosen["file"]).name,
        "file_mb": round(Path(chosen["file"]).stat().st_size / 1e6, 1),
        "runs": runs,
        "verdict_median_s": statistics.median(r["verdict_s"] for r in runs),
        "published_median_s": statistics.median(r["published_s"] for r in runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
