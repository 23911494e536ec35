"""The calibration report: what a generated output holds, beside each target in docs/calibration.md.

It reads the files back the way the loader keeps them (the last good file per provider and
period; a record re-sent later replaces the earlier version, keyed on site and accession),
counts by activity month, and compares with `targets.py`. Volumes are divided by the scale and
annualised, so the figures read as England a year. Model-only figures (the practice
multipliers' spread and a simulated funnel at scale 1.0) come from the practice model.

`python -m ingest.synth.calibration OUT_DIR` prints the table as Markdown.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from did_model import spec
from ingest.synth import targets as T
from ingest.synth.manifest import Manifest
from ingest.synth.population import N_AGES, PracticeModel, funnel_outside_share
from ingest.synth.procedures import modality_of_code
from ingest.synth.records import bank_holidays


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    target: str
    generated: float
    ok: bool
    fmt: str = "{:.3g}"

    def text(self) -> str:
        return self.fmt.format(self.generated)


def read_file(path: Path) -> pl.DataFrame:
    """One extract as strings, header or not."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    if "CODED PROCEDURE START TIMESTAMP" in first:  # DIDS v2.0 (April 2026 activity on)
        from ingest.synth.v2items import read_as_v1

        return read_as_v1(path)
    has_header = first.startswith(spec.HEADER[0] + ",")
    n_cols = first.count(",") + 1
    names = list(spec.COLUMNS) if n_cols == spec.N_COLUMNS else [f"c{i}" for i in range(n_cols)]
    return pl.read_csv(path, has_header=has_header, new_columns=names, infer_schema=False)


def read_effective(out_dir: Path | str) -> pl.DataFrame:
    """Every record a loader would keep, with provider_code, period and submitted_on of its file."""
    out_dir = Path(out_dir)
    m = Manifest.read(out_dir)
    frames = []
    for f in m.effective():
        df = read_file(out_dir / f.path)
        frames.append(
            df.with_columns(
                provider_code=pl.lit(f.provider_code),
                period=pl.lit(f.period),
                submitted_on=pl.lit(f.submitted_on),
                _order=pl.lit(f.order),
            )
        )
    df = pl.concat(frames)
    return (
        df.with_row_index("_row")
        .sort("_order", "_row")
        .unique(["site_code", "accession_number"], keep="last", maintain_order=True)
        .drop("_row", "_order")
    )


def _dates(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col(c).str.to_date("%Y-%m-%d", strict=False).alias(f"d_{c}") for c in spec.DATE_FIELDS)


def enrich(df: pl.DataFrame, catalogue: pl.DataFrame) -> pl.DataFrame:
    df = _dates(df)
    known = catalogue["nicip_code"].implode()
    return df.with_columns(  # a code the NICIP list does not hold has no modality
        modality=pl.when(pl.col("nicip_code").is_in(known)).then(modality_of_code(pl.col("nicip_code"))),
        activity_month=pl.col("d_test_date").dt.strftime("%Y-%m"),
    ).join(catalogue.select("nicip_code", "test_group", "body_area", "dose_msv"), on="nicip_code", how="left")


def _within(value: float, target: float, tol: float) -> bool:
    return abs(value - target) <= tol * target


