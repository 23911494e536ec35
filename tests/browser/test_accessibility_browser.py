"""WCAG 2.2 AA in a real browser: axe-core on every page for every role, and a keyboard-only
journey (issue #17 item 6).

One server (the shared synthetic store, or $DID_BROWSER_STORE_DIR) and one browser page: for each
role the demo sidebar's "View as" picker is set once, then every page in that role's menu is opened
from the sidebar (so the session, and its role, carry over) and axe-core runs on it. Any serious or
critical violation fails the test unless it is one of STREAMLIT_EXCEPTIONS below: violations in
Streamlit's own markup that the app cannot change, each with its reason.

Set DID_A11Y_REPORT=path to also write every violation found (any impact) as JSON lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from dashboard.navigation import available

pytestmark = pytest.mark.browser

axe_playwright = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="pip install -e '.[test]' (axe-playwright-python)"
)

AXE_SCRIPT = axe_playwright.Axe().axe_script  # axe-core itself, as the package ships it
TIMEOUT_MS = 60_000
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
ROLE_LABELS = {
    "central": "Central data team",
    "provider": "Provider",
    "commissioner": "Commissioner (ICB)",
    "gp": "GP practice",
}

# (axe rule, data-testid of the Streamlit element the offending node sits in) → why the app cannot
# fix it. Only these may be left; the test fails on anything else.
STREAMLIT_EXCEPTIONS: dict[tuple[str, str], str] = {
    (
        "list",
        "stSidebarNav",
    ): "Streamlit's page menu (st.navigation) puts each section's <li> items inside <div>s directly "
    "under its <ul>; the app passes only the pages, never the markup (no upstream issue found).",
    (
        "listitem",
        "stSidebarNav",
    ): "The same menu: its <li> items' parent is a <div>, not the <ul>, so they are not in a list.",
}


# True once the script has finished and every chart on the page has drawn (Plotly and Vega draw
# after the script finishes, charts in closed tabs too), and has stayed so for three polls in a
# row (about 0.2 s), so that a rerun the page asks for as it draws is caught rather than audited
# half-drawn. A Vega chart (the funnel) is drawn as SVG, or on a canvas for thousands of marks:
# its white background is painted in the same pass as the marks, so a painted pixel means drawn.
SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const vegaDrawn = c => {
    const canvas = c.querySelector('canvas');
    if (!canvas) return !!c.querySelector('svg.marks .role-frame');
    return canvas.width > 0 && canvas.getContext('2d').getImageData(0, 0, 1, 1).data[3] > 0;
  };
  const ready = app?.getAttribute('data-test-script-state') === 'notRunning'
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))
    && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(vegaDrawn);
  window.__didSettledPolls = ready ? (window.__didSettledPolls || 0) + 1 : 0;
  return window.__didSettledPolls >= 3;
}"""


def settle(page) -> None:
    """Wait until Streamlit has finished running the page's script and Plotly has drawn."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    page.evaluate("() => { window.__didSettledPolls = 0; }")
    page.wait_for_function(SETTLED, polling=100, timeout=TIMEOUT_MS)


def choose_role(page, role: str) -> None:
    """Pick `role` in the demo sidebar's "View as" select (its default code comes with it)."""
    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="View as")
    picker.locator("input").click()
    page.get_by_role("option", name=ROLE_LABELS[role], exact=True).click()
    settle(page)


def open_from_sidebar(page, title: str) -> None:
    """Open a page from the sidebar menu, expanding "View more" when the menu is collapsed."""
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_test_id("stSidebarNavViewButton")
    if more.count() and more.inner_text().startswith("View") and "more" in more.inner_text():
        more.click()
    nav.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True)).click()
    settle(page)


def role_pages(role: str) -> Iterator[str]:
    for entries in available(role).values():
        for entry in entries:
            yield entry.title


