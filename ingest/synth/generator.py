"""`generate()`: synthetic DID v1.0 RIS extracts for a run of activity months.

The work streams month by month (memory is bounded by one month of records, about 4 M rows at
scale 1.0). Randomness is split so that the order of work does not matter: the practice model,
sites, plan and provider habits each have their own stream of `SeedSequence([seed, tag])`; a
month's counts and routing come from `[seed, 3, month]`; everything about one provider's records
in one month from `[seed, 4, provider, month]`; outsourcing from `[seed, 11, ...]`
(`outsourcing.py`: an independent provider's month is made before its commissioners', so their
copies of its work are ready). The same seed and arguments give byte-identical files.

Output goes to a private directory beside `out_dir` and is renamed into place at the end, so a
failure leaves nothing half-written. An existing `out_dir` must be empty or hold an earlier
synthetic output (it is replaced).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from did_model import spec
from did_months import add_months, month_range
from ingest.synth import defects as D
from ingest.synth import targets as T
from ingest.synth.manifest import Manifest, ManifestFile
from ingest.synth.outsourcing import Outsourcing, plan_outsourcing
from ingest.synth.plan import FilePlan, Plan, build_plan, period_of
from ingest.synth.population import PracticeModel, build_practice_model
from ingest.synth.procedures import code_tables, unknown_codes
from ingest.synth.providers import ProviderModel, build_provider_model, route_records, serving
from ingest.synth.records import Context, assign_accessions, build_context, build_records
from ingest.synth.world import resolve
from ingest.synth.writer import count, to_text, write_csv

MAX_MONTHS = 60
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(key)))


def parse_month(value: str, name: str) -> date:
    m = _MONTH.match(value) if isinstance(value, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1971:
        raise ValueError(f"{name} {value!r} is not a month in YYYY-MM form (e.g. 2025-11)")
    return date(int(m.group(1)), int(m.group(2)), 1)


def check_arguments(first_month: str, last_month: str, scale: float, seed: int) -> list[date]:
    first = parse_month(first_month, "first_month")
    last = parse_month(last_month, "last_month")
    if last < first:
        raise ValueError(f"last_month {last_month} is before first_month {first_month}")
    n = (last.year - first.year) * 12 + last.month - first.month + 1
    if n > MAX_MONTHS:
        raise ValueError(f"{first_month}..{last_month} is {n} months; generate at most {MAX_MONTHS} at a time")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 2:
        raise ValueError(
            f"scale must be above 0 and at most 2 (1.0 = England, about 49 M examinations a year), got {scale!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    return month_range(first, last)


def _prepare_out_dir(out_dir: Path) -> Path:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise NotADirectoryError(f"{out_dir} exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / "manifest.csv").exists():
            raise ValueError(
                f"{out_dir} is not empty and holds no earlier synthetic output "
                f"(no manifest.csv); choose an empty or new directory"
            )
    parent = out_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.absolute().parent))
        old.rmdir()
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old)
    else:
        tmp.rename(out_dir)


def _reference(run_end: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Reference data; trusts that ODS shows closed by the end of the run are left out (the 2022
    catchment lookup still lists a few merged trusts, and a closed trust sends no files)."""
    from did_model import nicip
    from ingest import reference

    trusts = reference.trusts()
    ods = getattr(reference, "ods_trusts", None)
    if ods is not None:
        closed = ods().filter(pl.col("close_date").is_not_null() & (pl.col("close_date") <= run_end))["code"]
        trusts = trusts.filter(~pl.col("provider_code").is_in(closed.implode()))
    return (reference.practices(), reference.population(), trusts, reference.catchment(), nicip.nicip_catalogue())