def _num(value: object) -> float:
    """A column's mean, median or quantile as a float (polars types them as any Python value);
    NaN for an empty column's None, so that the check fails rather than the report."""
    if value is None:
        return math.nan
    if not isinstance(value, int | float | np.number):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def report(out_dir: Path | str, model: PracticeModel | None = None, catalogue: pl.DataFrame | None = None) -> list[Row]:
    out_dir = Path(out_dir)
    manifest = Manifest.read(out_dir)
    p = manifest.planted
    scale = float(p["scale"])
    if catalogue is None:
        from did_model.nicip import nicip_catalogue

        catalogue = nicip_catalogue()
    if model is None:
        from ingest import reference
        from ingest.synth.population import build_practice_model

        model = build_practice_model(reference.practices(), reference.population(), int(p["seed"]))
    england = float(model.practices["list_size"].sum())
    national = model  # its multipliers and funnel are England's whatever the world
    area = (p.get("world") or {}).get("practices")
    if area:  # a slice of England: its practices, and counts read as England's by population
        model = model.subset(model.practices["practice_code"].is_in(area).to_numpy())
    population = float(model.practices["list_size"].sum())
    df = enrich(read_effective(out_dir), catalogue)
    months = sorted({f.activity_month for f in manifest.files} | {x["activity_month"] for x in p["missing"]})
    df = df.filter(pl.col("activity_month").is_in(months))
    n_months = len(months)
    per_year = 12 / n_months / scale  # records a year in the world generated, at full scale
    annual = per_year * england / population
    rows: list[Row] = []

    # volumes
    by_mod = dict(df.group_by("modality").len().iter_rows())
    for m in T.MODALITIES:
        v = by_mod.get(m, 0) * annual
        target = f"{T.ANNUAL_VOLUME[m] / 1e6:.2f} ±{T.VOLUME_TOLERANCE[m]:.0%}"
        rows.append(
            Row(
                "Volumes (M a year)",
                T.MODALITY_NAMES[m],
                target,
                v / 1e6,
                _within(v, T.ANNUAL_VOLUME[m], T.VOLUME_TOLERANCE[m]),
                "{:.2f}",
            )
        )
    total = df.height * annual
    target_total = sum(T.ANNUAL_VOLUME.values())
    rows.append(
        Row(
            "Volumes (M a year)",
            "Total",
            f"{target_total / 1e6:.1f} ±10%",
            total / 1e6,
            _within(total, target_total, 0.10),
            "{:.2f}",
        )
    )

    # seasonality: share of an average month (records by activity month)
    per_month = df.group_by("activity_month").len().sort("activity_month")
    mean = per_month["len"].mean()
    for cal, name in ((12, "December"), (10, "October"), (5, "May"), (8, "August")):
        vals = [n / mean for mm, n in per_month.iter_rows() if int(mm[5:]) == cal]
        if vals and n_months >= 12:
            tgt = T.SEASONALITY[cal - 1]
            rows.append(
                Row(
                    "Seasonality (share of average month)",
                    name,
                    f"{tgt:.2f} ±0.04",
                    float(np.mean(vals)),
                    abs(np.mean(vals) - tgt) <= 0.04,
                    "{:.3f}",
                )
            )

    # source mix
    mix = df.group_by("modality", "patient_source").len()
    for m in ("MR", "CT", "XR", "US"):
        sub = mix.filter(pl.col("modality") == m)
        tot = sub["len"].sum()
        got = dict(sub.select("patient_source", "len").iter_rows())
        for s, share in zip(T.SOURCES, T.SOURCE_MIX[m], strict=True):
            if s in ("06", "07"):
                continue
            g = got.get(s, 0) / tot * 100
            rows.append(
                Row(
                    f"Source mix: {T.MODALITY_NAMES[m]} (%)",
                    f"source {s}",
                    f"{share * 100:.0f} ±5",
                    g,
                    abs(g - share * 100) <= T.SOURCE_MIX_TOLERANCE_PP,
                    "{:.1f}",
                )
            )
        g = (got.get("06", 0) + got.get("07", 0)) / tot * 100
        tgt = (T.SOURCE_MIX[m][5] + T.SOURCE_MIX[m][6]) * 100
        rows.append(
            Row(
                f"Source mix: {T.MODALITY_NAMES[m]} (%)",
                "source 06/07",
                f"{tgt:.0f} ±5",
                g,
                abs(g - tgt) <= 5,
                "{:.1f}",
            )
        )

    # GPDA five tests
    gp = dict(df.filter(pl.col("patient_source") == "04").group_by("test_group").len().drop_nulls().iter_rows())
    for g, (_, v) in T.GPDA_TESTS.items():
        x = gp.get(g, 0) * annual
        rows.append(
            Row(
                "GP direct access (M a year)",
                g,
                f"{v / 1e6:.2f} ±{T.GPDA_TOLERANCE:.0%}",
                x / 1e6,
                _within(x, v, T.GPDA_TOLERANCE),
                "{:.3f}",
            )
        )
    x = sum(gp.values()) * annual
    rows.append(
        Row(
            "GP direct access (M a year)",
            "five tests together",
            "3.70 ±10%",
            x / 1e6,
            _within(x, 3.7e6, 0.10),
            "{:.2f}",
        )
    )

    rows += _rates(df, per_year, population)
    rows += _scanners(df, out_dir, months, per_year, bool(area))
    rows += _who(df, model, per_year)
    rows += _when(df)
    rows += _practices_providers(df, model, national, manifest)
    rows += _quality(df, manifest)
    return rows


