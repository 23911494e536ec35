"""Radiation dose: examination frequency, collective effective dose and per-caput dose (issue #10).

Method (did-dataset.md §6.2; the frequency × typical-dose method of the HPA's UK surveys, e.g.
Hart, Wall, Hillier & Shrimpton, HPA-CRCE-012, "Frequency and collective dose for medical and
dental X-ray examinations in the UK, 2008"):

- frequency: examinations in the financial year by activity month (test date), from
  `rollup_official_dose` (activity month × modality × NICIP code × age band × sex);
- typical effective dose per examination: `did_model.nicip.dose_msv` (ref_nicip.dose_msv), taken
  from the HPA patient-dose table (2008),
  https://www.gov.uk/government/publications/medical-radiation-patient-doses/patient-dose-information-guidance
  — one value per examination type, not per patient. Examinations whose code has no tabulated
  dose (MRI and ultrasound, which use no ionising radiation; and every X-ray, CT, fluoroscopy
  or nuclear-medicine examination the table does not list, PET-CT included) contribute nothing
  to the collective dose and are counted in the "without a dose" columns;
- collective effective dose = Σ examinations × typical dose, in man-sievert (1 man Sv =
  1,000 mSv × persons). Worked in whole units of 0.01 mSv (every tabulated dose is a multiple),
  so sums are exact integers and the figures do not depend on the order of addition; shown to
  3 significant figures (`DOSE_SIGNIFICANT_FIGURES`), percentages of it from the exact sums;
- per-caput dose = collective dose ÷ registered population (ref_population: patients registered
  with a GP practice in England, August 2026, by single year of age and sex, summed over the
  NHS regions), in microsievert per person to 3 significant figures; by age band and sex the denominator is that band's
  registered population. Records with sex not known (codes 0, 9, blank) or no age are in the
  totals but in no band.

The examination groups are the rows of the HPA table ("Chest (PA)", "CT head", …): the label
follows from the code's modality, the typical dose and (where one dose covers several rows, as
0.7 mSv does for the abdomen, pelvis and thoracic spine) its body area — see GROUPS.

Disclosure: central users see exact figures. For every other role (queries/disclosure.py) the
examinations of each examination group (per age band and sex for that table) are perturbed as
cells of their own, and every collective dose, per-caput dose and "with a dose" count is worked
out from those perturbed counts; the examinations of a modality, an age-sex band, a reason
without a dose and the "All" row are cells of their own too. Then counts are suppressed (1–7)
or rounded to 5, and a dose or rate built on a suppressed count is suppressed. An examination
group's collective dose is the published (rounded) count × the group's typical dose, so it
discloses nothing the count does not.
"""

from __future__ import annotations

import polars as pl

from did_model import nicip
from did_model.demography import DOSE_AGE_BANDS, SEX_LABELS, UNKNOWN_DOSE_AGE_BAND, dose_age_band_sql
from did_model.frames import each_row
from did_model.nicip import PET_MODALITY
from did_model.scope import Scope
from queries.connection import Snapshot
from queries.disclosure import perturb, protect, suppressed_last
from queries.headline import UNKNOWN_MODALITY
from queries.official import MODALITY_COLUMNS, FinancialYear, months_held, rollup_source

CENTI_MSV_PER_MAN_SV = 100_000  # 1 man Sv = 1,000 mSv = 100,000 × 0.01 mSv
# Collective (man Sv) and per-caput (µSv) doses are published to 3 significant figures: the
# typical doses behind them have one or two, so more digits would be noise (as would a float's
# 219.25000000000003). Worked exactly, rounded once, here, so every page and file shows the same.
DOSE_SIGNIFICANT_FIGURES = 3
ALL = "All"

XR, FL, CT, NM = "Plain radiography", "Fluoroscopy", "CT", "Nuclear medicine"
# (modality, typical dose in mSv, body area or None for any) -> the HPA table's row.
GROUPS: dict[tuple[str, float, str | None], str] = {
    (XR, 0.01, None): "Limbs and joints (except hip)",
    (XR, 0.02, None): "Chest (PA)",
    (XR, 0.07, None): "Skull",
    (XR, 0.08, None): "Cervical spine",
    (XR, 0.3, None): "Hip",
    (XR, 0.7, "Pelvis"): "Pelvis",
    (XR, 0.7, "Abdomen"): "Abdomen",
    (XR, 0.7, "Thoracic spine"): "Thoracic spine",
    (XR, 1.3, None): "Lumbar spine",
    (XR, 2.5, None): "IVU",
    (FL, 1.5, None): "Barium swallow",
    (FL, 3.0, None): "Barium meal",
    (FL, 7.0, None): "Barium enema",
    (CT, 2.0, None): "CT head",
    (CT, 8.0, None): "CT chest",
    # CT chest-abdomen-pelvis is not in the table; did_model.nicip gives it the abdomen/pelvis value.
    (CT, 10.0, None): "CT abdomen or pelvis (incl. chest-abdomen-pelvis)",
    # 1 mSv is three rows of the table: the code's body area tells them apart.
    (NM, 1.0, nicip.CHEST): "Lung perfusion",
    (NM, 1.0, nicip.URO): "Kidney (Tc-99m DMSA)",
    (NM, 1.0, nicip.THYROID): "Thyroid (Tc-99m)",
    (NM, 4.0, None): "Bone scan (Tc-99m)",
}


