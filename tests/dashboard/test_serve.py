"""The server loads what the pages need before anyone visits (dashboard/serve.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import did_cli

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w., ]+?)(?:\s+as\s+\w+)?\s*$)", re.MULTILINE)


def _imported_by_views() -> set[str]:
    """Read line by line (dashboard.serve reads the same files as syntax trees)."""
    names = set()
    for view in (ROOT / "dashboard" / "views").glob("*.py"):
        for module, modules in IMPORT.findall(view.read_text(encoding="utf-8")):
            names.update([module] if module else [m.strip() for m in modules.split(",")])
    return names - {"__future__"}


def test_every_module_a_page_imports_and_the_libraries_one_time_set_ups_are_done_before_serving():
    """In a fresh process, after warm(): every module any page imports is loaded, and so are the
    holidays package's England data and Plotly's validators (the first use of each took 0.3-1.5 s
    of a page's first visit)."""
    code = (
        "import json, sys; from dashboard import serve; serve.warm(); "
        "from plotly.validator_cache import ValidatorCache; "
        "print(json.dumps({'modules': sorted(sys.modules), 'validators': len(ValidatorCache._cache)}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    missing = sorted(_imported_by_views() - set(loaded["modules"]))
    assert missing == [], "add these to dashboard.serve.warm"
    assert "holidays.countries.united_kingdom" in loaded["modules"]
    assert loaded["validators"] > 10
    assert "No runtime found" not in out.stderr


def test_the_dashboard_is_served_through_it():
    command = did_cli.streamlit_command(8501)
    assert command[1:3] == ["-m", "dashboard.serve"]
    assert "run" not in command  # dashboard.serve runs `streamlit run dashboard/app.py` itself


def test_what_was_loaded_is_kept_out_of_the_collection_after_every_run():
    """Streamlit collects every generation after each script run; the libraries' ~200,000
    objects made that walk about 135 ms of every rerun, on every page. The server freezes what it
    loaded before it serves, so the walk covers only what the runs make."""
    code = (
        "import gc, streamlit.web.cli as cli; from dashboard import serve; "
        "cli.main = lambda: print(gc.get_freeze_count(), len(gc.get_objects())) or 0; "
        "serve.main([])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    frozen, tracked = map(int, out.stdout.strip().splitlines()[-1].split())
    assert frozen > 100_000  # the libraries the pages use
    assert tracked < frozen / 20