def _rates(df: pl.DataFrame, per_year: float, population: float) -> list[Row]:
    """Per 1,000 registered patients a year over the world's own population: what a page shows."""
    section = "Rates (per 1,000 registered a year)"
    per_1000 = per_year * 1000 / population
    rows = []

    def rate(measure: str, n: int, target: float) -> None:
        v = n * per_1000
        rows.append(
            Row(
                section,
                measure,
                f"{target:.3g} ±{T.RATE_TOLERANCE:.0%}",
                v,
                _within(v, target, T.RATE_TOLERANCE),
                "{:.3g}",
            )
        )

    rate("all imaging", df.height, sum(T.ANNUAL_VOLUME.values()) * 1000 / T.REGISTERED_ENGLAND)
    gp = dict(df.filter(pl.col("patient_source") == "04").group_by("test_group").len().drop_nulls().iter_rows())
    for g, (_, v) in T.GPDA_TESTS.items():
        rate(f"GP direct access {g}", gp.get(g, 0), v * 1000 / T.REGISTERED_ENGLAND)
    rate(
        "GP direct access, five tests",
        sum(gp.values()),
        sum(v for _, v in T.GPDA_TESTS.values()) * 1000 / T.REGISTERED_ENGLAND,
    )
    dose = float(df["dose_msv"].fill_null(0).sum()) * per_year * 1000 / population  # µSv a person
    lo, hi = T.PER_CAPUT_DOSE_USV
    rows.append(
        Row(section, "per-caput effective dose (µSv a year)", f"{lo:.0f}-{hi:.0f}", dose, lo <= dose <= hi, "{:.0f}")
    )
    return rows


def _scanners(df: pl.DataFrame, out_dir: Path, months: list[str], per_year: float, sliced: bool) -> list[Row]:
    """CT and MRI examinations per scanner a year and estimated utilisation of scheduled hours
    (queries/equipment.py's method and default minutes) from equipment.csv. In a slice a provider
    with a small flow from the area holds a part-time scanner (providers._scanners), so only the
    utilisation is held to its target there; the per-scanner figure is shown for information."""
    from did_model.nicip import DEFAULT_DURATIONS

    section = "Scanners"
    equipment = pl.read_csv(out_dir / "equipment.csv")
    days = sum(
        (
            pl.date_range(
                pl.date(int(m[:4]), int(m[5:]), 1), pl.date(int(m[:4]), int(m[5:]), 1).dt.month_end(), eager=True
            )
        ).len()
        for m in months
    )
    rows = []
    for m, name in (("CT", "CT"), ("MR", "MRI")):
        kit = equipment.filter(pl.col("modality") == name)
        scanners, hours = int(kit["scanners"].sum()), float(kit["scheduled_hours_per_week"].sum())
        exams = df.filter(pl.col("modality") == m)
        per_scanner = exams.height * per_year / max(scanners, 1)
        tgt = T.ANNUAL_VOLUME[m] / T.SCANNERS[m]
        ok = _within(per_scanner, tgt, T.SCANNER_TOLERANCE)
        rows.append(
            Row(
                section,
                f"{name} examinations per scanner a year",
                f"{tgt:,.0f} ±{T.SCANNER_TOLERANCE:.0%}"
                + (" (England; a slice has part-time scanners)" if sliced else ""),
                per_scanner,
                ok or sliced,
                "{:,.0f}",
            )
        )
        minutes = {area: mins for mod, area, mins in DEFAULT_DURATIONS if mod == name}
        used = exams.select(pl.col("body_area").replace_strict(minutes, default=minutes["*"]).sum()).item()
        util = used * per_year * len(months) / 12 / max(hours * 60 * days / 7, 1e-9)  # at full scale
        lo, hi = T.UTILISATION_TARGET[m]
        rows.append(
            Row(
                section,
                f"{name} estimated utilisation of scheduled hours",
                f"{lo:.0%}-{hi:.0%}",
                util,
                lo <= util <= hi,
                "{:.2f}",
            )
        )
    return rows


def _is(modality: str | None, source: str) -> pl.Expr:
    e = pl.col("patient_source") == source
    return e if modality is None else e & (pl.col("modality") == modality)


def _age_band(age: pl.Expr) -> pl.Expr:
    return (
        pl.when(age.is_between(20, 39))
        .then(pl.lit("20-39"))
        .when(age.is_between(50, 59))
        .then(pl.lit("50-59"))
        .when(age >= 80)
        .then(pl.lit("80+"))
        .otherwise(None)
    )


