"""Planted record-level defects, each one aimed at a DIDS rule (did-dataset.md §3.3).

Rates are provider-specific (calibration.md "Defects"): about a quarter of providers never make a
given mistake, most make it at around the national rate, a few at several times it; the rates
are then scaled so the volume-weighted average is the target. Each record carries at most one
planted defect, so the counts in planted.json are exact.

| defect | what is written | rule it triggers |
|---|---|---|
| nhs_number_missing | NHS number empty, status 03/04/05/07 | (DQ measure; not a reject alone) |
| nhs_number_invalid | last digit changed: fails Modulus 11 | DIDS001 |
| referrer_malformed | e.g. 'DR SMITH', '12345678' | DIDS023 (warning) |
| date_order | request after test, report before test, or received before request | DIDS034 / 048 / 027 |
| unknown_procedure | a local code not in the NICIP list | DIDS057 |
| duplicate_accession | a second record reusing a (site, accession) pair | DIDS071 |

The first file of a 'bad_batch' resubmission also carries a contiguous batch of bad rows:
patient source missing (DIDS020) or the test date written DD/MM/YYYY (DIDS045).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ingest.synth import targets as T

DEFECTS: tuple[str, ...] = tuple(T.DEFECT_RATES)
MALFORMED_REFERRERS = np.array(["DR SMITH", "UNKNOWN", "12345678", "G12A4567", "GP", "C123", "c1234567"])
MISSING_STATUS = np.array(["03", "04", "05", "07"])


def provider_defect_rates(seed: int, volume: np.ndarray, clean: bool) -> dict[str, np.ndarray]:
    """Per-provider rate of each defect, volume-weighted mean = the target (all zero if clean)."""
    n = len(volume)
    if clean:
        return {d: np.zeros(n) for d in DEFECTS}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    out = {}
    for d in DEFECTS:
        kind = rng.random(n)
        f = np.where(kind < 0.25, 0.0, rng.gamma(4.0, 0.25, n))  # clean, or typical
        f = np.where(kind > 0.92, rng.uniform(3, 6, n), f)  # poor
        f = f * T.DEFECT_RATES[d] * volume.sum() / max((f * volume).sum(), 1e-12)
        out[d] = np.minimum(f, 0.2)
    return out


def plant(
    frame: pl.DataFrame, rng: np.random.Generator, rates: dict[str, float], unknown_codes: np.ndarray
) -> pl.DataFrame:
    """Add a `_defect` label column and rewrite the labelled records. Rows with `_protect` are left alone."""
    n = frame.height
    p = np.array([rates[d] for d in DEFECTS])
    label = np.full(n, None, dtype=object)
    if n == 0 or p.sum() == 0:
        return frame.with_columns(_defect=pl.Series(label.tolist(), dtype=pl.String))
    cdf = np.cumsum(p)
    u = rng.random(n)
    which = np.searchsorted(cdf, u, side="right")
    hit = (which < len(DEFECTS)) & ~frame["_protect"].to_numpy()
    label[hit] = np.array(DEFECTS, dtype=object)[which[hit]]

    # duplicates need a same-site, unlabelled record just before them in accession order
    order = np.lexsort((frame["accession_number"].to_numpy(), frame["site_code"].to_numpy()))
    site_sorted = frame["site_code"].to_numpy()[order]
    acc = frame["accession_number"].to_numpy().astype(object).copy()
    for k in np.flatnonzero(label[order] == "duplicate_accession"):
        i = order[k]
        j = order[k - 1] if k > 0 else -1
        if j < 0 or site_sorted[k - 1] != site_sorted[k] or label[j] is not None or frame["_protect"][int(j)]:
            label[i] = None
            continue
        acc[i] = acc[j]

    lab = pl.Series(label.tolist(), dtype=pl.String)
    # date order: 0 request after test, 1 report before test (needs a report, age >= 1),
    # 2 received before request
    kind = rng.integers(0, 3, n)
    has_report = frame["report_date"].is_not_null().to_numpy()
    kind = np.where((kind == 1) & ~(has_report & (frame["_age"].to_numpy() >= 1)), 0, kind)
    is_date = label == "date_order"
    shift = rng.integers(1, 6, n).astype("timedelta64[D]")
    short = np.minimum(shift, np.timedelta64(3, "D"))
    test = frame["test_date"].to_numpy()
    req = frame["request_date"].to_numpy()
    dates = {
        "request_date": np.where(is_date & (kind == 0), test + shift, req),
        "report_date": np.where(is_date & (kind == 1), test - short, frame["report_date"].to_numpy()),
        "request_received_date": np.where(
            is_date & (kind == 2), req - short, frame["request_received_date"].to_numpy()
        ),
    }
    bad_digit = (
        (
            frame["nhs_number"].str.slice(9, 1).cast(pl.Int64, strict=False).fill_null(0)
            + pl.Series(rng.integers(1, 10, n))
        )
        % 10
    ).cast(pl.String)
    return frame.with_columns(
        _defect=lab,
        accession_number=pl.Series(acc.astype(str)),
        nhs_number=pl.when(lab == "nhs_number_missing")
        .then(None)
        .when(lab == "nhs_number_invalid")
        .then(pl.col("nhs_number").str.slice(0, 9) + bad_digit)
        .otherwise(pl.col("nhs_number")),
        nhs_number_status=pl.when(lab == "nhs_number_missing")
        .then(pl.Series(MISSING_STATUS[rng.integers(0, 4, n)]))
        .when(lab == "nhs_number_invalid")
        .then(pl.lit("02"))
        .otherwise(pl.col("nhs_number_status")),
        referrer_code=pl.when(lab == "referrer_malformed")
        .then(pl.Series(MALFORMED_REFERRERS[rng.integers(0, len(MALFORMED_REFERRERS), n)]))
        .otherwise(pl.col("referrer_code")),
        nicip_code=pl.when(lab == "unknown_procedure")
        .then(pl.Series(unknown_codes[rng.integers(0, len(unknown_codes), n)].astype(str)))
        .otherwise(pl.col("nicip_code")),
        **{k: pl.Series(v).cast(pl.Date) for k, v in dates.items()},
    )


def bad_batch(frame: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, int, str]:
    """A contiguous batch of 2-5% of rows (at least 5) made bad, in file order. Returns (frame, rows, rule)."""
    n = frame.height
    k = min(n, max(5, int(n * rng.uniform(0.02, 0.05))))
    start = int(rng.integers(0, max(n - k, 0) + 1))
    mask = np.zeros(n, bool)
    mask[start : start + k] = True
    rule = "DIDS020" if rng.random() < 0.5 else "DIDS045"
    return frame.with_columns(_bad=pl.Series(mask)), int(mask.sum()), rule