def inside(page, target: list, test_id: str) -> bool:
    """Whether the node axe reported at `target` sits inside the element with that data-testid."""
    return page.evaluate(
        "([sel, id]) => !!document.querySelector(sel)?.closest(`[data-testid='${id}']`)", [target[-1], test_id]
    )


def exception_for(page, rule: str, target: list) -> str | None:
    """The listed Streamlit exception this violation is, if any."""
    for (r, test_id), _reason in STREAMLIT_EXCEPTIONS.items():
        if r == rule and inside(page, target, test_id):
            return test_id
    return None


# axe-core does not judge SVG text nor require a chart to be named, so every chart is checked for an
# accessible name (st.plotly_chart's `alt`, drawn as role="figure" with an aria-label), and chart
# text (axes, legends, titles, annotations) is checked
# here: each distinct fill colour against the white chart background, 4.5:1 as for any text
# (WCAG 2.2 1.4.3). Streamlit's theme once drew axis text at 3.7:1.
CHART_TEXT_FILLS = """() => [...new Set([...document.querySelectorAll(
  '.js-plotly-plot :is(.xtick, .ytick, .x2tick, .y2tick, .g-xtitle, .g-ytitle, .g-x2title, .g-y2title, ' +
  '.cbaxis) text, ' +
  '.js-plotly-plot :is(.legendtext, .legendtitletext, .gtitle, .annotation-text)')]
  .filter(t => t.textContent.trim()).map(t => getComputedStyle(t).fill))]"""