def _with_age(df: pl.DataFrame) -> pl.DataFrame:
    age = (pl.col("d_test_date").dt.year() - pl.col("d_birth_date").dt.year()) - (
        (pl.col("d_test_date").dt.month() * 100 + pl.col("d_test_date").dt.day())
        < (pl.col("d_birth_date").dt.month() * 100 + pl.col("d_birth_date").dt.day())
    ).cast(pl.Int32)
    return df.with_columns(age=age.clip(0, N_AGES - 1), sex=pl.col("gender").replace({"1": "M", "2": "F"}))


def _who(df: pl.DataFrame, model: PracticeModel, annual: float) -> list[Row]:
    rows = []
    df = _with_age(df)
    pop = model.population_by_age_sex()  # (P, 2, 96)
    pop_age = pop.sum(axis=(0, 1))
    band_pop = {"20-39": pop_age[20:40].sum(), "50-59": pop_age[50:60].sum(), "80+": pop_age[80:].sum()}
    counts = dict(df.group_by(_age_band(pl.col("age")).alias("b")).len().drop_nulls().iter_rows())
    rate = {b: counts.get(b, 0) * annual / band_pop[b] for b in band_pop}
    for b, tgt in T.AGE_RATE_TARGETS.items():
        rows.append(Row("Who is imaged (per person a year)", f"rate at {b}", f"{tgt} (shape)", rate[b], True, "{:.2f}"))
    for b in ("50-59", "80+"):
        r = rate[b] / rate["20-39"]
        tgt = T.AGE_RATE_TARGETS[b] / T.AGE_RATE_TARGETS["20-39"]
        rows.append(
            Row(
                "Who is imaged (per person a year)",
                f"rate ratio {b} / 20-39",
                f"{tgt:.1f} ±{T.AGE_RATIO_TOLERANCE:.0%}",
                r,
                _within(r, tgt, T.AGE_RATIO_TOLERANCE),
                "{:.2f}",
            )
        )
    us = df.filter((pl.col("modality") == "US") & pl.col("age").is_between(20, 49))
    by_sex = dict(us.group_by("sex").len().iter_rows())
    pf, pm_ = pop[:, 1, 20:50].sum(), pop[:, 0, 20:50].sum()
    r = (by_sex.get("F", 0) / pf) / max(by_sex.get("M", 0) / pm_, 1e-12)
    rows.append(
        Row("Who is imaged (per person a year)", "ultrasound rate women / men, 20-49", "> 1.3", r, r > 1.3, "{:.2f}")
    )

    # deprivation: indirectly standardised ratio, quintile 1 / quintile 5
    pr = model.practices.select("practice_code", q=pl.col("imd_quintile").fill_null(3))
    q_of = dict(pr.iter_rows())
    ls_pop = pop  # (P, 2, 96)
    qarr = pr["q"].to_numpy()
    for label, filt, tgt in (
        ("A&E-sourced imaging", pl.col("patient_source") == "05", 1.30),
        ("outpatient MRI", _is("MR", "03"), 0.85),
        ("GPDA chest X-ray", _is(None, "04") & (pl.col("test_group") == "chest_xray"), 1.10),
    ):
        sub = df.filter(filt & pl.col("practice_code").is_in(list(q_of)))
        cells = sub.group_by("sex", "age").len()
        nat = np.zeros((2, N_AGES))
        for s, a, n in cells.iter_rows():
            if s in ("M", "F"):
                nat[1 if s == "F" else 0, a] += n
        nat = nat / np.maximum(ls_pop.sum(axis=0), 1e-9)
        expected = (ls_pop * nat).sum(axis=(1, 2))
        obs_q = dict(sub.with_columns(q=pl.col("practice_code").replace_strict(q_of)).group_by("q").len().iter_rows())
        e_q = {q: expected[qarr == q].sum() for q in (1, 5)}
        r = (obs_q.get(1, 0) / e_q[1]) / max(obs_q.get(5, 0) / e_q[5], 1e-12)
        rows.append(
            Row(
                "Deprivation (standardised ratio, IMD q1 / q5)",
                label,
                f"{tgt:.2f} ±{T.IMD_TOLERANCE}",
                r,
                abs(r - tgt) <= T.IMD_TOLERANCE,
                "{:.2f}",
            )
        )

    eth = _num(df["ethnic_category"].is_in(["Z", "99"]).mean())
    lo, hi = T.ETHNIC_NOT_STATED_TARGET
    rows.append(
        Row(
            "Who is imaged (per person a year)",
            "ethnic category Z / 99 (share)",
            f"{lo:.0%}-{hi:.0%}",
            eth,
            lo <= eth <= hi,
            "{:.3f}",
        )
    )
    return rows


