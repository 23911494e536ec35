"""The fields of one provider-month's records, vectorised.

Given which practice and record class each examination belongs to, this draws everything else:
age and sex (from the practice's age-sex structure and the class's rate profile), the four
dates, the site and accession number, the NICIP code, and the patient and referral fields. The
result is a Polars frame with the 18 DID items typed (dates as `Date`) plus a few hidden `_`
columns used by the file assembly; `writer.py` turns it into text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import numpy as np
import polars as pl

from ingest.synth import targets as T
from ingest.synth.population import PracticeModel
from ingest.synth.procedures import FEMALE_ONLY, MALE_ONLY, SEX_FALLBACK, CodeTable
from ingest.synth.providers import ACUTE_SOURCES, ProviderModel

INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))  # letters used in inward codes
ETHNIC_CODES = np.array(list(T.ETHNIC_MIX), dtype=object)
_ethnic_w = np.array(list(T.ETHNIC_MIX.values()))
ETHNIC_CDF = np.cumsum(_ethnic_w) / _ethnic_w.sum()
_ETHNIC_S = pl.Series([*T.ETHNIC_MIX, "Z", "99"])
_NHS_WEIGHTS = np.arange(10, 1, -1)


@dataclass
class Context:
    """What record building needs that does not change from month to month."""

    model: PracticeModel
    providers: ProviderModel
    wait_median: np.ndarray  # (C,)
    wait_sigma: np.ndarray  # (C,)
    report_median: np.ndarray  # (C,)
    report_sigma: np.ndarray  # (C,)
    ethnic_unknown: np.ndarray  # (providers,) share Z/99
    report_never: np.ndarray  # (providers,) share never reported by extraction
    # string vocabularies as Polars Series, gathered by integer index (no Python strings per record)
    practice_s: pl.Series
    outward_s: pl.Series
    trust_s: pl.Series
    site_s: pl.Series
    site_index: dict[tuple[int, str, bool], tuple[np.ndarray, np.ndarray]]  # -> (site ids, cdf)
    code_s: pl.Series
    class_codes: list[tuple[np.ndarray, np.ndarray]]  # per class: (code ids, cdf)
    code_female_only: np.ndarray  # (vocab,) bool
    code_male_only: np.ndarray
    code_fallback: np.ndarray  # (vocab,) code id to use after repeated wrong-sex draws
    source_s: pl.Series
    class_source_id: np.ndarray  # (C,) index into source_s (and T.SOURCES)
    class_mod_id: np.ndarray  # (C,) index into T.MODALITIES
    class_acute: np.ndarray  # (C,) bool: seen at the acute sites
    inward_s: pl.Series  # all 4,000 inward codes


def build_context(model: PracticeModel, providers: ProviderModel, code_tables: list[CodeTable], seed: int) -> Context:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 6]))
    n_prov = providers.providers.height
    pc = model.practices["postcode"].fill_null("").to_numpy().astype(object)
    outward = np.array([p.split(" ")[0] if p.strip() else "ZZ99" for p in pc], dtype=object)
    wm = np.array([T.REQUEST_WAIT[c.modality][c.source][0] for c in model.classes], float)
    ws = np.array([T.REQUEST_WAIT[c.modality][c.source][1] for c in model.classes], float)
    rm = np.array([T.REPORT_DELAY[c.modality][0] for c in model.classes], float)
    rs = np.array([T.REPORT_DELAY[c.modality][1] for c in model.classes], float)
    lo, hi = T.ETHNIC_NOT_STATED_RANGE
    sites = providers.sites["site_code"].to_list()
    site_id = {c: i for i, c in enumerate(sites)}
    site_index = {k: (np.array([site_id[c] for c in codes]), cdf) for k, (codes, cdf) in providers.site_cdf.items()}
    vocab = sorted({c for t in code_tables for c in t.codes})
    code_id = {c: i for i, c in enumerate(vocab)}
    class_codes = [(np.array([code_id[c] for c in t.codes]), t.cdf) for t in code_tables]
    fallback = np.array([code_id.get(SEX_FALLBACK.get(c[0], c), i) for i, c in enumerate(vocab)])
    inward = [f"{d}{a}{b}" for d in range(10) for a in INWARD_LETTERS for b in INWARD_LETTERS]
    return Context(
        model,
        providers,
        wm,
        ws,
        rm,
        rs,
        rng.uniform(lo, hi, n_prov),
        rng.uniform(0.015, 0.07, n_prov),
        practice_s=model.practices["practice_code"],
        outward_s=pl.Series(outward.astype(str)),
        trust_s=providers.providers["provider_code"],
        site_s=pl.Series(sites, dtype=pl.String),
        site_index=site_index,
        code_s=pl.Series(vocab, dtype=pl.String),
        class_codes=class_codes,
        code_female_only=np.isin(vocab, list(FEMALE_ONLY)),
        code_male_only=np.isin(vocab, list(MALE_ONLY)),
        code_fallback=fallback,
        source_s=pl.Series(list(T.SOURCES)),
        class_source_id=np.array([T.SOURCES.index(c.source) for c in model.classes]),
        class_mod_id=np.array([T.MODALITIES.index(c.modality) for c in model.classes]),
        class_acute=np.array([c.source in ACUTE_SOURCES for c in model.classes]),
        inward_s=pl.Series(inward),
    )


@functools.cache
def bank_holidays(year: int) -> frozenset[date]:
    """England's bank holidays in `year` (the `holidays` package, as the scanner page counts them)."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def _day_cdf(month: date, weekday_share: float) -> np.ndarray:
    """The cumulative share of the month's examinations by day: `weekday_share` spread evenly over
    working days (Monday to Friday but bank holidays), the rest over weekends and bank holidays,
    which run a weekend service (planned work stops; A&E and inpatients carry on)."""
    n = (date(month.year + month.month // 12, month.month % 12 + 1, 1) - month).days
    days = [month + timedelta(days=i) for i in range(n)]
    wd = np.array([d.weekday() < 5 and d not in bank_holidays(d.year) for d in days])
    w = np.where(wd, weekday_share / wd.sum(), (1 - weekday_share) / max((~wd).sum(), 1))
    return np.cumsum(w) / w.sum()


def _floored_lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray, cap: int) -> np.ndarray:
    x = np.exp(np.log(median + 0.5) + sigma * rng.standard_normal(len(median)))
    return np.minimum(np.floor(x), cap).astype(np.int64)


def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid 10-digit NHS numbers (Modulus 11), as int64; first digit 4, 6 or 7."""
    body = rng.choice(np.array([4, 6, 7]), n) * 10**8 + rng.integers(0, 10**8, n)
    check = np.zeros(n, np.int64)
    todo = np.ones(n, bool)
    while todo.any():
        b = body[todo]
        digits = (b[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        c = 11 - (digits @ _NHS_WEIGHTS) % 11
        c = np.where(c == 11, 0, c)
        bad = (c == 10) | (b % 10**8 == 0)  # no check digit, or the N00000000N pattern
        idx = np.flatnonzero(todo)
        check[idx[~bad]] = c[~bad]
        body[idx[bad]] = rng.choice(np.array([4, 6, 7]), bad.sum()) * 10**8 + rng.integers(0, 10**8, bad.sum())
        todo[idx[~bad]] = False
    return body * 10 + check


def _hash7(x: np.ndarray) -> np.ndarray:
    """A fixed scramble of small integers into 7-digit numbers (stable across runs)."""
    return (x.astype(np.int64) * 7_368_787 + 1_234_567) % 10_000_000


def build_records(
    ctx: Context,
    rng: np.random.Generator,
    provider: int,
    month: date,
    practice: np.ndarray,
    cls: np.ndarray,
    trust: np.ndarray,
) -> pl.DataFrame:
    n = len(practice)
    model = ctx.model
    age, sex = model.sample_age_sex(rng, practice, cls)
    mod_id = ctx.class_mod_id[cls]
    src_id = ctx.class_source_id[cls]

    # test date: weekday pattern by patient source
    day = np.zeros(n, np.int64)
    for s in np.unique(src_id):
        m = src_id == s
        day[m] = np.searchsorted(_day_cdf(month, T.WEEKDAY_SHARE[T.SOURCES[s]]), rng.random(m.sum()), side="right")
    start = np.datetime64(month, "D")
    test = start + day
    wait = _floored_lognormal(rng, ctx.wait_median[cls], ctx.wait_sigma[cls], T.REQUEST_WAIT_MAX_DAYS)
    request = test - wait
    lag = np.searchsorted(np.array([0.6, 0.85, 0.95, 1.0]), rng.random(n), side="right")
    received = request + np.minimum(lag, wait)
    delay = _floored_lognormal(rng, ctx.report_median[cls], ctx.report_sigma[cls], T.REPORT_DELAY_MAX_DAYS)
    report = test + delay
    never = rng.random(n) < ctx.report_never[provider]

    # site: by modality; inpatient and A&E work at the acute sites
    site = np.zeros(n, np.int64)
    acute = ctx.class_acute[cls]
    for m_ in np.unique(mod_id):
        for a in (False, True):
            sel = (mod_id == m_) & (acute == a)
            if sel.any():
                ids, cdf = ctx.site_index[(provider, T.MODALITIES[m_], a)]
                site[sel] = ids[np.searchsorted(cdf, rng.random(sel.sum()), side="right").clip(0, len(ids) - 1)]

    # NICIP code by class, then sex-specific codes redrawn from the same class (keeps its mix and
    # test group); a fallback only after repeated bad luck
    code = np.zeros(n, np.int64)

    def draw(sel: np.ndarray) -> None:
        for c in np.unique(cls[sel]):
            part = sel & (cls == c)
            ids, cdf = ctx.class_codes[c]
            code[part] = ids[np.searchsorted(cdf, rng.random(int(part.sum())), side="right").clip(0, len(ids) - 1)]

    draw(np.ones(n, bool))
    for _ in range(6):
        wrong = (ctx.code_female_only[code] & (sex == 0)) | (ctx.code_male_only[code] & (sex == 1))
        if not wrong.any():
            break
        draw(wrong)
    else:
        code[wrong] = ctx.code_fallback[code[wrong]]

    # birth date: exactly `age` whole years at the test date
    years = age + np.where(age >= 95, np.minimum(rng.exponential(3, n), 10).astype(int), 0)
    ty = test.astype("datetime64[Y]")
    tm = test.astype("datetime64[M]")
    anchor_month = (ty - years.astype("timedelta64[Y]")).astype("datetime64[M]") + (tm - ty.astype("datetime64[M]"))
    dom = test - tm.astype("datetime64[D]")
    anchor = anchor_month.astype("datetime64[D]") + dom
    slipped = anchor.astype("datetime64[M]") != anchor_month  # 29 Feb in a common year
    anchor = np.where(slipped, anchor_month.astype("datetime64[D]") + dom - 1, anchor)
    birth = anchor - rng.integers(0, 365, n)
    birth = np.minimum(birth, request + 180)  # babies: born at most 6 months after the request

    gender = np.where(sex == 1, 2, 1)
    odd = rng.random(n)
    gender[odd < 0.0005] = 0
    gender[(odd >= 0.0005) & (odd < 0.001)] = 9

    ethnic = np.searchsorted(ETHNIC_CDF, rng.random(n), side="right").clip(0, len(ETHNIC_CODES) - 1)
    unknown = rng.random(n) < ctx.ethnic_unknown[provider]
    ethnic = np.where(unknown, np.where(rng.random(n) < 0.6, len(ETHNIC_CODES), len(ETHNIC_CODES) + 1), ethnic)

    gpda = pl.Series(src_id == T.SOURCES.index("04"))
    gp_ref = "G" + pl.Series(_hash7(practice * 8 + rng.integers(0, 8, n))).cast(pl.String).str.zfill(7)
    consultant = _hash7(1_000_003 + provider * 512 + rng.integers(0, 300, n))
    cons_ref = "C" + pl.Series(consultant).cast(pl.String).str.zfill(7)
    practice_g = ctx.practice_s.gather(practice)
    inward = ctx.inward_s.gather(rng.integers(0, len(ctx.inward_s), n))
    nhs = nhs_numbers(rng, n)
    frame = pl.DataFrame(
        {
            "nhs_number": pl.Series(nhs).cast(pl.String).str.zfill(10),
            "nhs_number_status": pl.Series(np.where(rng.random(n) < 0.98, 1, 2)).cast(pl.String).str.zfill(2),
            "birth_date": birth.astype("datetime64[D]"),
            "ethnic_category": _ETHNIC_S.gather(ethnic),
            "gender": pl.Series(gender).cast(pl.String),
            "postcode": ctx.outward_s.gather(practice) + " " + inward,
            "practice_code": practice_g,
            "patient_source": ctx.source_s.gather(ctx.class_source_id[cls]),
            "referrer_code": gp_ref.zip_with(gpda, cons_ref),
            "referring_org_code": practice_g.zip_with(gpda, ctx.trust_s.gather(trust)),
            "request_date": request,
            "request_received_date": received,
            "test_date": test,
            "nicip_code": ctx.code_s.gather(code),
            "snomed_code": pl.Series([None] * n, dtype=pl.String),
            "report_date": report,
            "site_code": ctx.site_s.gather(site),
            "accession_number": pl.Series([None] * n, dtype=pl.String),
            "_never_reported": never,
            "_age": age,
        }
    )
    return frame


def assign_accessions(frame: pl.DataFrame, rng: np.random.Generator, month: date, tag: str = "") -> pl.DataFrame:
    """Accession numbers unique per site: site + yymm + optional tag + sequence in test-date order."""
    yymm = f"{month.year % 100:02d}{month.month:02d}{tag}"
    frame = frame.with_columns(_r=pl.Series(rng.random(frame.height))).sort("site_code", "test_date", "_r")
    seq = frame.select(pl.int_range(1, pl.len() + 1).over("site_code")).to_series()
    return frame.with_columns(
        accession_number=pl.col("site_code") + pl.lit(yymm) + seq.cast(pl.String).str.zfill(6)
    ).drop("_r")
