"""Two users' pages run at once in the dashboard's server (one script thread each), and the Submit
page loads a file in its own: nothing the server or the loader runs may hang when another thread
uses polars at the same moment (did_model/frames.py says why polars user-defined functions did)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UDF = {"map_elements", "map_batches", "map_rows", "map_groups"}

# Two threads for two seconds: one formats a disclosure-controlled table and its verdicts as the
# GP pages do, the other hands a frame to pandas as st.dataframe does. Before did_model/frames.py
# this hung the process within a second (the interpreter lock held by one, the other's polars
# pool waiting for it); the parent's timeout is the verdict.
TWO_PAGES = """
import threading, time
import polars as pl
from dashboard.components import formatting as fmt
from dashboard.components.gp_charts import verdict_column
n = 6000
frame = pl.DataFrame({
    "numerator": list(range(n)), "value": [i * 1.5 for i in range(n)],
    "comparison": [None, "above 99.8%", "below 95%", ""] * (n // 4), "suppressed": [i % 7 == 0 for i in range(n)],
    "practice_name": [f"Practice {i}" for i in range(n)],
})
stop = threading.Event()
done = [0, 0]
def page():
    while not stop.is_set():
        fmt.protected_table(frame.with_columns(verdict_column(frame)), {"numerator": 0, "value": 2})
        done[0] += 1
def table():
    while not stop.is_set():
        frame.to_pandas()
        done[1] += 1
threads = [threading.Thread(target=page), threading.Thread(target=table)]
for t in threads:
    t.start()
time.sleep(2)
stop.set()
for t in threads:
    t.join()
print(done)
"""


def test_two_pages_at_once_do_not_hang_the_server():
    out = subprocess.run([sys.executable, "-c", TWO_PAGES], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr[-2000:]
    page_runs, table_runs = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own child's list
    assert page_runs > 0 and table_runs > 0


def test_no_polars_user_defined_function_in_what_the_server_or_the_loader_runs():
    found = []
    for package in ("dashboard", "queries", "ingest", "did_model"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in UDF:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
    assert found == [], "use did_model.frames.each / each_row instead"