def generate(
    first_month: str,
    last_month: str,
    scale: float,
    out_dir: Path,
    seed: int = 0,
    clean: bool = False,
    progress: Callable[[str], None] | None = None,
    area: str | Sequence[str] | None = None,
) -> Manifest:
    """Write synthetic RIS extracts for activity months first_month..last_month (YYYY-MM, inclusive).

    `area` (NHS region and/or 2026 ICB codes, e.g. "Y58" or "QSL,QT6") makes a slice of England
    instead of all of it: the area's practices and the trusts serving them (`world.py`). The
    practice model is England's either way, so a slice's practices keep their national rates.
    See the package docstring for the files written. Raises ValueError for bad arguments before
    touching the disk; OSError from the file system propagates and leaves no partial output.
    """
    months = check_arguments(first_month, last_month, scale, seed)
    out_dir = Path(out_dir)
    say = progress or (lambda _msg: None)
    practices, population, trusts, catchment, catalogue = _reference(add_months(months[-1], 2))
    model = build_practice_model(practices, population, seed)
    world: dict = {}
    if area:
        sliced = resolve(model.practices, area)
        model = model.subset(sliced.mask)
        catchment = serving(catchment, model.practices["icb22_ons"].drop_nulls().unique().to_list())
        trusts = trusts.filter(pl.col("provider_code").is_in(catchment["provider_code"].implode()))
        world = dict(area=list(sliced.codes), area_names=list(sliced.names))
    pm = build_provider_model(model, trusts, catchment, seed)
    if world:
        world.update(practices=model.practices["practice_code"].to_list(), providers=pm.codes)
    ctx = build_context(model, pm, code_tables(catalogue, model.classes), seed)
    unknown = unknown_codes(catalogue)
    n_prov = pm.providers.height
    plan = build_plan(months, n_prov, seed, clean, pm.expected_volume)
    rates = D.provider_defect_rates(seed, pm.expected_volume, clean)
    header = _rng(seed, 8).random(n_prov) >= T.NO_HEADER_SHARE

    tmp = _prepare_out_dir(out_dir)
    try:
        run = _Run(tmp, months, scale, seed, clean, model, pm, ctx, plan, rates, unknown, header)
        run.world = world
        run.outsourcing = plan_outsourcing(model, pm, months, seed, clean)
        for mi in range(len(months)):
            n = run.month(mi)
            say(f"{months[mi]:%Y-%m}: {n:,} records")
        manifest = run.finish(first_month, last_month)
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest.out_dir = out_dir
    return manifest


