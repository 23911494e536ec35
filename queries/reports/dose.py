"""`did report dose --year 2025-26`: frequency, collective effective dose and per-caput dose.

Method and sources: `queries.dose` (HPA 2008 typical effective doses). The "Radiation dose" page
calls `build_dose` too, so page and files hold the same numbers.
"""

from __future__ import annotations

import argparse

import polars as pl

from did_model.demography import DOSE_AGE_BANDS, UNKNOWN_DOSE_AGE_BAND
from did_model.scope import Scope
from queries.connection import Snapshot
from queries.disclosure import DisclosureRule
from queries.dose import GROUPS, dose_tables
from queries.official import FinancialYear, months_held, year_argument
from queries.reports import Report, ReportOutput
from queries.reports.monthly import snapshot_line

HPA_SOURCE = (
    "Health Protection Agency, patient dose information: guidance (2008), typical effective doses, "
    "https://www.gov.uk/government/publications/medical-radiation-patient-doses/"
    "patient-dose-information-guidance"
)


def dose_notes(snap: Snapshot, scope: Scope, year: FinancialYear, tables: dict[str, pl.DataFrame]) -> str:
    held = months_held(snap, year.first_month, year.last_month)
    summary = tables["summary"].row(0, named=True)
    without = tables["without_dose"]
    no_dose_modalities = (
        tables["by_modality"]
        .filter((pl.col("modality") != "All") & (pl.col("examinations_with_dose") == 0))["modality"]
        .to_list()
    )
    groups = "; ".join(f"{label} {dose:g} mSv" for (_, dose, _), label in GROUPS.items())
    pct = summary["pct_with_dose"]
    lines = [
        f"Financial year {year.label} ({year.first_month:%B %Y} to {year.last_month:%B %Y}, by test date). "
        f"The store holds activity for {len(held)} of the 12 months"
        + (f" ({held[0]:%B %Y} to {held[-1]:%B %Y}): the figures cover those months only." if held else "."),
        "",
        snapshot_line(snap),
        "",
        "## Method",
        "- Frequency: examinations by NICIP code, counted once each (the latest accepted version).",
        f"- Typical effective dose per examination: {HPA_SOURCE}. Rows of that table used: {groups}. "
        "Assumptions (did_model/nicip.py): limbs and joints '<0.01' taken as 0.01 mSv; CT chest-abdomen-pelvis "
        "given the CT abdomen/pelvis value; every NB-prefixed nuclear-medicine code is a Tc-99m bone scan; a "
        "nuclear-medicine code takes its study's dose whatever technique letters follow (NLUPS as NLUPE, "
        "NDMSAC and NDMSAO as NDMSA), and SPECT-CT codes (NC...) have none.",
        "- Collective effective dose = sum of examinations x typical dose, in man-sievert (1 man Sv = 1,000 mSv "
        "x persons), worked exactly in units of 0.01 mSv and shown to 3 significant figures (typical doses "
        "have one or two), as is the per-caput dose; percentages are worked from the exact sums.",
        "- Per-caput dose = collective dose / registered population (patients registered with a GP practice in "
        "England, August 2026), in microsievert per person; by age band and sex the band's registered "
        f"population. Age bands: {', '.join(b[0] for b in DOSE_AGE_BANDS)}; '{UNKNOWN_DOSE_AGE_BAND}' = no age. "
        "Sex 'Not known' "
        "(person gender code 0, 9 or blank) has no population and no rate.",
        "- A part-year (fewer than 12 months held) gives a part-year collective and per-caput dose.",
        "",
        "## What is left out",
        f"- Share of examinations that carry a typical dose: {'suppressed' if pct is None else f'{pct}%'} "
        f"({summary['examinations_with_dose']} of {summary['examinations']} examinations).",
        f"- Modalities with no dose at all: {', '.join(no_dose_modalities) or 'none'} (MRI and ultrasound use no "
        "ionising radiation; PET-CT and the rest have no typical dose in the 2008 table).",
        f"- Examinations of ionising modalities whose code the table does not list are excluded too: "
        f"without_dose lists every modality and body area left out ({without.height} rows).",
        "",
        "## Disclosure control",
    ]
    if scope.needs_disclosure_control:
        rule = DisclosureRule.from_settings()
        lines += [
            f"- Each count first has a little noise added (at most {rule.noise} either way, the same for the "
            "same cell every time) and every dose, rate and share is worked out from the noisy counts.",
            f"- Counts of 1 to {rule.suppress_up_to} are then suppressed (empty), others rounded to the nearest "
            f"{rule.round_to}; doses and rates built on a suppressed count are suppressed. An examination "
            "group's collective dose is its published count x its typical dose.",
        ]
    else:
        lines += [
            "- Exact figures, for the central team: apply disclosure control before publishing "
            "(the page shows other roles rounded and suppressed figures)."
        ]
    lines += [
        "",
        "## Tables",
        "- summary, by_examination (HPA examination groups), by_modality, by_age_sex, without_dose.",
    ]
    return "\n".join(lines)


def build_dose(snap: Snapshot, scope: Scope, year: FinancialYear) -> ReportOutput:
    tables = dose_tables(snap, scope, year)
    return ReportOutput(
        title=f"Frequency and collective effective dose of imaging examinations, {year.label}",
        tables=tables,
        notes=dose_notes(snap, scope, year, tables),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--year", required=True, type=year_argument, help="financial year, e.g. 2025-26")


def _build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> ReportOutput:
    return build_dose(snap, scope, FinancialYear.parse(args.year))


REPORTS = [
    Report(
        "dose",
        "radiation dose: frequency, collective and per-caput effective dose for a financial year",
        _add_arguments,
        _build,
    )
]