def examination_group(modality: str, body_area: str, dose: float) -> str:
    """The HPA table row an examination's typical dose comes from."""
    key = round(dose, 2)
    return (
        GROUPS.get((modality, key, body_area))
        or GROUPS.get((modality, key, None))
        or f"{modality}, {body_area} ({dose:g} mSv)"
    )


def dose_counts(snap: Snapshot, year: FinancialYear) -> pl.DataFrame:
    """Examinations in the year by modality × NICIP code × age band × sex, with the code's body
    area and typical dose (null when none is tabulated) and dose_centi_msv (records × dose in
    0.01 mSv, an exact integer)."""
    source = rollup_source(snap, "rollup_official_dose")
    return snap.query(
        f"""
        SELECT coalesce(d.modality, $unknown) AS modality, d.nicip_code, n.body_area, n.dose_msv,
               d.age_band, d.sex, sum(d.records)::BIGINT AS records,
               sum(d.records * round(n.dose_msv * 100)::BIGINT)::BIGINT AS dose_centi_msv
        FROM {source} d
        LEFT JOIN ref_nicip n ON n.nicip_code = d.nicip_code
        WHERE d.activity_month BETWEEN $first AND $last
        GROUP BY ALL
        ORDER BY ALL
        """,
        {"unknown": UNKNOWN_MODALITY, "first": year.first_month, "last": year.last_month},
    )


def _man_sv(centi: pl.Expr) -> pl.Expr:
    return (centi / CENTI_MSV_PER_MAN_SV).round_sig_figs(DOSE_SIGNIFICANT_FIGURES)


