"""Filters shared by the three variation pages, kept in the URL (st.query_params) so that every
state of a page is a link: measure, source, period, level, area, provider.

Streamlit empties the URL's query string when a page is opened from the sidebar menu, so the shared
filters (SHARED_PARAMS) are also kept in the session: a page reached without them in its URL takes
them from the session and writes them back into its URL. MRI chosen on the map is still MRI on
Patient flows and Who is imaged, however the user gets there."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.glossary import table_config
from dashboard.components.user import current_scope
from dashboard.navigation import PAGES
from did_model.nicip import TEST_GROUPS
from did_model.scope import Scope
from did_model.spec import PATIENT_SOURCE_SETTING
from queries import variation
from queries.areas import ENGLAND, Area
from queries.connection import Snapshot
from queries.disclosure import SUPPRESSED_COLUMN
from queries.variation import Filters

ALL_IMAGING = "all"
# The filters every variation page honours; page-specific ones (flows' view, provider) stay in the URL only.
SHARED_PARAMS = ("measure", "source", "period", "level", "area")
_SESSION_KEY = "variation_filters"


def page_scope() -> Scope:
    """Who is looking: the signed-in user's scope (dashboard.components.user); a page reached
    without one stops there with a prompt to sign in."""
    return current_scope()


def _remembered() -> dict[str, str]:
    return st.session_state.setdefault(_SESSION_KEY, {})


def shared_param(name: str, default: str) -> str:
    """A filter from the URL, else as last chosen on any variation page this session, else `default`."""
    return st.query_params.get(name, _remembered().get(name, default))


def set_shared_param(name: str, value: str) -> None:
    """Put a filter in the URL and, when it is a shared one, remember it for the other variation pages."""
    if name in SHARED_PARAMS:
        _remembered()[name] = value
    if st.query_params.get(name) != value:
        st.query_params[name] = value


def clear_shared_param(name: str) -> None:
    """Drop a filter from the URL and the session (the map with no area picked)."""
    _remembered().pop(name, None)
    if name in st.query_params:
        del st.query_params[name]


def shared_query_params() -> dict[str, str]:
    """The shared filters now in force, for st.page_link / st.switch_page to another variation page."""
    return {name: st.query_params[name] for name in SHARED_PARAMS if name in st.query_params}


def _month_text(d: date) -> str:
    return d.strftime("%Y-%m")


def _parse_period(text: str, months: list[date]) -> tuple[date, date] | None:
    by_text = {_month_text(m): m for m in months}
    first, _, last = text.partition("..")
    if first in by_text and last in by_text and by_text[first] <= by_text[last]:
        return by_text[first], by_text[last]
    return None


def _on_slider(period: tuple[date, date], months: list[date]) -> tuple[date, date]:
    """The period with each end moved inward to a month that has activity: the slider offers only
    those, and a store with a gap (no file for a month) would otherwise stop the page."""
    first = next((m for m in months if m >= period[0]), months[-1])
    last = next((m for m in reversed(months) if m <= period[1]), months[0])
    return (first, last) if first <= last else (last, last)


def measure_options(modalities: list[str]) -> dict[str, str]:
    """Measure parameter -> label: all imaging, the five GP-direct-access test groups, modalities."""
    options = {ALL_IMAGING: "All imaging"}
    options.update({f"tg:{g.id}": f"{g.label} (GP cancer test group)" for g in TEST_GROUPS.values()})
    options.update({f"mod:{m}": m for m in modalities})
    return options


def filters_control(snap: Snapshot) -> Filters | None:
    """Measure, patient source and period, read from and written back to the URL."""
    if not cached(variation.has_rollups)(snap):
        st.warning(
            "This data snapshot was published before the variation tables existed. They are "
            "built at every publish: load a file or run `did demo --rebuild`, then reload.",
            icon=":material/update:",
        )
        st.stop()
    months = cached(variation.activity_months)(snap)
    default = cached(variation.default_period)(snap)
    if not months or default is None:
        return None
    measures = measure_options(cached(variation.modalities)(snap))
    sources = {"all": "All patient sources", **{c: f"{c} {m}" for c, m in PATIENT_SOURCE_SETTING.items()}}
    left, middle, right = st.columns([2, 2, 3])
    measure_key = shared_param("measure", ALL_IMAGING)
    measure = left.selectbox(
        "Measure",
        list(measures),
        format_func=lambda k: measures[k],
        index=list(measures).index(measure_key) if measure_key in measures else 0,
        key="variation_measure",
    )
    source_key = shared_param("source", "all")
    source = middle.selectbox(
        "Patient source",
        list(sources),
        format_func=lambda k: sources[k],
        index=list(sources).index(source_key) if source_key in sources else 0,
        key="variation_source",
    )
    period = _parse_period(shared_param("period", ""), months) or _on_slider(default, months)
    if len(months) > 1:
        period = right.select_slider(
            "Period (activity months)",
            options=months,
            value=period,
            format_func=lambda d: d.strftime("%b %Y"),
            key="variation_period",
        )
    else:
        right.caption(f"Period: {months[0]:%B %Y}")
    set_shared_param("measure", measure)
    set_shared_param("source", source)
    set_shared_param("period", f"{_month_text(period[0])}..{_month_text(period[1])}")
    kind, _, value = measure.partition(":")
    return Filters(
        period[0],
        period[1],
        test_group=value if kind == "tg" else None,
        modality=value if kind == "mod" else None,
        patient_source=None if source == "all" else source,
    )


def area_control(snap: Snapshot, scope: Scope, container=None) -> tuple[Area, str]:
    """England, a region, or an ICB / sub-ICB the user may see; returns the area and its label."""
    areas = cached(variation.selectable_areas)(snap, scope)
    keys = [f"{lv}:{code}" for lv, code in zip(areas["level"], areas["code"], strict=True)]
    labels = dict(zip(keys, areas["label"], strict=True))
    wanted = f"{shared_param('level', 'england')}:{shared_param('area', ENGLAND)}"
    where = container or st
    choice = where.selectbox(
        "Area (patients' registered practice)",
        keys,
        format_func=labels.get,
        index=keys.index(wanted) if wanted in keys else 0,
        key="variation_area",
    )
    level, _, code = choice.partition(":")
    set_shared_param("level", level)
    set_shared_param("area", code)
    return Area(level, code), labels[choice]


def related_links(here: str) -> None:
    """Links to the other variation pages with the filters in force (measure, source, period, area),
    so that following one never resets them. `here` is this page's file name."""
    params = shared_query_params()
    others = [e for e in PAGES if e.file.startswith("variation_") and e.file != here]
    for column, entry in zip(st.columns(len(others)), others, strict=True):
        column.page_link(
            f"views/{entry.file}", label=f"{entry.title}, same filters", icon=entry.icon, query_params=params
        )


def scope_caption(scope: Scope) -> None:
    if scope.is_central:
        st.caption(
            "Central team: all areas, exact counts. Other users see England, every NHS region and "
            "every ICB as comparators, and sub-ICB locations only for their own commissioner."
        )
    else:
        st.caption(
            f"Showing what {scope.describe()} may see: counts carry a little random noise, are "
            "rounded to 5, and 1–7 are shown as *; rates and shares are computed from the noisy counts."
        )


def table(frame: pl.DataFrame, **column_config) -> None:
    """A variation table under the glossary's headings: `*` where a figure is hidden for small
    numbers, `–` where it is not worked out (formatting.shown_table)."""
    fmt.shown_table(frame, table_config(frame, **column_config))


def small_numbers_note(*frames: pl.DataFrame) -> None:
    """The page's one explanation of `*`, when any of its tables hides something."""
    if any(SUPPRESSED_COLUMN in f.columns and f[SUPPRESSED_COLUMN].any() for f in frames):
        st.caption("\\* = hidden: small numbers.")


def names(frame: pl.DataFrame, code: str, name: str) -> dict[str, str]:
    return dict(zip(frame[code], frame[name], strict=True))
