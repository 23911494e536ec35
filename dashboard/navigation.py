"""The dashboard's pages, grouped as the users find them.

A page is listed only when its file exists, so work in progress never shows as an empty
page. `roles` says who may open it (issue: privacy and access); the queries behind a page
enforce scope whatever the navigation shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Not "pages/": Streamlit would also serve a folder of that name directly, bypassing the router
# (and so the sign-in) for a deep link.
PAGES_DIR = Path(__file__).parent / "views"
ALL_ROLES = ("central", "provider", "commissioner", "gp")


@dataclass(frozen=True)
class PageEntry:
    file: str
    title: str
    icon: str
    url_path: str
    section: str
    roles: tuple[str, ...] = ALL_ROLES
    default: bool = False


PAGES: tuple[PageEntry, ...] = (
    PageEntry("home.py", "Home", ":material/home:", "home", "Overview", default=True),
    # Not for providers: a provider sees no practice named (queries.gp_benchmark._named), so the
    # page's picker would offer nothing to pick; the Measure page shows providers the benchmark.
    PageEntry(
        "gp_practice.py",
        "Practice benchmark",
        ":material/stethoscope:",
        "practice",
        "GP benchmarking",
        roles=("central", "commissioner", "gp"),
    ),
    PageEntry("gp_measure.py", "Measure across practices", ":material/scatter_plot:", "measure", "GP benchmarking"),
    PageEntry(
        "variation_demographic.py",
        "Who is imaged",
        ":material/groups:",
        "demographic",
        "Variation",
        roles=("central", "commissioner", "provider"),
    ),
    PageEntry(
        "variation_geographic.py",
        "Where: map",
        ":material/map:",
        "geographic",
        "Variation",
        roles=("central", "commissioner", "provider"),
    ),
    PageEntry(
        "variation_flows.py",
        "Patient flows",
        ":material/swap_horiz:",
        "flows",
        "Variation",
        roles=("central", "commissioner", "provider"),
    ),
    PageEntry(
        "submit.py", "Submit a file", ":material/upload_file:", "submit", "Collection", roles=("central", "provider")
    ),
    PageEntry(
        "local_codes.py",
        "Local codes",
        ":material/list_alt:",
        "local-codes",
        "Collection",
        roles=("central", "provider"),
    ),
    PageEntry(
        "equipment.py",
        "Scanner utilisation",
        ":material/precision_manufacturing:",
        "equipment",
        "Providers",
        roles=("central", "provider", "commissioner"),
    ),
    PageEntry("waiting_times.py", "Waiting times", ":material/schedule:", "waiting-times", "Providers"),
    PageEntry(
        "completeness.py",
        "Completeness",
        ":material/grid_on:",
        "completeness",
        "Data quality",
        roles=("central", "provider"),
    ),
    PageEntry(
        "data_quality.py",
        "Data quality",
        ":material/fact_check:",
        "data-quality",
        "Data quality",
        roles=("central", "provider"),
    ),
    PageEntry(
        "provider_drilldown.py",
        "Provider detail",
        ":material/domain:",
        "provider",
        "Data quality",
        roles=("central", "provider"),
    ),
    PageEntry(
        "provider_profile.py",
        "Provider profile",
        ":material/assignment:",
        "provider-profile",
        "Providers",
        roles=("central", "provider", "commissioner"),
    ),
    PageEntry(
        "outsourced.py",
        "Outsourced imaging",
        ":material/call_split:",
        "outsourced",
        "Data quality",
        roles=("central", "provider"),
    ),
    PageEntry(
        "official_outputs.py",
        "Official statistics",
        ":material/table_chart:",
        "statistics",
        "Outputs",
        roles=("central", "commissioner"),
    ),
    PageEntry(
        "radiation_dose.py",
        "Radiation dose",
        ":material/radiology:",
        "dose",
        "Outputs",
        roles=("central", "commissioner"),
    ),
    PageEntry("about.py", "About the data", ":material/info:", "about", "About"),
    PageEntry("accessibility.py", "Accessibility", ":material/accessibility:", "accessibility", "About"),
)

# What anyone may open without signing in.
SIGN_IN = PageEntry("sign_in.py", "Sign in", ":material/login:", "sign-in", "Account", default=True)
ABOUT = next(e for e in PAGES if e.file == "about.py")
ACCESSIBILITY = next(e for e in PAGES if e.file == "accessibility.py")


def available(role: str | None = None) -> dict[str, list[PageEntry]]:
    """Sections → pages whose files exist (and, given a role, that the role may open)."""
    out: dict[str, list[PageEntry]] = {}
    for entry in PAGES:
        if not (PAGES_DIR / entry.file).exists():
            continue
        if role is not None and role not in entry.roles:
            continue
        out.setdefault(entry.section, []).append(entry)
    return out


def public() -> dict[str, list[PageEntry]]:
    """The pages for someone not signed in: sign in, and the public About and Accessibility
    pages (the accessibility statement must be reachable before anyone can sign in)."""
    return {"Account": [SIGN_IN], "About": [ABOUT, ACCESSIBILITY]}
