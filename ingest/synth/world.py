"""What a synthetic output describes — England at a scale, or a full-scale slice of it — and how a
store built from it is made to say so and to count the same population (ADR 0008).

Two worlds, each internally consistent (records, denominators and scanners describe one
population):

- **England at scale s** (no area): every practice and provider, records thinned by s. The
  store's denominators (registered populations, list sizes) stay England's, so rates read s
  times England's; the store records the scale and every page says so.
- **A slice of England** (`area`: NHS region codes such as `Y58` and/or 2026 ICB codes such as
  `QSL`): the practices registered there at their real list sizes, the trusts that serve them
  (each with only the share of its activity that comes from the area), scanners in proportion
  to that activity, and — when loaded — a store whose reference population, practices and
  trusts are the area's alone, so every rate, "England" figure included, is the area's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

# Catchment flows below this share of an ICB's patients are left out of a slice: they would add
# providers with a handful of records a month; their patients go to the ICB's other trusts.
MIN_FLOW_SHARE = 0.01

META_KEY = "synthetic_world"


@dataclass(frozen=True)
class Slice:
    """The practices of the regions and ICBs a demo world is cut to (not a queries.areas.Area:
    several codes at once, resolved to a mask over the practice table)."""

    codes: tuple[str, ...]  # as given, upper case
    names: tuple[str, ...]  # region or ICB name for each code
    mask: np.ndarray  # over the practices it was resolved against

    @property
    def label(self) -> str:
        return ", ".join(self.names)


def parse_codes(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'Y58' or 'QSL,QT6' or a list of codes -> ('Y58',) / ('QSL', 'QT6'); empty -> ()."""
    if text is None:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(p.strip().upper() for p in parts if str(p).strip()))


def resolve(practices: pl.DataFrame, codes: Sequence[str]) -> Slice:
    """The practices of an area given as region and/or ICB codes; ValueError naming an unknown code."""
    codes = parse_codes(codes)
    if not codes:
        raise ValueError("area is empty: give an NHS region code (e.g. Y58) or ICB codes (e.g. QSL,QT6)")
    names: list[str] = []
    mask = np.zeros(practices.height, bool)
    for code in codes:
        for col, name in (("region_code", "region_name"), ("icb_code", "icb_name")):
            hit = (practices[col] == code).fill_null(False).to_numpy()
            if hit.any():
                mask |= hit
                names.append(_title(practices.filter(pl.Series(hit))[name][0]))
                break
        else:
            regions = ", ".join(sorted(practices["region_code"].drop_nulls().unique().to_list()))
            raise ValueError(
                f"area code {code!r} is neither an NHS region code ({regions}) nor a 2026 ICB code "
                f"of the shipped practice list; see `did synth --help`"
            )
    return Slice(codes, tuple(names), mask)


def _title(name: str) -> str:
    """'NHS Somerset Integrated Care Board' -> 'Somerset'; region names as they are."""
    text = re.sub(r"^NHS\s+|\s+Integrated Care Board$", "", str(name).strip(), flags=re.IGNORECASE)
    return text.title() if text.isupper() else text


def month_label(month: str) -> str:
    return f"{date.fromisoformat(month + '-01'):%b %Y}"


def describe(planted: dict) -> str:
    """One plain line: what the synthetic store holds, e.g. 'a full-scale slice of England
    (Somerset), Nov 2025 – Oct 2026' or 'England at 2% scale (counts and rates are 2% of
    England's), Nov 2025 – Oct 2026'."""
    months = f"{month_label(planted['first_month'])} – {month_label(planted['last_month'])}"
    names = (planted.get("world") or {}).get("area_names")
    scale = float(planted.get("scale", 1.0))
    pct = f"{scale:.0%}" if scale >= 0.01 else f"{scale:.1%}"
    if names:
        where = f"slice of England ({', '.join(names)})"
        return (
            f"a full-scale {where}, {months}"
            if scale == 1.0
            else f"a {where} at {pct} scale (counts and rates are {pct} of the area's), {months}"
        )
    if scale == 1.0:
        return f"England at full scale, {months}"
    return f"England at {pct} scale (counts and rates are {pct} of England's), {months}"


def record(con, planted: dict) -> None:
    """Write what the store is into store_meta (copied into every snapshot with the rest)."""
    con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [META_KEY, describe(planted)])
    con.execute("INSERT OR REPLACE INTO store_meta VALUES ('synthetic_scale', ?)", [str(planted.get("scale", ""))])


def restrict_reference(con, planted: dict) -> None:
    """Make a slice store's denominators the area's: practices, registered population and trusts
    outside it are dropped, and the REGION rows of the population (England = their sum) become the
    area's own patients by region. Nothing to do for England at a scale."""
    world = planted.get("world") or {}
    practices = world.get("practices")
    if not practices:
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _area_practice AS SELECT unnest(?::VARCHAR[]) AS practice_code", [practices]
    )
    con.execute("DELETE FROM ref_practice WHERE practice_code NOT IN (SELECT practice_code FROM _area_practice)")
    for org_type, col in (("PCN", "pcn_code"), ("SUB_ICB", "sub_icb_code"), ("ICB", "icb_code")):
        con.execute(
            f"DELETE FROM ref_population WHERE org_type = ? AND org_code NOT IN "  # col is a constant
            f"(SELECT DISTINCT {col} FROM ref_practice WHERE {col} IS NOT NULL)",
            [org_type],
        )
    # A region's patients in the area: its ICB rows where the area holds whole ICBs, otherwise
    # (an ICB cut by the 2022/2026 geography) the sum over its sub-ICBs.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _area_region AS
        SELECT 'REGION' AS org_type, p.region_code AS org_code, any_value(p.region_ons) AS ons_code,
               s.sex, s.age, sum(s.patients)::BIGINT AS patients
        FROM ref_population s
        JOIN (SELECT DISTINCT sub_icb_code, region_code, region_ons FROM ref_practice) p
          ON s.org_type = 'SUB_ICB' AND s.org_code = p.sub_icb_code
        GROUP BY p.region_code, s.sex, s.age
    """)
    con.execute("DELETE FROM ref_population WHERE org_type = 'REGION'")
    con.execute("INSERT INTO ref_population BY NAME SELECT * FROM _area_region")
    providers = world.get("providers") or []
    con.execute("DELETE FROM ref_trust WHERE NOT list_contains(?::VARCHAR[], provider_code)", [providers])
    con.execute("DELETE FROM ref_catchment WHERE NOT list_contains(?::VARCHAR[], provider_code)", [providers])
    con.execute("DROP TABLE _area_practice")
    con.execute("DROP TABLE _area_region")
