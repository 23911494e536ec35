"""Outsourcing arrangements planted in a synthetic run, and what they do to the files (issue 24).

An independent-sector provider (`NX1`..`NX6`, providers.py) images patients for the trust that
would otherwise have done it. The trusts sending a performer the most work hold an
**arrangement** with it (`ARRANGEMENTS_PER_PERFORMER`, `MIN_ARRANGED_SHARE`; in force for the
whole run), and for the arranged activity the DID's "either you or the other organisation
submits it" goes wrong two ways (calibration.md "Outsourced imaging"):

- **Double submitted**: a share of the examinations (`DOUBLE_SHARE`, drawn per arrangement) is
  also sent by the commissioning trust — the same patient, NICIP code and dates, at one of the
  trust's own sites (DIDSX01) with the trust's accession number; the test date is the same day or
  one day either side (the booked date against the date scanned). `ingest.duplicates` should
  pair every such copy.
- **Never submitted**: in an arrangement-month dropped (`NEVER_SUBMITTED_MONTH_SHARE` of the
  months with enough history, at least one a run of `GAP_HISTORY` + 1 months or more), neither
  party sends any of the arranged work. Both sides think the other sends it; the Outsourced
  imaging page shows the month as a gap.

The performer's records are made first in each month (`order`), so a copy is ready when its
commissioner's file is built. It draws from streams of its own (`SeedSequence([seed, 11])` for
the arrangements, `[seed, 11, performer, month]` for a month's copies), so the same seed plants
the same, and the files of providers in no arrangement are what they would be without it. What
was planted goes into planted.json (`outsourcing`: the arrangements, rates and counts per
arrangement-month), `outsourced_pairs.csv` (both copies of every double submission written, by
site and accession number, with the NICIP code and test dates) and `outsourcing.csv` (the
arrangements, in the form `did reference load-outsourcing` reads). A `clean` run plants none of it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from ingest.synth import targets as T
from ingest.synth.population import PracticeModel
from ingest.synth.providers import IS_SHARE, ProviderModel
from ingest.synth.records import Context, assign_accessions

# The trusts sending a performer at least a tenth of its work, at most three of them, hold an
# arrangement with it (E): a regional independent provider holds contracts with a few trusts; the
# rest of its work comes from smaller flows (spot purchases, ICB-commissioned direct access).
ARRANGEMENTS_PER_PERFORMER = 3
MIN_ARRANGED_SHARE = 0.10
DOUBLE_SHARE = (0.05, 0.15)  # per arrangement, uniform: mean 10% (E)
NEVER_SUBMITTED_MONTH_SHARE = 0.03  # of arrangement-months with GAP_HISTORY months before them (E)
# The gap rule (queries.duplicates) needs three earlier months of activity to see a gap.
GAP_HISTORY = 3
DATE_OFFSET = {0: 0.8, 1: 0.1, -1: 0.1}  # commissioner's test date minus the performer's (E)
ARRANGEMENTS_FILE = "outsourcing.csv"
PAIRS_FILE = "outsourced_pairs.csv"
PAIR_COLUMNS = (
    "activity_month",
    "performer_code",
    "performer_site",
    "performer_accession",
    "performer_test_date",
    "commissioner_code",
    "commissioner_site",
    "commissioner_accession",
    "date_offset",
    "nicip_code",
)
_TAGS = ("_trust", "_mod")


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(key)))


def _flows(model: PracticeModel, pm: ProviderModel) -> np.ndarray:
    """(trusts, providers) expected records a year each trust refers to each independent provider:
    the share `route_records` sends there of the work the trust would have done."""
    n_trust = pm.nhs_cdf.shape[1]
    route = np.diff(np.concatenate([np.zeros((pm.nhs_cdf.shape[0], 1)), pm.nhs_cdf], axis=1), axis=1)
    e_cell = np.zeros(route.shape[0])
    np.add.at(e_cell, pm.cell_of_practice, model.expected[:, pm.is_class].sum(axis=1))
    flows = np.zeros((n_trust, len(pm.codes)))
    for cell in np.flatnonzero(pm.is_of_cell >= 0):
        flows[:, pm.is_of_cell[cell]] += IS_SHARE * e_cell[cell] * route[cell]
    return flows


@dataclass
class Outsourcing:
    """The arrangements of one run and what was planted so far."""

    codes: list[str]
    months: list[date]
    seed: int
    arrangements: dict[tuple[int, int], float]  # (commissioner, performer) -> double-submitted share
    dropped: set[tuple[int, int, int]]  # (commissioner, performer, month index): never submitted
    pending: dict[int, list[pl.DataFrame]] = field(default_factory=dict)  # copies for a commissioner
    counts: dict[tuple[int, int, int], dict[str, int]] = field(default_factory=dict)
    pairs: list[tuple] = field(default_factory=list)

    @property
    def performers(self) -> set[int]:
        return {p for _, p in self.arrangements}

    def order(self) -> list[int]:
        """Providers in the order a month is built: performers first, so copies are ready."""
        first = sorted(self.performers)
        return first + [t for t in range(len(self.codes)) if t not in self.performers]

    def tag(self, t: int, frame: pl.DataFrame, trust: np.ndarray, cls: np.ndarray, ctx: Context) -> pl.DataFrame:
        """A performer's records, marked with the trust each was done for and its modality (the
        rows are reordered before `exchange` reads them)."""
        if t not in self.performers:
            return frame
        return frame.with_columns(
            _trust=pl.Series(trust, dtype=pl.Int64), _mod=pl.Series(ctx.class_mod_id[cls], dtype=pl.Int64)
        )

    def exchange(self, t: int, mi: int, frame: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        """A provider-month's records after outsourcing: a performer loses its never-submitted
        months and hands copies to its commissioners; a commissioner gains the copies handed to it."""
        if t in self.performers:
            frame = self._perform(t, mi, frame, ctx)
        copies = self.pending.pop(t, [])
        if not copies:
            return frame
        for c in copies:
            self.pairs.extend(c.select(PAIR_COLUMNS).iter_rows())
            self.counts[(t, int(c["_performer"][0]), mi)]["double_submitted"] += c.height
        return pl.concat([frame, *(c.select(frame.columns) for c in copies)])

    def _perform(self, t: int, mi: int, frame: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        rng = _rng(self.seed, 11, t, mi)
        trust = frame["_trust"].to_numpy()
        keep = np.ones(frame.height, bool)
        for (c, p), share in sorted(self.arrangements.items()):
            if p != t:
                continue
            mine = trust == c
            self.counts[(c, p, mi)] = dict(arranged=int(mine.sum()), double_submitted=0, never_submitted=0)
            if (c, p, mi) in self.dropped:
                keep &= ~mine
                self.counts[(c, p, mi)]["never_submitted"] = int(mine.sum())
                continue
            twice = mine & (rng.random(frame.height) < share)
            if twice.any():
                self.pending.setdefault(c, []).append(self._copies(frame.filter(pl.Series(twice)), rng, c, t, mi, ctx))
        return frame.filter(pl.Series(keep)).drop(_TAGS)

    def _copies(
        self, src: pl.DataFrame, rng: np.random.Generator, c: int, p: int, mi: int, ctx: Context
    ) -> pl.DataFrame:
        """The commissioner's copies of some performer records: its own site and accession number,
        the test date moved a day where the month and the record's other dates allow."""
        n = src.height
        month = self.months[mi]
        first, last = np.datetime64(month, "D"), np.datetime64(_next_month(month), "D") - 1
        offsets = np.array(list(DATE_OFFSET))
        offset = offsets[
            np.searchsorted(np.cumsum(list(DATE_OFFSET.values())), rng.random(n), side="right").clip(
                0, len(offsets) - 1
            )
        ]
        test = src["test_date"].to_numpy().astype("datetime64[D]")
        moved = test + offset
        earliest = np.maximum.reduce(
            [
                src[col].to_numpy().astype("datetime64[D]")
                for col in ("request_date", "request_received_date", "birth_date")
            ]
        )
        offset = np.where((moved < first) | (moved > last) | (moved < earliest), 0, offset)
        site = np.zeros(n, np.int64)
        mods = src["_mod"].to_numpy()
        for m in np.unique(mods):
            sel = mods == m
            ids, cdf = ctx.site_index[(c, T.MODALITIES[m], False)]
            site[sel] = ids[np.searchsorted(cdf, rng.random(int(sel.sum())), side="right").clip(0, len(ids) - 1)]
        copies = src.with_columns(
            performer_site=pl.col("site_code"),
            performer_accession=pl.col("accession_number"),
            performer_test_date=pl.col("test_date"),
            test_date=pl.col("test_date") + pl.duration(days=pl.lit(pl.Series(offset, dtype=pl.Int64))),
            site_code=ctx.site_s.gather(site),
            date_offset=pl.Series(offset, dtype=pl.Int64),
        ).with_columns(report_date=pl.max_horizontal("report_date", "test_date"))
        copies = assign_accessions(copies, rng, month, tag="X")
        return copies.with_columns(
            activity_month=pl.lit(f"{month:%Y-%m}"),
            performer_code=pl.lit(self.codes[p]),
            commissioner_code=pl.lit(self.codes[c]),
            commissioner_site=pl.col("site_code"),
            commissioner_accession=pl.col("accession_number"),
            _performer=pl.lit(p),
        )

    def end_month(self) -> None:
        """Copies for a commissioner whose file is missing this month were never sent."""
        self.pending.clear()

    def planted(self) -> dict:
        """What planted.json records: arrangements, rates and counts per arrangement-month."""
        return dict(
            arrangements=[
                dict(
                    provider_code=self.codes[c],
                    performing_org_code=self.codes[p],
                    from_month=f"{self.months[0]:%Y-%m}",
                    to_month=None,
                    double_share=round(share, 4),
                )
                for (c, p), share in sorted(self.arrangements.items())
            ],
            months=[
                dict(
                    provider_code=self.codes[c],
                    performing_org_code=self.codes[p],
                    activity_month=f"{self.months[mi]:%Y-%m}",
                    **n,
                )
                for (c, p, mi), n in sorted(self.counts.items(), key=lambda kv: (kv[0][2], kv[0][:2]))
            ],
            never_submitted=[
                dict(
                    provider_code=self.codes[c],
                    performing_org_code=self.codes[p],
                    activity_month=f"{self.months[mi]:%Y-%m}",
                )
                for c, p, mi in sorted(self.dropped)
            ],
            double_submitted=len(self.pairs),
            pairs_file=PAIRS_FILE,
            arrangements_file=ARRANGEMENTS_FILE,
        )

    def write(self, out: Path) -> None:
        """outsourcing.csv (the arrangements, as `did reference load-outsourcing` reads them) and
        outsourced_pairs.csv (every double submission written, both copies)."""
        with open(out / ARRANGEMENTS_FILE, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["provider_code", "performing_org_code", "from_month", "to_month"])
            for c, p in sorted(self.arrangements):
                w.writerow([self.codes[c], self.codes[p], f"{self.months[0]:%Y-%m}", ""])
        pl.DataFrame(self.pairs, schema=list(PAIR_COLUMNS), orient="row").sort(
            "activity_month", "performer_code", "performer_accession"
        ).write_csv(out / PAIRS_FILE, line_terminator="\n")


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def plan_outsourcing(
    model: PracticeModel, pm: ProviderModel, months: list[date], seed: int, clean: bool
) -> Outsourcing | None:
    """The run's arrangements and never-submitted months (None for a clean run or a world with
    no independent provider)."""
    flows = _flows(model, pm)
    if clean or not flows.any():
        return None
    rng = _rng(seed, 11)
    arrangements: dict[tuple[int, int], float] = {}
    for p in np.flatnonzero(flows.sum(axis=0) > 0):
        share = flows[:, p] / flows[:, p].sum()
        biggest = [
            int(c)
            for c in np.argsort(-share, kind="stable")[:ARRANGEMENTS_PER_PERFORMER]
            if share[c] >= MIN_ARRANGED_SHARE
        ]
        for c in sorted(biggest):
            arrangements[(c, int(p))] = float(rng.uniform(*DOUBLE_SHARE))
    eligible = [(c, p, mi) for (c, p) in sorted(arrangements) for mi in range(GAP_HISTORY, len(months))]
    dropped = {e for e in eligible if rng.random() < NEVER_SUBMITTED_MONTH_SHARE}
    if eligible and not dropped:
        dropped = {eligible[int(rng.integers(len(eligible)))]}
    return Outsourcing(pm.codes, months, seed, arrangements, dropped)
