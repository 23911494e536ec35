"""The geographic variation view in a real browser: the sub-ICB map draws every area.

Runs its own `streamlit run` over the shared synthetic store (the tiny hand-worked store has no
practices, so it would draw an empty map), or over $DID_BROWSER_STORE_DIR when set (e.g. the
demo store, for docs/screenshots/variation_*.png). Demo mode: no sign-in, central role.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def variation_url(synthetic_app_url) -> str:
    return synthetic_app_url


def test_sub_icb_map_draws_every_area(variation_url, page, save_screenshot):
    page.goto(f"{variation_url}/geographic?level=sub_icb", wait_until="domcontentloaded")
    # One filled path per sub-ICB polygon (the ranked bar chart beside it draws no fills).
    page.locator(".js-plotly-plot path.js-fill").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot path.js-fill').length >= 106", timeout=TIMEOUT_MS
    )
    assert page.locator(".js-plotly-plot path.js-fill").count() >= 106
    assert page.get_by_text("April 2026", exact=False).count()  # the geography caveat
    assert not page.get_by_test_id("stException").count()
    page.keyboard.press("Escape")  # a first-load "page not found" notice from the router, if any
    save_screenshot(page, "variation_geographic.png")


def test_demographic_and_flows_views_render(variation_url, page, save_screenshot):
    page.goto(f"{variation_url}/demographic", wait_until="domcontentloaded")
    page.get_by_test_id("stMetric").filter(has_text="Age-sex standardised rate").first.wait_for(timeout=TIMEOUT_MS)
    page.locator(".js-plotly-plot svg").first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "variation_demographic.png")
    page.goto(f"{variation_url}/flows?view=area&level=icb&area=QE1", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot svg").first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    # The stacked bars' legend sits right of the plot area, not over the biggest providers' bars.
    page.locator(".js-plotly-plot .legend").first.wait_for(timeout=TIMEOUT_MS)
    legend, plot = page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.right]; };
        return [box(gd.querySelector('.legend')), box(gd.querySelector('.nsewdrag'))];
    }""")
    assert legend[0] >= plot[1] - 1
    save_screenshot(page, "variation_flows.png")


def _rgb(text: str) -> tuple[int, ...]:
    """(r, g, b) of a CSS colour as Plotly writes it: rgb(...), rgba(...) or #rrggbb."""
    if text.startswith("#"):
        return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in text[text.index("(") + 1 : text.index(")")].split(",")[:3])


def test_map_legend_colours_match_the_fill_scale(variation_url, page, save_screenshot):
    """The colour bar Plotly.js draws has the stops of the diverging scale the areas are filled
    from (it once fell back to Streamlit's blue scale), and every filled area's colour is that
    scale's colour for its rate between the bar's ends."""
    from plotly.colors import get_colorscale, sample_colorscale

    page.goto(f"{variation_url}/geographic?level=icb", wait_until="domcontentloaded")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot path.js-fill').length >= 36", timeout=TIMEOUT_MS)
    page.locator(".js-plotly-plot .colorbar").first.wait_for(timeout=TIMEOUT_MS)
    drawn = page.evaluate("""() => {
        const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.querySelector('path.js-fill'));
        const stops = [...gd.querySelectorAll('linearGradient stop')].map(s => s.getAttribute('stop-color'));
        const markers = gd._fullData[gd._fullData.length - 1].marker;
        const areas = gd._fullData.filter(t => t.fill === 'toself').map(t => [t.text, t.fillcolor]);
        return {stops, cmin: markers.cmin, cmax: markers.cmax, scale: markers.colorscale, areas,
                ticks: gd._fullData[gd._fullData.length - 1].marker.colorbar.ticktext};
    }""")
    scale = get_colorscale("RdBu_r")
    assert [_rgb(c) for _, c in drawn["scale"]] == [_rgb(c) for _, c in scale]
    assert sorted({_rgb(c) for c in drawn["stops"]}) == sorted({_rgb(c) for _, c in scale})
    assert any(t.startswith("England") for t in drawn["ticks"])
    filled = [(text, colour) for text, colour in drawn["areas"] if ": " in text]
    assert len(filled) >= 30
    span = drawn["cmax"] - drawn["cmin"]
    for text, colour in filled:
        value = float(text.split(": ")[-1].split(" ")[0])  # shown to 2 decimals: the colour of a rate within 0.005
        ends = [
            _rgb(c)
            for c in sample_colorscale(
                scale, [min(max((value + d - drawn["cmin"]) / span, 0), 1) for d in (-0.005, 0.005)]
            )
        ]
        assert all(
            min(lo, hi) - 1 <= got <= max(lo, hi) + 1 for got, lo, hi in zip(_rgb(colour), *ends, strict=True)
        ), (text, colour, ends)
    save_screenshot(page, "variation_map_legend.png")


def _area_detail(page) -> str:
    box = page.get_by_test_id("stSelectbox").filter(has_text="Area detail")
    return box.locator("input").input_value() or box.inner_text()


def _wait_idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)


def test_a_map_click_picks_the_area_and_a_later_list_choice_stays(variation_url, page):
    """A click on an area's marker opens its detail; an area chosen in the list afterwards stays
    chosen when another filter changes (the map keeps its old selection from run to run, which
    used to pull the detail back to the clicked area, and the list's choice was dropped)."""
    page.goto(f"{variation_url}/geographic?level=icb", wait_until="domcontentloaded")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot path.js-fill').length >= 36", timeout=TIMEOUT_MS)
    _wait_idle(page)
    # the first area's marker, in page pixels, from the figure's own axes
    x, y, code, name = page.evaluate("""() => {
        const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.querySelector('path.js-fill'));
        const t = gd._fullData[gd._fullData.length - 1], L = gd._fullLayout, box = gd.getBoundingClientRect();
        const xa = L[t.xaxis.replace('x', 'xaxis')], ya = L[t.yaxis.replace('y', 'yaxis')];
        return [box.left + xa._offset + xa.l2p(t.x[0]), box.top + ya._offset + ya.l2p(t.y[0]),
                t.customdata[0][0], t.customdata[0][1]];
    }""")
    page.mouse.click(x, y)
    page.get_by_test_id("stHeading").filter(has_text=name).first.wait_for(timeout=TIMEOUT_MS)
    _wait_idle(page)
    assert name in _area_detail(page), code
    # two more areas from the list in a row, by keyboard: each takes (the second used to be dropped)
    box = page.get_by_test_id("stSelectbox").filter(has_text="Area detail")
    for _ in range(2):
        box.locator("input").click()
        options = page.locator('[role="option"]')
        options.first.wait_for(timeout=TIMEOUT_MS)
        other = next(t for t in options.all_inner_texts() if t.strip() not in ("–", name, _area_detail(page)))
        page.keyboard.press("Escape")
        box.locator("input").click()
        page.keyboard.type(other)
        page.keyboard.press("Enter")
        page.get_by_test_id("stHeading").filter(has_text=other).first.wait_for(timeout=TIMEOUT_MS)
        _wait_idle(page)
    # another filter changes: the list's choice stays
    source = page.get_by_test_id("stSelectbox").filter(has_text="Patient source")
    source.locator("input").click()
    page.locator('[role="option"]').nth(1).click()
    _wait_idle(page)
    assert other in _area_detail(page)
    assert page.get_by_test_id("stHeading").filter(has_text=other).count()
    assert not page.get_by_test_id("stHeading").filter(has_text=name).count()