def _when(df: pl.DataFrame) -> list[Row]:
    rows = []
    wd = df.with_columns(weekday=pl.col("d_test_date").dt.weekday() <= 5)
    for label, srcs, tgt in (
        ("outpatient + GPDA on weekdays", ["03", "04"], 0.97),
        ("A&E + inpatient on weekdays", ["01", "05"], 0.75),
    ):
        v = _num(wd.filter(pl.col("patient_source").is_in(srcs))["weekday"].mean())
        rows.append(Row("When (share)", label, f"{tgt:.2f} ±0.03", v, abs(v - tgt) <= 0.03, "{:.3f}"))
    # Bank holidays run a weekend service: planned work (outpatients, GP direct access) stops.
    days = df.filter(pl.col("patient_source").is_in(["03", "04"])).group_by("d_test_date").len()
    years = df["d_test_date"].drop_nulls().dt.year().unique().to_list()
    holiday = pl.col("d_test_date").is_in(sorted(set().union(*(bank_holidays(y) for y in years))))
    working = _num(days.filter((pl.col("d_test_date").dt.weekday() <= 5) & ~holiday)["len"].mean())
    on_holiday = days.filter(holiday)["len"]
    if on_holiday.len() and working:
        v = _num(on_holiday.mean()) / working
        rows.append(
            Row("When (share)", "outpatient + GPDA a bank holiday ÷ a working day", "≤ 0.25", v, v <= 0.25, "{:.3f}")
        )
    ok_dates = df.filter(pl.col("d_request_date") <= pl.col("d_test_date"))
    w = ok_dates.with_columns(
        wait=(pl.col("d_test_date") - pl.col("d_request_date")).dt.total_days(),
        rep=(pl.col("d_report_date") - pl.col("d_test_date")).dt.total_days(),
    )
    for m, tgt in (("MR", 21), ("CT", 10), ("US", 14)):
        for s in ("03", "04"):
            sub = w.filter((pl.col("modality") == m) & (pl.col("patient_source") == s))["wait"]
            med, p90 = _num(sub.median()), _num(sub.quantile(0.9))
            rows.append(
                Row(
                    "When: request to test (days)",
                    f"{T.MODALITY_NAMES[m]} source {s} median",
                    f"{tgt} ±2",
                    med,
                    abs(med - tgt) <= 2,
                    "{:.0f}",
                )
            )
            rows.append(
                Row(
                    "When: request to test (days)",
                    f"{T.MODALITY_NAMES[m]} source {s} P90 / median",
                    "3 ±0.5",
                    p90 / med,
                    abs(p90 / med - 3) <= 0.5,
                    "{:.2f}",
                )
            )
    for label, filt, tgt in (
        ("CT A&E median", (pl.col("modality") == "CT") & (pl.col("patient_source") == "05"), 0),
        ("CT inpatient median", _is("CT", "01"), 0),
        ("X-ray A&E median", (pl.col("modality") == "XR") & (pl.col("patient_source") == "05"), 0),
        ("X-ray GPDA median", _is("XR", "04"), 1),
    ):
        med = _num(w.filter(filt)["wait"].median())
        rows.append(Row("When: request to test (days)", label, f"{tgt}", med, med == tgt, "{:.0f}"))
    for m, tgt in (("XR", 1), ("CT", 1), ("MR", 3), ("US", 0)):
        med = _num(w.filter((pl.col("modality") == m) & (pl.col("rep") >= 0))["rep"].median())
        rows.append(
            Row("When: test to report (days)", f"{T.MODALITY_NAMES[m]} median", f"{tgt}", med, med == tgt, "{:.0f}")
        )
    miss = _num(df["report_date"].is_null().mean())
    rows.append(
        Row(
            "When: test to report (days)",
            "no report date (share)",
            "0.05 ±0.015",
            miss,
            abs(miss - 0.05) <= 0.015,
            "{:.3f}",
        )
    )
    return rows


