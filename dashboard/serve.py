"""Serve the dashboard: `python -m dashboard.serve [streamlit run options]`.

Loads what the pages need once, before the server answers anyone, then runs `streamlit run
dashboard/app.py` in this process. A page's first visit in a new server process used to pay the
process's one-time costs on top of its own: importing SciPy's statistics (about 1.5 s on a
two-core machine, the first page that tests a rate), the holidays package and its England data
(0.55 s, Scanner utilisation), Plotly's figure validators and template (0.26 s, the first chart).
A publish never pays them again, so a visitor after a publish did not either; only whoever came
first after a restart did, and the page bench (which starts a server per role) counted them as
the cold visit. The server now starts a few seconds later instead. What it loaded is then frozen
out of the garbage collector's full collections, which Streamlit runs after every script run
(`freeze_loaded`).
"""

from __future__ import annotations

import ast
import gc
import importlib
import logging
import pkgutil
import sys
from datetime import date
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
PACKAGES = ("queries", "dashboard.components", "did_model")  # and what each page imports itself


def imported_by_pages() -> set[str]:
    """The modules the page scripts (dashboard/views) import."""
    names: set[str] = set()
    for view in (APP.parent / "views").glob("*.py"):
        for node in ast.walk(ast.parse(view.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names - {"__future__"}


class _NoRuntimeYet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "No runtime found" not in record.getMessage()


def warm() -> list[str]:
    """Import every module the pages are built from and do the libraries' one-time set-ups.
    Returns the modules imported."""
    names = []
    # st.cache_data checks its options against the runtime's cache store when a function is
    # decorated, and says "No runtime found" before the server has one: true, and harmless (the
    # cache itself is looked up at the first call, by then from the runtime).
    checks = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    quiet = _NoRuntimeYet()
    checks.addFilter(quiet)  # a filter, not a level: Streamlit sets its loggers' levels again
    try:
        for package_name in PACKAGES:
            package = importlib.import_module(package_name)
            for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
                if module.name.rsplit(".", 1)[-1] != "__main__":
                    importlib.import_module(module.name)
                    names.append(module.name)
        for name in sorted(imported_by_pages()):
            importlib.import_module(name)
            names.append(name)
    finally:
        checks.removeFilter(quiet)

    import plotly.graph_objects as go

    from queries.equipment import bank_holidays

    # Plotly loads a property's validator the first time it is set, and a template the first time
    # it is named: build one figure with what the charts use.
    go.Figure(go.Scatter(x=[0], y=[0]), layout={"template": "plotly_white", "title": "warm", "legend": {"x": 0}})
    # The holidays package reads its country data on first use (then keeps it).
    today = date.today()
    bank_holidays(date(today.year - 3, 1, 1), date(today.year + 1, 12, 31))
    return names


def freeze_loaded() -> int:
    """Move every object loaded so far out of the garbage collector's sight (`gc.freeze`), after
    one last collection; returns how many. Streamlit collects all generations after every script
    run (`runner.postScriptGC`), and with the libraries loaded that walk was about 210,000
    objects, 135 ms on this machine, holding the interpreter lock while the run's last messages
    waited to be sent (a py-spy profile of the measure page: a third of each warm rerun). The
    modules, classes and functions loaded here live as long as the process anyway; what the runs
    make after this is still collected."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def main(argv: list[str] | None = None) -> int:
    warm()
    freeze_loaded()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