def _cells(snap: Snapshot, scope: Scope, year: FinancialYear, frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`frame`'s examinations perturbed, each row a cell named by `keys` within the year."""
    return perturb(snap, frame, scope, counts=["examinations"], keys=keys, context=("dose", year.label))


def _dose_cells(snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Examinations with a typical dose per examination group (and `by`), perturbed, with
    _centi = that count × the typical dose in 0.01 mSv: every collective dose is a sum of these."""
    dosed = counts.filter(pl.col("dose_msv").is_not_null())
    groups = dosed.with_columns(
        each_row(dosed, ["modality", "body_area", "dose_msv"], examination_group, "examination")
    )
    keys = [*by, *(c for c in ("modality", "examination", "dose_msv") if c not in by)]
    cells = groups.group_by(keys).agg(
        pl.col("nicip_code").unique().sort().str.join(", ").alias("nicip_codes"),
        pl.col("records").sum().alias("examinations"),
    )
    cells = _cells(snap, scope, year, cells, keys)
    return cells.with_columns(
        (pl.col("examinations") * (pl.col("dose_msv") * 100).round(0).cast(pl.Int64)).alias("_centi")
    )


def _with_dose(
    snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame, table: pl.DataFrame, by: list[str]
) -> pl.DataFrame:
    """`table` (rows by `by`; none = one row) with examinations_with_dose and _centi added up from
    the perturbed examination-group cells."""
    cells = _dose_cells(snap, scope, year, counts, by)
    aggs = [pl.col("examinations").sum().cast(pl.Int64).alias("examinations_with_dose"), pl.col("_centi").sum()]
    if not by:
        return table.hstack(cells.select(aggs))
    return table.join(cells.group_by(by).agg(aggs), on=by, how="left").with_columns(
        pl.col("examinations_with_dose", "_centi").fill_null(0)
    )


def dose_by_examination(
    snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per examination group with a typical dose: modality, examination, typical_dose_msv,
    nicip_codes (the codes seen), examinations, collective_dose_man_sv, pct_of_collective_dose.
    Largest collective dose first."""
    counts = dose_counts(snap, year) if counts is None else counts
    table = _dose_cells(snap, scope, year, counts, []).drop("_centi").rename({"dose_msv": "typical_dose_msv"})
    # Published count × typical dose (for central, the exact count): exact in 0.01 mSv units.
    table = protect(table, scope, counts=["examinations"])
    table = table.with_columns(
        (pl.col("examinations") * (pl.col("typical_dose_msv") * 100).round(0).cast(pl.Int64)).alias("_centi")
    )
    total = table["_centi"].sum()
    return (
        table.with_columns(
            _man_sv(pl.col("_centi")).alias("collective_dose_man_sv"),
            (pl.col("_centi") * 100 / total).round(2).alias("pct_of_collective_dose")
            if total
            else pl.lit(None, pl.Float64).alias("pct_of_collective_dose"),
        )
        .sort(["_centi", "modality", "examination"], descending=[True, False, False], nulls_last=True)
        .pipe(suppressed_last)
        .select(
            "modality",
            "examination",
            "typical_dose_msv",
            "nicip_codes",
            "examinations",
            "collective_dose_man_sv",
            "pct_of_collective_dose",
            *_flag(table),
        )
    )


def _flag(frame: pl.DataFrame) -> list[str]:
    """The `suppressed` column, where protection added one."""
    return [c for c in ("suppressed",) if c in frame.columns]


def _pct_with_dose() -> pl.Expr:
    return (
        pl.when(pl.col("examinations") > 0)
        .then((pl.col("examinations_with_dose") * 100 / pl.col("examinations")).round(1))
        .alias("pct_with_dose")
    )


def _modality_order(frame: pl.DataFrame) -> pl.DataFrame:
    order = {m: i for i, m in enumerate(MODALITY_COLUMNS)}
    return (
        frame.with_columns(pl.col("modality").replace_strict(order, default=len(order)).alias("_o"))
        .sort("_o", "modality")
        .drop("_o")
    )


def dose_by_modality(
    snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every modality with examinations in the year, and an "All" row first: examinations,
    examinations_with_dose, pct_with_dose, collective_dose_man_sv, pct_of_collective_dose."""
    counts = dose_counts(snap, year) if counts is None else counts
    per = counts.group_by("modality").agg(pl.col("records").sum().alias("examinations"))
    per = _with_dose(snap, scope, year, counts, _modality_order(per), ["modality"])
    every = _with_dose(
        snap, scope, year, counts, per.select(pl.lit(ALL).alias("modality"), pl.col("examinations").sum()), []
    )
    table = pl.concat([every, per.select(every.columns)]).with_columns(
        pl.col("examinations", "examinations_with_dose").cast(pl.Int64)
    )
    table = _cells(snap, scope, year, table, ["modality"]).with_columns(
        pl.min_horizontal("examinations_with_dose", "examinations").alias("examinations_with_dose")
    )
    total = int(every["_centi"][0] or 0)
    table = table.with_columns(
        _pct_with_dose(),
        _man_sv(pl.col("_centi")).alias("collective_dose_man_sv"),
        ((pl.col("_centi") * 100 / total).round(2) if total else pl.lit(None, pl.Float64)).alias(
            "pct_of_collective_dose"
        ),
    ).drop("_centi")
    return protect(
        table,
        scope,
        counts=["examinations", "examinations_with_dose"],
        derived={
            "examinations": ["pct_with_dose"],
            "examinations_with_dose": ["pct_with_dose", "collective_dose_man_sv", "pct_of_collective_dose"],
        },
    )


def registered_population(snap: Snapshot) -> pl.DataFrame:
    """Registered patients in England by dose age band and sex (M/F): age_band, sex, population."""
    return snap.query(
        f"""
        SELECT {dose_age_band_sql("age")} AS age_band, sex, sum(patients)::BIGINT AS population
        FROM ref_population WHERE org_type = 'REGION'
        GROUP BY ALL
        """
    )


def dose_by_age_sex(
    snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Rows per age band × sex (M, F, then sex not known; age not known last): examinations,
    examinations_with_dose, collective_dose_man_sv, population, examinations_per_1000,
    per_caput_usv (µSv per registered person)."""
    counts = dose_counts(snap, year) if counts is None else counts
    cells = counts.group_by("age_band", "sex").agg(pl.col("records").sum().alias("examinations"))
    cells = _with_dose(
        snap, scope, year, counts, _cells(snap, scope, year, cells, ["age_band", "sex"]), ["age_band", "sex"]
    ).with_columns(pl.min_horizontal("examinations_with_dose", "examinations").alias("examinations_with_dose"))
    labels = [b[0] for b in DOSE_AGE_BANDS] + [UNKNOWN_DOSE_AGE_BAND]
    grid = pl.DataFrame({"age_band": labels}).join(pl.DataFrame({"sex": list(SEX_LABELS)}), how="cross")
    table = (
        grid.join(cells, on=["age_band", "sex"], how="left")
        .join(registered_population(snap), on=["age_band", "sex"], how="left")
        .filter(pl.col("examinations").is_not_null() | pl.col("population").is_not_null())
        .with_columns(pl.col("examinations", "examinations_with_dose", "_centi").fill_null(0).cast(pl.Int64))
    )
    return _rates(table, scope).select(
        "age_band",
        pl.col("sex").replace_strict(SEX_LABELS).alias("sex"),
        "examinations",
        "examinations_with_dose",
        "collective_dose_man_sv",
        "population",
        "examinations_per_1000",
        "per_caput_usv",
    )


def _rates(table: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    table = table.with_columns(
        _man_sv(pl.col("_centi")).alias("collective_dose_man_sv"),
        (pl.col("examinations") * 1000 / pl.col("population")).round(2).alias("examinations_per_1000"),
        # 0.01 mSv = 10 µSv
        (pl.col("_centi") * 10 / pl.col("population")).round_sig_figs(DOSE_SIGNIFICANT_FIGURES).alias("per_caput_usv"),
    )
    return protect(
        table,
        scope,
        counts=["examinations", "examinations_with_dose"],
        derived={
            "examinations": ["examinations_per_1000"],
            "examinations_with_dose": ["collective_dose_man_sv", "per_caput_usv"],
        },
    )


def dose_summary(snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row for England: months_with_data, examinations, examinations_with_dose, pct_with_dose,
    collective_dose_man_sv, population, examinations_per_1000, per_caput_usv."""
    counts = dose_counts(snap, year) if counts is None else counts
    population = int(registered_population(snap)["population"].sum())
    table = pl.DataFrame(
        {
            "modality": [ALL],  # the same cell as dose_by_modality's "All" row
            "months_with_data": [len(months_held(snap, year.first_month, year.last_month))],
            "examinations": [int(counts["records"].sum())],
            "population": [population],
        }
    )
    table = _with_dose(snap, scope, year, counts, _cells(snap, scope, year, table, ["modality"]), []).with_columns(
        pl.min_horizontal("examinations_with_dose", "examinations").alias("examinations_with_dose")
    )
    table = table.with_columns(_pct_with_dose())
    out = _rates(table, scope)
    if scope.needs_disclosure_control:
        out = out.with_columns(
            pl.when(pl.col("examinations").is_null())
            .then(None)
            .otherwise(pl.col("pct_with_dose"))
            .alias("pct_with_dose")
        )
    return out.select(
        "months_with_data",
        "examinations",
        "examinations_with_dose",
        "pct_with_dose",
        "collective_dose_man_sv",
        "population",
        "examinations_per_1000",
        "per_caput_usv",
    )


def without_dose(snap: Snapshot, scope: Scope, year: FinancialYear, counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Examinations left out of the collective dose, by modality × body area: modality,
    body_area, examinations, and why (no ionising radiation, or no tabulated typical dose)."""
    counts = (dose_counts(snap, year) if counts is None else counts).filter(pl.col("dose_msv").is_null())
    table = counts.group_by("modality", pl.col("body_area").fill_null("Not known")).agg(
        pl.col("records").sum().alias("examinations")
    )
    table = _cells(snap, scope, year, table, ["modality", "body_area"])
    table = _modality_order(table.sort("body_area")).with_columns(
        pl.when(pl.col("modality").is_in(["MRI", "Ultrasound"]))
        .then(pl.lit("no ionising radiation"))
        .when(pl.col("modality") == PET_MODALITY)
        .then(pl.lit("not in the HPA 2008 table (PET-CT)"))
        .otherwise(pl.lit("no typical dose in the HPA 2008 table"))
        .alias("reason")
    )
    return protect(table, scope, counts=["examinations"])


def dose_tables(snap: Snapshot, scope: Scope, year: FinancialYear) -> dict[str, pl.DataFrame]:
    """Every table of the dose report, in order."""
    counts = dose_counts(snap, year)
    return {
        "summary": dose_summary(snap, scope, year, counts),
        "by_examination": dose_by_examination(snap, scope, year, counts),
        "by_modality": dose_by_modality(snap, scope, year, counts),
        "by_age_sex": dose_by_age_sex(snap, scope, year, counts),
        "without_dose": without_dose(snap, scope, year, counts),
    }