def _practices_providers(
    df: pl.DataFrame, model: PracticeModel, national: PracticeModel, manifest: Manifest
) -> list[Row]:
    present = set(df["practice_code"].unique().to_list())
    allp = set(model.practices["practice_code"].to_list())
    share = len(allp & present) / len(allp)
    provs = {f.provider_code for f in manifest.files}
    listed = set(pl.read_csv(manifest.out_dir / "sites.csv", infer_schema_length=0)["provider_code"].to_list())
    multipliers = national.multiplier[:, national.groups.index("T:chest_xray")]
    cv = float(multipliers.std() / multipliers.mean())
    funnel = funnel_outside_share(national, "chest_xray", 1.0, 12, int(manifest.planted["seed"]))
    lo, hi = T.FUNNEL_OUTSIDE_TARGET
    return [
        Row(
            "Practices and providers",
            "practices with a list size present (share)",
            "1.00",
            share,
            share == 1.0,
            "{:.4f}",
        ),
        Row(
            "Practices and providers",
            "providers with files (open trusts + 6 independent)",
            f"{len(listed)}",
            len(provs),
            provs == listed,
            "{:.0f}",
        ),
        Row(
            "Practices and providers",
            "practice multiplier CV, GPDA chest X-ray (model)",
            "0.25-0.35",
            cv,
            T.PRACTICE_CV_TARGET[0] <= cv <= T.PRACTICE_CV_TARGET[1],
            "{:.3f}",
        ),
        Row(
            "Practices and providers",
            "outside unadjusted 99.8% funnel, GPDA chest X-ray, scale 1, 12 months (model)",
            f"{lo:.2f}-{hi:.2f}",
            funnel,
            lo <= funnel <= hi,
            "{:.3f}",
        ),
    ]


def _quality(df: pl.DataFrame, manifest: Manifest) -> list[Row]:
    """Defect rates measured from the kept records, and provider-month events from planted.json."""
    p = manifest.planted
    rows = []
    nhs = pl.col("nhs_number")
    digits = [nhs.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(10)]
    s = sum(d * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - s % 11
    check = pl.when(check == 11).then(0).otherwise(check)
    measured = df.select(
        nhs_number_missing=nhs.is_null().mean(),
        nhs_number_invalid=(nhs.is_not_null() & (check != digits[9])).mean(),
        referrer_malformed=(~pl.col("referrer_code").str.contains(r"^([A-Z][0-9]{7}|[A-Z]{2}[0-9]{6})$")).mean(),
        date_order=(
            (pl.col("d_request_date") > pl.col("d_test_date"))
            | (pl.col("d_report_date") < pl.col("d_test_date"))
            | (pl.col("d_request_received_date") < pl.col("d_request_date"))
        ).mean(),
    ).row(0, named=True)
    for d, tgt in T.DEFECT_RATES.items():
        if d in measured:
            v = measured[d]
        else:
            files = p["record_defects"].values()
            v = sum(x[d] for x in files) / max(sum(x["records"] for x in files), 1)
        ok = v == 0 if p["clean"] else abs(v - tgt) <= 0.35 * tgt
        rows.append(Row("Defects (share of records)", d, "0" if p["clean"] else f"{tgt:.3f} ±35%", v, ok, "{:.4f}"))
    n_pm = len(manifest.effective()) + len(p["missing"])
    for k, tgt, tol in (
        ("late", T.LATE_SHARE, 0.01),
        ("missing", T.MISSING_SHARE, 0.005),
        ("resubmitted", T.RESUBMITTED_SHARE, 0.01),
    ):
        v = len(p[k]) / n_pm
        ok = v == 0 if p["clean"] else abs(v - tgt) <= tol
        rows.append(Row("Provider-months (share)", k, "0" if p["clean"] else f"{tgt:.3f}", v, ok, "{:.3f}"))
    return rows


def markdown(rows: list[Row]) -> str:
    out, section = [], None
    for r in rows:
        if r.section != section:
            out += ["", f"**{r.section}**", "", "| measure | target | generated | within |", "|---|---|---|---|"]
            section = r.section
        out.append(f"| {r.measure} | {r.target} | {r.text()} | {'yes' if r.ok else 'NO'} |")
    return "\n".join(out[1:]) + "\n"


if __name__ == "__main__":
    print(markdown(report(sys.argv[1])))
