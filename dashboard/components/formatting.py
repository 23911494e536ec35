"""How numbers and months are written on the pages (one place, so tests can match them)."""

from __future__ import annotations

from datetime import date, datetime


def count(n: int | None) -> str:
    """A count with thousands separators: 12,345. None (no figure) becomes an en dash."""
    return "–" if n is None else f"{n:,}"


def month(d: date) -> str:
    """A month as words: 'February 2026'."""
    return d.strftime("%B %Y")


def change(now: int, before: int | None) -> str | None:
    """Percentage change from `before` to `now` ('+4.2%'), or None when it cannot be worked out."""
    if before is None or before == 0:
        return None
    return f"{(now - before) / before:+.1%}"


def timestamp(iso: str | None) -> str:
    """An ISO 8601 time (as the store records it) as 'YYYY-MM-DD HH:MM UTC'."""
    if not iso:
        return "unknown"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


HIDDEN_NOTE = (
    "\\* hidden to protect patients: fewer than 8 events (after a little fixed noise), with every "
    "figure that comes with them. – not worked out (see the note)."
)


def protected_table(frame, decimals: dict[str, int | None], not_computed: str = "–"):
    """A disclosure-controlled table as a page shows it: on a row with something suppressed an
    empty figure reads `*` (queries.disclosure.for_csv); elsewhere `not_computed`. Figures in
    `decimals` (column -> places; 0 for counts, with thousands separators; None for a text figure
    such as a rank "3 of 8") become text, so the caller configures them with `figure_column`.
    A frame without a `suppressed` column is returned as is."""
    import polars as pl

    from did_model.frames import each
    from queries.disclosure import SUPPRESSED, SUPPRESSED_COLUMN

    if SUPPRESSED_COLUMN not in frame.columns:
        return frame
    hidden = pl.col(SUPPRESSED_COLUMN).fill_null(False)

    def text(col: str, places: int | None) -> pl.Expr:
        if places is None:  # already text
            shown = pl.col(col)
        elif places == 0:
            shown = pl.lit(each(frame[col].cast(pl.Float64).round(0).cast(pl.Int64), lambda v: f"{v:,}"))
        else:
            shown = pl.lit(each(frame[col].cast(pl.Float64).round(places), lambda v: f"{v:,.{places}f}"))
        return (
            pl.when(pl.col(col).is_not_null())
            .then(shown)
            .when(hidden)
            .then(pl.lit(SUPPRESSED))
            .otherwise(pl.lit(not_computed))
            .alias(col)
        )

    return frame.with_columns(text(c, p) for c, p in decimals.items() if c in frame.columns)


def _number_text(fmt: str | None, integer: bool):
    """A Python formatter writing a number as st.column_config's `format` would show it."""
    if fmt == "percent":
        return lambda v: f"{v:.1%}"
    if fmt and fmt.startswith("%") and fmt.endswith("f"):
        places = int(fmt[2:-1] or 0) if fmt[1] == "." else 6
        return lambda v: f"{v:,.{places}f}"
    return (lambda v: f"{round(v):,}") if integer else (lambda v: f"{v:,.2f}")


def shown_table(frame, column_config: dict, **kwargs) -> None:
    """st.dataframe for a disclosure-controlled frame, so that `*` means one thing only: hidden to
    protect patients. When some row is suppressed, each number column of `column_config` is written
    as text the way its format would show it, with `*` on suppressed rows and `–` where a figure is
    simply not worked out; otherwise the numbers stay numbers (and sort as numbers) and an empty
    cell reads `–`. Text columns keep their own words."""
    import streamlit as st

    from queries.disclosure import SUPPRESSED_COLUMN

    config = dict(column_config)
    if SUPPRESSED_COLUMN in frame.columns and frame[SUPPRESSED_COLUMN].fill_null(False).any():
        texts = {}
        for name, dtype in frame.schema.items():
            if name in config and config[name] is None:  # a column the page hides stays hidden
                continue
            cfg = config.get(name)
            kind = cfg.get("type_config", {}).get("type") if isinstance(cfg, dict) else None
            if dtype.is_numeric() and kind in (None, "number"):
                fmt = cfg.get("type_config", {}).get("format") if isinstance(cfg, dict) else None
                writer = _number_text(fmt, dtype.is_integer())
                texts[name] = writer
                label = cfg.get("label") if isinstance(cfg, dict) else (cfg if isinstance(cfg, str) else name)
                help_ = cfg.get("help") if isinstance(cfg, dict) else None
                config[name] = st.column_config.TextColumn(label, help=help_)
        frame = _as_text(frame, texts)
    st.dataframe(frame, hide_index=True, placeholder="–", column_config=config, **kwargs)


def _as_text(frame, writers: dict):
    import polars as pl

    from did_model.frames import each
    from queries.disclosure import SUPPRESSED, SUPPRESSED_COLUMN

    hidden = pl.col(SUPPRESSED_COLUMN).fill_null(False)
    return frame.with_columns(
        pl.when(pl.col(c).is_not_null())
        .then(pl.lit(each(frame[c], w)))
        .when(hidden)
        .then(pl.lit(SUPPRESSED))
        .otherwise(pl.lit("–"))
        .alias(c)
        for c, w in writers.items()
    )


def figure_column(protected: bool):
    """The column config for a figure: a number, or — once `protected_table` has made the figures
    text — a text column with the same label and help."""
    import streamlit as st

    if not protected:
        return st.column_config.NumberColumn
    return lambda label, **kw: st.column_config.TextColumn(label, help=kw.get("help"))


# Denominators, named once so every page dates them the same way (the reference files' dates).
LIST_SIZES = "registered patients per practice, April 2026"
REGISTERED_BY_AGE = "registered patients by age and sex, August 2026"
COMPLETE_RULE = (
    "the latest complete month is the month before the newest submission month for which "
    "most expected providers (more than half) have an accepted file"
)


def part_year(months_held: int) -> str:
    """' (part year: 5 of 12 months)' for a financial year the store does not fully hold, else ''."""
    return "" if months_held >= 12 else f" (part year: {months_held} of 12 months)"


def as_of(period: str, data_up_to: date | None, denominator: str | None = None) -> str:
    """The one line every page states its figures by: what period they cover, the denominator (if
    any) and how far the data goes, worded alike on every page so two pages can be compared."""
    parts = [f"**Period:** {period}"]
    if denominator:
        parts.append(f"**Denominator:** {denominator}")
    parts.append("**Data up to:** " + (f"{month(data_up_to)} ({COMPLETE_RULE})" if data_up_to else "no month yet"))
    return " · ".join(parts)


def score(value: float | None) -> str:
    """A quality score as pages show it: one decimal place out of 100 ('98.4 / 100')."""
    return "–" if value is None else f"{value:.1f} / 100"


def csv_download(frame, file_name: str, key: str) -> None:
    """A table's "Download CSV" button: the bytes `did export --format csv` writes for the same
    rows (queries.exports.to_csv_bytes)."""
    import streamlit as st

    from queries.exports import to_csv_bytes

    st.download_button(
        "Download CSV", to_csv_bytes(frame), file_name=file_name, mime="text/csv", key=key, icon=":material/download:"
    )