class _Run:
    """The state of one generation: files written so far and records carried to the next month."""

    def __init__(
        self,
        tmp: Path,
        months: list[date],
        scale: float,
        seed: int,
        clean: bool,
        model: PracticeModel,
        pm: ProviderModel,
        ctx: Context,
        plan: Plan,
        rates: dict[str, np.ndarray],
        unknown: np.ndarray,
        header: np.ndarray,
    ):
        self.tmp, self.months, self.scale, self.seed, self.clean = tmp, months, scale, seed, clean
        self.model, self.pm, self.ctx, self.plan = model, pm, ctx, plan
        self.rates, self.unknown, self.header = rates, unknown, header
        self.codes = pm.codes
        self.rows: list[dict] = []
        self.record_defects: dict[str, dict] = {}
        self.resubmitted: list[dict] = []
        self.file_reject: list[dict] = []
        self.carry: dict[int, list[pl.DataFrame]] = {}
        self._active_cache: dict[int, np.ndarray] = {}
        self.extras = self._presence_extras()
        self.world: dict = {}  # a slice's area, practices and providers (world.py); empty for England
        self.outsourcing: Outsourcing | None = None  # arrangements planted (outsourcing.py); None if clean

    def _active(self, mi: int) -> np.ndarray:
        """Practices open for the whole month (so no record meets DIDS080, practice not live)."""
        if mi not in self._active_cache:
            month = self.months[mi]
            pr = self.model.practices
            end = add_months(month, 1) - timedelta(days=1)
            opened = np.ones(pr.height, bool)
            live = np.ones(pr.height, bool)
            if "open_date" in pr.columns:
                opened = pr["open_date"].fill_null(date.min).to_numpy() <= np.datetime64(month)
            if "close_date" in pr.columns:
                live = pr["close_date"].fill_null(date.max).to_numpy() >= np.datetime64(end)
            self._active_cache[mi] = opened & live
        return self._active_cache[mi]

    def _expected(self, mi: int) -> np.ndarray:
        factor = T.SEASONALITY[self.months[mi].month - 1] / 12 * self.scale
        return self.model.expected * (self._active(mi).astype(float) * factor)[:, None]

    def _presence_extras(self) -> dict[int, tuple[np.ndarray, ...]]:
        """One record for each practice that the draws would otherwise leave out of the run."""
        total = np.zeros(self.model.expected.shape[0], np.int64)
        for mi in range(len(self.months)):
            total += _rng(self.seed, 3, mi).poisson(self._expected(mi)).sum(axis=1)
        ever = np.any([self._active(mi) for mi in range(len(self.months))], axis=0)
        absent = np.flatnonzero((total == 0) & ever)
        by_month: dict[int, list[tuple[int, int, int]]] = {}
        cdf = self.pm.nhs_cdf
        for p in absent:
            c = int(np.argmax(self.model.expected[p]))
            cell = self.pm.cell_of_practice[p]
            t = int(np.argmax(np.diff(np.concatenate([[0.0], cdf[cell]]))))
            n_m = len(self.months)
            for k in range(n_m):
                mi = (int(p) + k) % n_m
                if self.plan.exists(t, mi) and self._active(mi)[p]:
                    by_month.setdefault(mi, []).append((int(p), c, t))
                    break
        return {mi: tuple(np.array(x) for x in zip(*v, strict=True)) for mi, v in by_month.items()}

    def month(self, mi: int) -> int:
        month = self.months[mi]
        rng_m = _rng(self.seed, 3, mi)
        counts = rng_m.poisson(self._expected(mi))
        p_idx, c_idx = np.nonzero(counts)
        k = counts[p_idx, c_idx]
        practice, cls = np.repeat(p_idx, k), np.repeat(c_idx, k)
        provider, trust = route_records(self.pm, rng_m, practice, cls)
        if mi in self.extras:
            ep, ec, et = self.extras[mi]
            practice, cls = np.concatenate([practice, ep]), np.concatenate([cls, ec])
            provider, trust = np.concatenate([provider, et]), np.concatenate([trust, et])
        order = np.argsort(provider, kind="stable")
        bounds = np.searchsorted(provider[order], np.arange(len(self.codes) + 1))
        carry_in, self.carry = self.carry, {}
        written = 0
        for t in self.outsourcing.order() if self.outsourcing else range(len(self.codes)):
            sel = order[bounds[t] : bounds[t + 1]]
            written += self._provider_month(t, mi, month, practice[sel], cls[sel], trust[sel], carry_in.get(t, []))
        if self.outsourcing:
            self.outsourcing.end_month()
        return written

    def _provider_month(self, t: int, mi: int, month: date, practice, cls, trust, carry_in) -> int:
        fp = self.plan.files[(t, mi)]
        if fp.missing:
            return 0
        rng = _rng(self.seed, 4, t, mi)
        if fp.volume_factor < 1:
            keep = rng.random(len(practice)) < fp.volume_factor
            practice, cls, trust = practice[keep], cls[keep], trust[keep]
        frame = build_records(self.ctx, rng, t, month, practice, cls, trust)
        if self.outsourcing:
            frame = self.outsourcing.tag(t, frame, trust, cls, self.ctx)
        frame = assign_accessions(frame, rng, month)
        if self.outsourcing:
            frame = self.outsourcing.exchange(t, mi, frame, self.ctx)
        n = frame.height
        extract = np.datetime64(fp.submitted_on - timedelta(days=1))
        true_report = frame["report_date"].to_numpy()
        never = frame["_never_reported"].to_numpy()
        late = np.zeros(n, bool)
        corr = np.zeros(n, bool)
        nxt = self.plan.get(t, mi + 1) if mi + 1 < len(self.months) else None
        blank = never | (true_report > extract)
        if nxt is not None and not nxt.missing:
            next_day = nxt.submitted_on - timedelta(days=1)
            next_extract = np.datetime64(next_day)
            late = rng.random(n) < T.LATE_DATA_SHARE
            cand = np.flatnonzero(~late & blank & (true_report <= next_extract))
            k = min(len(cand), round(T.CORRECTION_SHARE * n))
            corr[rng.choice(cand, size=k, replace=False)] = True
            moved = frame.filter(pl.Series(late)).with_columns(
                report_date=pl.when(pl.col("_never_reported") | (pl.col("report_date") > pl.lit(next_day)))
                .then(None)
                .otherwise(pl.col("report_date")),
                _late=pl.lit(True),
                _correction=pl.lit(False),
            )
            fixed = frame.filter(pl.Series(corr)).with_columns(_late=pl.lit(False), _correction=pl.lit(True))
            self.carry[t] = [
                x.with_columns(_protect=pl.lit(True), _defect=pl.lit(None, pl.String))
                for x in (moved, fixed)
                if x.height
            ]
        own = frame.with_columns(
            report_date=pl.when(pl.Series(blank)).then(None).otherwise(pl.col("report_date")),
            _late=pl.lit(False),
            _correction=pl.lit(False),
            _protect=pl.Series(corr),
        ).filter(~pl.Series(late))
        own = D.plant(own, rng, {d: r[t] for d, r in self.rates.items()}, self.unknown)
        parts = [own] + [x.select(own.columns) for x in carry_in]
        final = pl.concat(parts).sort("test_date", "site_code", "accession_number")
        self._emit(t, mi, fp, final, rng)
        return final.height

    def _emit(self, t: int, mi: int, fp: FilePlan, frame: pl.DataFrame, rng: np.random.Generator) -> None:
        code = self.codes[t]
        period = period_of(self.months[mi])
        name = spec.file_name(code, f"{period:%Y-%m}")
        key = dict(provider_code=code, period=f"{period:%Y-%m}", activity_month=f"{self.months[mi]:%Y-%m}")
        header = bool(self.header[t])
        if fp.resubmit is None:
            planted = write_csv(to_text(frame), self.tmp / name, header)
            self._row(name, key, fp.submitted_on, "late" if fp.late else "regular", frame)
            self.record_defects[name].update(planted)
            return
        again = f"resubmitted/{name}"
        assert fp.resubmitted_on is not None  # planned with its resubmission
        if fp.resubmit == "file_reject":
            # site_code is mandatory: the file is rejected with or without a header
            write_csv(to_text(frame), self.tmp / name, header, drop_column="site_code")
            self._row(name, key, fp.submitted_on, "file_reject", frame)
            self.file_reject.append(
                dict(
                    **key,
                    path=name,
                    columns=spec.N_COLUMNS - 1,
                    submitted_on=f"{fp.submitted_on}",
                    resubmission_path=again,
                )
            )
        else:
            info = dict(
                **key,
                problem=fp.resubmit,
                first_path=name,
                first_submitted_on=f"{fp.submitted_on}",
                path=again,
                submitted_on=f"{fp.resubmitted_on}",
                records_missing=0,
                bad_rows=0,
                bad_rule=None,
            )
            if fp.resubmit == "missing_chunk":
                cut = int(frame.height * rng.uniform(0.15, 0.30))
                first = frame.head(frame.height - cut)
                planted = write_csv(to_text(first), self.tmp / name, header)
                info["records_missing"] = cut
            else:
                first, k, rule = D.bad_batch(frame, rng)
                planted = write_csv(to_text(first, rule), self.tmp / name, header)
                info.update(bad_rows=k, bad_rule=rule)
            self._row(name, key, fp.submitted_on, "regular", first)
            self.record_defects[name].update(bad_batch=info["bad_rows"], **planted)
            self.resubmitted.append(info)
        planted = write_csv(to_text(frame), self.tmp / again, header)
        self._row(again, key, fp.resubmitted_on, "resubmission", frame)
        self.record_defects[again].update(planted)

    def _row(self, path: str, key: dict, submitted_on: date, kind: str, frame: pl.DataFrame) -> None:
        self.rows.append(dict(path=path, **key, submitted_on=f"{submitted_on}", kind=kind, records=frame.height))
        self.record_defects[path] = count(frame)

    def finish(self, first_month: str, last_month: str) -> Manifest:
        kind_rank = {"regular": 0, "late": 0, "file_reject": 0, "resubmission": 1}
        rows = sorted(
            self.rows,
            key=lambda r: (r["submitted_on"], kind_rank[r["kind"]], r["provider_code"], r["period"], r["path"]),
        )
        files = [ManifestFile(order=i + 1, **r) for i, r in enumerate(rows)]
        events: dict[str, list[dict]] = {"missing": [], "late": [], "volume_drop": []}
        for (t, mi), fp in sorted(self.plan.files.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            period = period_of(self.months[mi])
            key = dict(provider_code=self.codes[t], period=f"{period:%Y-%m}", activity_month=f"{self.months[mi]:%Y-%m}")
            if fp.missing:
                events["missing"].append(key)
            elif fp.late:
                events["late"].append(
                    dict(**key, path=spec.file_name(self.codes[t], key["period"]), submitted_on=f"{fp.submitted_on}")
                )
            if fp.volume_factor < 1:
                events["volume_drop"].append(dict(**key, factor=fp.volume_factor))
        planted = dict(
            generator="ingest.synth",
            seed=int(self.seed),
            scale=self.scale,
            clean=self.clean,
            first_month=first_month,
            last_month=last_month,
            **events,
            resubmitted=self.resubmitted,
            file_reject=self.file_reject,
            record_defects=self.record_defects,
            target_rates=dict(T.DEFECT_RATES),
            world=self.world,
            outsourcing=self.outsourcing.planted() if self.outsourcing else None,
        )
        manifest = Manifest(self.tmp, files, planted)
        manifest.write()
        sites = self.pm.sites
        sites.write_csv(self.tmp / "sites.csv", line_terminator="\n")
        self.pm.equipment.write_csv(self.tmp / "equipment.csv", line_terminator="\n")
        if self.outsourcing:
            self.outsourcing.write(self.tmp)
        return manifest