def contrast_on_white(fill: str) -> float:
    """WCAG contrast of a computed `rgb(r, g, b)` fill against white."""
    channels = [int(c) / 255 for c in fill[fill.index("(") + 1 : fill.index(")")].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def chart_text_fills(page) -> list[str]:
    return [fill for fill in page.evaluate(CHART_TEXT_FILLS) if fill.startswith("rgb")]


def run_axe(page, options: dict) -> dict:
    """axe-core's results for the page as it is now. The script (half a megabyte) is put into the
    page only when it is not there yet: the sidebar opens pages without loading a new document."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate("options => axe.run(document, options)", options)


SECTION_TABS = '.st-key-section > div > [role="tablist"] [role="tab"]'  # a page's sections (lazy tabs)


def audit_view(page, role: str, title: str) -> tuple[list[dict], bool]:
    """The page as it is drawn now through axe-core, the charts' names and their text's contrast:
    one dict per violating node, and whether it had chart text to check."""
    found: list[dict] = []
    results = run_axe(page, {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]})
    for violation in results["violations"]:
        for node in violation["nodes"]:
            found.append(
                {
                    "role": role,
                    "page": title,
                    "rule": violation["id"],
                    "impact": node.get("impact") or violation["impact"],
                    "target": " ".join(map(str, node["target"])),
                    "exception": exception_for(page, violation["id"], node["target"]),
                    "summary": (node.get("failureSummary") or "").splitlines()[-1:],
                }
            )
    unnamed = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stPlotlyChart], [data-testid=stVegaLiteChart]')]"
        ".filter(e => !(e.getAttribute('aria-label') || '').trim()).length"
    )
    if unnamed:
        found.append(
            {
                "role": role,
                "page": title,
                "rule": "chart-accessible-name",
                "impact": "serious",
                "target": "stPlotlyChart, stVegaLiteChart",
                "exception": None,
                "summary": [f"{unnamed} chart(s) without an accessible name"],
            }
        )
    fills = chart_text_fills(page)
    for fill in (f for f in fills if contrast_on_white(f) < 4.5):
        found.append(
            {
                "role": role,
                "page": title,
                "rule": "chart-text-contrast",
                "impact": "serious",
                "target": fill,
                "exception": None,
                "summary": [f"{contrast_on_white(fill):.2f}:1 on white"],
            }
        )
    return found, bool(fills)


def audit(page, url: str, roles) -> tuple[list[dict], int]:
    """Every page for each of `roles`, each of its sections opened in turn (a section's content is
    drawn only while open), through `audit_view`: one dict per violating node, and how many views
    had chart text to check."""
    found: list[dict] = []
    with_charts = 0
    page.goto(url, wait_until="domcontentloaded")
    settle(page)
    for role in roles:
        choose_role(page, role)
        for title in role_pages(role):
            open_from_sidebar(page, title)
            sections = page.locator(SECTION_TABS)
            for i in range(max(sections.count(), 1)):
                view = title
                if sections.count():
                    view = f"{title} › {sections.nth(i).inner_text().strip()}"
                    if sections.nth(i).get_attribute("aria-selected") != "true":
                        sections.nth(i).click()
                        settle(page)
                view_found, charts = audit_view(page, role, view)
                found += view_found
                with_charts += charts
    return found, with_charts


# Every role is audited, in two files (this one and test_accessibility_roles_browser.py) so that
# the two test workers share the two and a half minutes it takes.
AUDITED_HERE = ("central", "gp")


def check_no_serious_violation(page, url: str, roles) -> None:
    found, with_charts = audit(page, url, roles)
    assert with_charts >= 3  # the chart text check did look at charts
    report = os.environ.get("DID_A11Y_REPORT")
    if report:
        with open(report, "a") as out:  # each file adds its roles
            out.writelines(json.dumps(v) + "\n" for v in found)
    blocking = [v for v in found if v["impact"] in BLOCKING and not v["exception"]]
    assert not blocking, "\n".join(f"{v['role']} / {v['page']}: {v['rule']} at {v['target']}" for v in blocking)


def test_every_page_for_the_central_team_and_a_gp_has_no_serious_axe_violation(synthetic_app_url, page):
    check_no_serious_violation(page, synthetic_app_url, AUDITED_HERE)


def test_every_role_is_audited():
    from test_accessibility_roles_browser import AUDITED_THERE

    assert sorted(AUDITED_HERE + AUDITED_THERE) == sorted(ROLE_LABELS)


# --- Keyboard only ------------------------------------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {name: e.getAttribute('aria-label') || e.labels?.[0]?.innerText || e.innerText || '',
          tag: e.tagName, outline: s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth)};
}"""


def tab_to(page, name: str, limit: int = 150) -> None:
    """Press Tab until the element in focus is called `name`; each stop on the page must show a
    visible focus ring (after the last stop focus leaves the page, to the browser, then comes back)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "BODY":
            continue
        # The page's style sheet is written again on each rerun of the script: give a rerun that
        # is still drawing a moment before reading the ring (it must still be there).
        for _ in range(10):
            if focused["outline"] >= 2:
                break
            page.wait_for_timeout(300)
            focused = page.evaluate(FOCUSED)
        assert focused["outline"] >= 2, f"no visible focus on {focused['tag']} {focused['name'][:80]!r}"
        if focused["name"].strip().endswith(name):
            return
    pytest.fail(f"{name!r} is not reachable with Tab")


def test_a_gp_finds_their_practice_and_reads_its_verdicts_with_the_keyboard_alone(
    synthetic_app_url, synthetic_app_store, page, save_screenshot
):
    from test_gp_browser import busiest_practice

    practice = busiest_practice(synthetic_app_store)
    page.goto(synthetic_app_url, wait_until="domcontentloaded")
    settle(page)
    tab_to(page, "View as")
    page.keyboard.type("GP practice")
    page.keyboard.press("Enter")
    settle(page)
    tab_to(page, "Practice code")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(practice["practice_code"])
    page.keyboard.press("Enter")
    settle(page)
    tab_to(page, "Practice benchmark")
    page.keyboard.press("Enter")
    settle(page)
    main = page.get_by_test_id("stMain")
    main.get_by_text(practice["practice_name"].title(), exact=True).wait_for(timeout=TIMEOUT_MS)
    verdicts = main.get_by_test_id("stMetric").filter(has_text="Measures within the expected range")
    assert verdicts.get_by_test_id("stMetricValue").inner_text().strip().isdigit()
    save_screenshot(page, "keyboard-gp-practice.png")
