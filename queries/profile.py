"""The provider profile: one provider's activity, waits, capacity, data quality and dose against
its peers and England, for ISAS accreditation and CQC inspection (issue 23).

Every figure comes from the query function behind the page that shows it — waits
(queries/waits.py), by urgency (urgency.py), report turnaround (turnaround.py), the diagnostic
waiting list (waiting_list.py), scanner utilisation and productivity (equipment.py,
productivity.py), submission timeliness (completeness.py), data quality (quality.py) — called with
the user's scope, so the pack and the pages show the same numbers with the same disclosure
control. Two figures have no page of their own and are counted here: activity by modality,
patient source and month (rollup_activity), and examinations by HPA examination group with
their typical dose (dose.examination_group; the provider's own records, narrowed by provider).
Both are perturbed as soon as they are read, named by the provider and what is counted, and
protected like every other count.

Peers (queries/peers.py): the 10 providers nearest in size and case mix. Their figures are asked
for with a scope covering just them — for the central team the exact figures; for everyone else
the figures each peer's own users see, perturbed and suppressed — and only their quartiles are
shown, and only when at least five peers have a figure (quality.PEER_MIN_PROVIDERS), so no peer's
figure can be read off. "Outside the peer range" means below the lower or above the upper
quartile by more than a margin (MARGIN_TEXT): outside the middle half of the peers.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial

import polars as pl

from did_errors import UsageError
from did_model.frames import each_row
from did_model.scope import CENTRAL, Scope, ScopeError
from did_model.spec import PATIENT_SOURCE_SETTING
from did_months import add_months
from queries import completeness, equipment, peers, productivity, quality, spc, turnaround, urgency, waiting_list, waits
from queries.connection import Snapshot, has_tables
from queries.disclosure import perturb, protect
from queries.dose import examination_group
from queries.headline import UNKNOWN_MODALITY
from queries.official import months_held, provider_names, rollup_source

ENGLAND = waits.ENGLAND
TREND_MONTHS = 24
SCANNER_MODALITIES = equipment.PRIORITY_MODALITIES  # MRI and CT, as the scanner page leads with
NOT_KNOWN_SOURCE = "Not known"
USC = urgency.PRIORITIES["3"]  # urgent suspected cancer, beside its peers
PROFILE_THREADS = 2  # the pack's sections read side by side (build_profile)


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str  # count | days | share | rate | score | msv
    higher_is_better: bool | None  # None: neither (activity)


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("examinations", "Examinations", "count", None),
        Measure("median_request_to_test", "Median wait, request to test (days)", "days", False),
        Measure("median_test_to_report", "Median wait, test to report (days)", "days", False),
        Measure(
            "median_usc_request_to_procedure",
            "Urgent suspected cancer: median wait, request to procedure (days)",
            "days",
            False,
        ),
        Measure("share_within_28d", "Reported within 4 weeks", "share", True),
        Measure("share_six_weeks_or_more", "Waiting list: waited 6 weeks or more", "share", False),
        *(
            Measure(f"exams_per_scanner_per_day:{m}", f"{m} examinations per scanner per operating day", "rate", True)
            for m in SCANNER_MODALITIES
        ),
        *(
            Measure(f"utilisation:{m}", f"{m} estimated use of scheduled hours", "share", True)
            for m in SCANNER_MODALITIES
        ),
        *(
            Measure(
                f"scans_per_scanner_hour:{m}",
                f"{m} scans per scanner-hour (guidance {productivity.GUIDANCE_BANDS[m][0]:g}–"
                f"{productivity.GUIDANCE_BANDS[m][1]:g})",
                "rate",
                True,
            )
            for m in SCANNER_MODALITIES
        ),
        Measure("on_time", "Monthly files on time", "share", True),
        Measure("dqmi", "Data quality score (out of 100)", "score", True),
        Measure("dose_per_examination", "Typical dose per examination with a dose (mSv)", "msv", False),
    )
}


@dataclass(frozen=True)
class Window:
    """The activity months of the pack, first to last."""

    first: date
    last: date

    @property
    def periods(self) -> tuple[date, date]:
        """The submission months that carry the activity months (the month after each)."""
        return add_months(self.first, 1), add_months(self.last, 1)


@dataclass(frozen=True)
class Coverage:
    months: int = 0  # activity months held in the window
    months_asked: int = 0
    provider_periods_included: int = 0  # the provider's submission months with an accepted file
    provider_periods_expected: int = 0
    providers_included: int = 0  # England, for the window's last submission month
    providers_expected: int = 0


@dataclass
class Profile:
    provider: str
    provider_name: str
    window: Window
    scope: Scope
    peer_codes: list[str]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    urgency_months: tuple[date, date] | None = None
    coverage: Coverage = field(default_factory=Coverage)
    summary: str = ""


# --- the figures no page shows: activity and dose by provider -----------------------------------


def _query(snap: Snapshot, sql: str, params: dict) -> pl.DataFrame:
    """`snap.query` with the parameters the statement names (DuckDB refuses any other)."""
    return snap.query(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _check(scope: Scope, providers: list[str]) -> None:
    for code in providers:
        scope.check_provider(code)


ACTIVITY_BY = {"modality": "coalesce(modality, $unknown)", "source": "coalesce(patient_source, $unknown)"}


def provider_activity(
    snap: Snapshot, scope: Scope, providers: list[str], window: Window, by: str | None = None
) -> pl.DataFrame:
    """Examinations per provider (and per `by`: 'modality', 'source' or 'month') in the window,
    after an England row set (every provider): provider_code, [key,] examinations, and with `by`
    the share of the provider's examinations. Each cell is perturbed for non-central scopes (named
    by provider, the window and the key; a month cell by its month alone) and protected."""
    _check(scope, providers)
    key = {"modality": "modality", "source": "patient_source", "month": "activity_month"}.get(by or "")
    if by is not None and key is None:
        raise UsageError(f"unknown activity breakdown {by!r}; one of modality, source, month")
    select = "" if key is None else ("activity_month, " if by == "month" else f"{ACTIVITY_BY[by or '']} AS {key}, ")
    params = {"first": window.first, "last": window.last, "unknown": UNKNOWN_MODALITY, "providers": providers}
    sql = f"""
        SELECT {{who}} AS provider_code, {select} sum(records)::BIGINT AS examinations
        FROM rollup_activity
        WHERE activity_month BETWEEN $first AND $last {{where}}
        GROUP BY ALL
    """
    own = _query(snap, sql.format(who="provider_code", where="AND list_contains($providers, provider_code)"), params)
    england = _query(snap, sql.format(who=f"'{ENGLAND}'", where=""), params)
    frame = pl.concat([england, own.select(england.columns)]) if own.height else england
    if key == "patient_source":
        frame = frame.with_columns(pl.col(key).replace(UNKNOWN_MODALITY, NOT_KNOWN_SOURCE))
    keys = ["provider_code", *([key] if key else [])]
    bounds = [] if by == "month" else [window.first, window.last]
    frame = perturb(
        snap, frame, scope, counts=["examinations"], keys=keys, context=("provider profile activity", by, *bounds)
    )
    if key is not None:
        frame = frame.with_columns(
            (pl.col("examinations") / pl.col("examinations").sum().over("provider_code")).alias("share")
        )
    order = pl.when(pl.col("provider_code") == ENGLAND).then(0).otherwise(1)
    frame = frame.sort([order, *keys])
    return protect(frame, scope, counts=["examinations"], derived={"examinations": ["share"]} if key else {})


def provider_dose(snap: Snapshot, scope: Scope, providers: list[str], window: Window) -> pl.DataFrame:
    """Examinations with a typical dose per provider and HPA examination group in the window
    (queries/dose.py's groups and 2008 doses), after England's: provider_code, modality,
    examination, typical_dose_msv, examinations, collective_dose_msv. The providers' from
    rollup_official_dose_by_provider, England's from rollup_official_dose (its sum over
    providers): each examination counted once, an outsourced one submitted twice included (ADR
    0010), as every other page counts. Counts perturbed (named by provider, window and group)
    and protected; the collective dose is the published count × the typical dose."""
    _check(scope, providers)
    params = {"first": window.first, "last": window.last, "unknown": UNKNOWN_MODALITY, "providers": providers}
    select = """
        SELECT {who} AS provider_code, coalesce(d.modality, $unknown) AS modality, n.body_area, n.dose_msv,
               {count} AS records
        FROM {source} d JOIN ref_nicip n ON n.nicip_code = d.nicip_code
        WHERE d.activity_month BETWEEN $first AND $last AND n.dose_msv IS NOT NULL {where}
        GROUP BY ALL
    """
    own = _query(
        snap,
        select.format(
            who="d.provider_code",
            count="sum(d.records)::BIGINT",
            source=rollup_source(snap, "rollup_official_dose_by_provider"),
            where="AND list_contains($providers, d.provider_code)",
        ),
        params,
    )
    england = _query(
        snap,
        select.format(
            who=f"'{ENGLAND}'",
            count="sum(d.records)::BIGINT",
            source=rollup_source(snap, "rollup_official_dose"),
            where="",
        ),
        params,
    )
    frame = pl.concat([england, own]) if own.height else england
    schema = {
        "provider_code": pl.String,
        "modality": pl.String,
        "examination": pl.String,
        "typical_dose_msv": pl.Float64,
        "examinations": pl.Int64,
    }
    if frame.is_empty():
        return pl.DataFrame(schema={**schema, "collective_dose_msv": pl.Float64})
    grouped = (
        frame.with_columns(each_row(frame, ["modality", "body_area", "dose_msv"], examination_group, "examination"))
        .group_by("provider_code", "modality", "examination", "dose_msv")
        .agg(pl.col("records").sum().cast(pl.Int64).alias("examinations"))
        .rename({"dose_msv": "typical_dose_msv"})
    )
    grouped = perturb(
        snap,
        grouped,
        scope,
        counts=["examinations"],
        keys=["provider_code", "examination", "typical_dose_msv"],
        context=("provider profile dose", window.first, window.last),
    )
    order = pl.when(pl.col("provider_code") == ENGLAND).then(0).otherwise(1)
    table = protect(
        grouped.sort([order, "provider_code", "modality", "typical_dose_msv", "examination"]), scope, ["examinations"]
    )
    return table.with_columns((pl.col("examinations") * pl.col("typical_dose_msv")).alias("collective_dose_msv"))


def dose_per_examination(dose: pl.DataFrame, code: str) -> float | None:
    """Collective dose ÷ examinations with a typical dose, over the published rows of one provider."""
    rows = dose.filter((pl.col("provider_code") == code) & pl.col("examinations").is_not_null())
    n = int(rows["examinations"].sum())
    return float(rows["collective_dose_msv"].sum()) / n if n else None


# --- asking the same question of the provider, its peers and England ----------------------------


@dataclass(frozen=True)
class Figures:
    provider: float | None
    peers: list[float]
    england: float | None


def _value(frame: pl.DataFrame, code: str, column: str) -> float | None:
    rows = frame.filter(pl.col("provider_code") == code)
    if rows.is_empty() or column not in rows.columns:
        return None
    value = rows[column][0]
    return None if value is None else float(value)


@dataclass(frozen=True)
class _Ask:
    snap: Snapshot
    scope: Scope
    provider: str
    peer_codes: list[str]

    @property
    def peer_scope(self) -> Scope | None:
        """Central: exact figures. Others: each peer's figures as its own users see them."""
        if self.scope.is_central:
            return CENTRAL
        if not self.peer_codes:
            return None
        return Scope("provider", providers=frozenset(self.peer_codes), user=f"{self.scope.user} (peer comparison)")

    def codes_for(self, scope: Scope) -> list[str]:
        """The providers a table is asked about under `scope`: the user's asks for the provider
        (and, for the central team, its peers too), the peer scope's for the peers."""
        if scope.is_central:
            return [self.provider, *self.peer_codes]
        return [self.provider] if scope is self.scope else list(self.peer_codes)

    def figures(
        self, table_for: Callable[[Scope], pl.DataFrame], columns: list[str]
    ) -> tuple[dict[str, Figures], pl.DataFrame]:
        """`table_for(scope)` is a by-provider table (England row first); the provider's and
        England's figures come from the user's own table, the peers' from the peer scope's."""
        mine = table_for(self.scope)
        peer_scope = self.peer_scope
        theirs = mine
        if not self.scope.is_central:
            theirs = table_for(peer_scope) if peer_scope else mine.head(0)
        out = {}
        for column in columns:
            values = [_value(theirs, code, column) for code in self.peer_codes]
            out[column] = Figures(
                _value(mine, self.provider, column), [v for v in values if v is not None], _value(mine, ENGLAND, column)
            )
        return out, mine

    def peer_values(
        self, table_for: Callable[[Scope], pl.DataFrame], value: Callable[[pl.DataFrame], float | None]
    ) -> list[float]:
        """`value` of each peer's rows of `table_for(peer scope)` (a long table by provider_code)."""
        peer_scope = self.peer_scope
        if peer_scope is None:
            return []
        frame = table_for(peer_scope)
        found = [value(frame.filter(pl.col("provider_code") == code)) for code in self.peer_codes]
        return [v for v in found if v is not None]


def _rows(frame: pl.DataFrame, *codes: str) -> pl.DataFrame:
    return frame.filter(pl.col("provider_code").is_in(list(codes)))


# --- the pack ------------------------------------------------------------------------------------


def activity_months(snap: Snapshot) -> list[date]:
    return snap.query("SELECT DISTINCT activity_month FROM rollup_activity ORDER BY 1")["activity_month"].to_list()


# A commissioner's providers: those for whom the commissioner's registered population made up at
# least this share of the examinations in the pack's months (ADR 12). An ICB's main providers
# are well above it; a provider that imaged a few of its patients passing through is not.
COMMISSIONER_SHARE = 0.10


def commissioned_providers(snap: Snapshot, scope: Scope, first: date, last: date) -> list[str]:
    """The providers a commissioner user may open the profile of for activity months first …
    last: at least COMMISSIONER_SHARE of each one's examinations were of patients registered with
    a practice in the user's ICBs or sub-ICBs (the Patient flows table, `rollup_variation_flows`)."""
    if scope.role != "commissioner":
        return []
    return snap.query(
        """
            SELECT provider_code
            FROM rollup_variation_flows
            WHERE activity_month BETWEEN $first AND $last
            GROUP BY provider_code
            HAVING sum(records) FILTER (WHERE list_contains($icbs, icb_code) OR list_contains($subs, sub_icb_code))
                   >= $share * sum(records)
            ORDER BY provider_code
            """,
        {
            "first": first,
            "last": last,
            "icbs": sorted(scope.icbs),
            "subs": sorted(scope.sub_icbs),
            "share": COMMISSIONER_SHARE,
        },
    )["provider_code"].to_list()


def profile_scope(snap: Snapshot, scope: Scope, provider: str, window: Window) -> Scope:
    """The scope a pack for `provider` is built under: the user's own, except for a commissioner,
    who sees one of its providers' packs as that provider's own staff do (the same disclosure
    control); another provider is refused (ScopeError)."""
    if scope.role != "commissioner":
        scope.check_provider(provider)
        return scope
    if provider not in commissioned_providers(snap, scope, window.first, window.last):
        raise ScopeError(
            f"{scope.user} (commissioner) may not see provider {provider}'s profile: fewer than "
            f"{COMMISSIONER_SHARE:.0%} of its examinations from {window.first:%Y-%m} to {window.last:%Y-%m} "
            "were of your registered patients"
        )
    return Scope("provider", providers=frozenset({provider}), user=f"{scope.user} (commissioner)")


def profile_providers(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """provider_code, provider_name of the providers whose profile the user may open (for a
    commissioner, its providers over the latest 12 activity months held)."""
    names = provider_names(snap)
    if scope.role == "commissioner":
        held = activity_months(snap)
        if not held:
            return names.head(0)
        mine = commissioned_providers(snap, scope, max(add_months(held[-1], -11), held[0]), held[-1])
        return names.filter(pl.col("provider_code").is_in(mine))
    visible = scope.visible_providers()
    return names if visible is None else names.filter(pl.col("provider_code").is_in(visible))


def window_for(snap: Snapshot, last: date, months: int) -> Window:
    """The `months` activity months ending with `last`, checked against the months held."""
    if not 1 <= months <= 36:
        raise UsageError(f"--months must be 1 to 36, not {months}")
    held = activity_months(snap)
    if last not in held:
        span = f"{held[0]:%Y-%m} to {held[-1]:%Y-%m}" if held else "none"
        raise UsageError(f"the store holds no activity for {last:%Y-%m} (months held: {span}); choose another period")
    return Window(max(add_months(last, -(months - 1)), held[0]), last)


def build_profile(snap: Snapshot, scope: Scope, provider: str, last: date, months: int = 12) -> Profile:
    """The pack's tables for `provider` over the `months` activity months ending with `last`.
    Refused (ScopeError) for a provider outside the user's scope; UsageError for a provider with
    no activity in the months or a month the store does not hold."""
    provider = provider.strip().upper()
    if scope.role != "commissioner":
        scope.check_provider(provider)  # before anything is read
    window = window_for(snap, last, months)
    scope = profile_scope(snap, scope, provider, window)
    names = dict(provider_names(snap).iter_rows())
    mix = peers.activity_mix(snap, window.first, window.last)
    if provider not in mix["provider_code"].to_list():
        raise UsageError(
            f"provider {provider} has no examinations from {window.first:%Y-%m} to {window.last:%Y-%m}; "
            "check the ODS code (did report provider-profile --help)"
        )
    group = peers.nearest(peers.features(mix), provider)
    peer_codes = group["provider_code"].to_list()
    profile = Profile(provider, names.get(provider, provider), window, scope, peer_codes)
    ask = _Ask(snap, scope, provider, peer_codes)
    figures: dict[str, Figures] = {}
    t = profile.tables
    first_period, last_period = window.periods
    v2 = urgency.clip_months(snap, window.first, window.last) if _has(snap, "rollup_waits_v2_provider") else None
    profile.urgency_months = v2
    Section = tuple[dict[str, pl.DataFrame], dict[str, Figures]]

    def activity() -> Section:
        tables: dict[str, pl.DataFrame] = {}
        trend_window = Window(max(add_months(last, -(TREND_MONTHS - 1)), activity_months(snap)[0]), last)
        found, mine = ask.figures(
            lambda s: _rows(provider_activity(snap, s, ask.codes_for(s), window), ENGLAND, *ask.codes_for(s)),
            ["examinations"],
        )
        tables["activity"] = _rows(mine, ENGLAND, provider)
        tables["activity_by_modality"] = provider_activity(snap, scope, [provider], window, "modality")
        tables["activity_by_source"] = provider_activity(snap, scope, [provider], window, "source").with_columns(
            pl.col("patient_source")
            .replace_strict(PATIENT_SOURCE_SETTING, default=NOT_KNOWN_SOURCE)
            .alias("source_name")
        )
        tables["activity_trend"] = provider_activity(snap, scope, [provider], trend_window, "month")
        return tables, {"examinations": found["examinations"]}

    def waits_any_version() -> Section:  # v1.0 and v2.0 months alike
        tables: dict[str, pl.DataFrame] = {}
        out: dict[str, Figures] = {}
        for interval, key in (
            ("request_to_test", "median_request_to_test"),
            ("test_to_report", "median_test_to_report"),
        ):
            f = waits.WaitFilter(window.first, window.last, interval)
            found, table = ask.figures(partial(waits.wait_summary, snap, f=f, by="provider"), ["median_days"])
            out[key] = found["median_days"]
            tables[f"waits_{interval}"] = _rows(table, ENGLAND, provider)
        tables["waits_by_month"] = waits.wait_summary(
            snap, scope, waits.WaitFilter(window.first, window.last, "request_to_test", provider=provider), "month"
        )
        return tables, out

    # By urgency, turnaround and the waiting list: DIDS v2.0 months only
    def by_urgency() -> Section:
        if v2 is None:
            return {}, {}
        uf = urgency.UrgencyFilter(v2[0], v2[1])
        table = _rows(urgency.urgency_summary(snap, scope, uf, "provider"), ENGLAND, provider)
        found, _ = ask.figures(
            lambda s: urgency.urgency_summary(snap, s, uf, "provider").filter(pl.col("priority") == USC),
            ["median_days"],
        )
        return {"urgency": table}, {"median_usc_request_to_procedure": found["median_days"]}

    def turnaround_and_waiting_list() -> Section:
        tables: dict[str, pl.DataFrame] = {}
        out: dict[str, Figures] = {}
        if v2 is None:
            return tables, out
        uf = urgency.UrgencyFilter(v2[0], v2[1])
        mine = urgency.UrgencyFilter(v2[0], v2[1], provider=provider)
        found, table = ask.figures(lambda s: turnaround.turnaround(snap, s, uf, "provider"), ["share_within_28d"])
        out.update(found)
        tables["turnaround"] = _rows(table, ENGLAND, provider)
        tables["turnaround_by_month"] = turnaround.turnaround(snap, scope, mine, "month")
        found, table = ask.figures(
            lambda s: waiting_list.waiting_list(snap, s, uf, "provider"), ["share_six_weeks_or_more"]
        )
        out.update(found)
        tables["waiting_list"] = _rows(table, ENGLAND, provider)
        tables["waiting_list_by_month"] = waiting_list.waiting_list(snap, scope, mine, "month")
        return tables, out

    def scanners() -> Section:
        tables: dict[str, pl.DataFrame] = {}
        out: dict[str, Figures] = {}
        utilisation = []
        for modality in SCANNER_MODALITIES:
            uf_ = equipment.UtilisationFilter(modality, window.first, window.last)
            found, table = ask.figures(
                partial(equipment.provider_utilisation, snap, f=uf_),
                ["exams_per_scanner_per_day", "utilisation"],
            )
            out.update({f"{column}:{modality}": value for column, value in found.items()})
            utilisation.append(_rows(table, ENGLAND, provider).select(pl.lit(modality).alias("modality"), pl.all()))
        tables["utilisation"] = pl.concat(utilisation, how="diagonal_relaxed")
        timed = (
            productivity.timed_months(snap, window.first, window.last) if productivity.has_timestamps(snap) else None
        )
        if timed is not None:
            for m in SCANNER_MODALITIES:
                pf = productivity.ProductivityFilter(m, *timed)
                found, _ = ask.figures(
                    partial(productivity.provider_productivity, snap, f=pf), ["scans_per_scanner_hour"]
                )
                out[f"scans_per_scanner_hour:{m}"] = found["scans_per_scanner_hour"]
            tables["productivity"] = pl.concat(
                [
                    productivity.site_productivity(
                        snap, scope, productivity.ProductivityFilter(m, *timed), provider
                    ).select(pl.lit(m).alias("modality"), pl.all())
                    for m in SCANNER_MODALITIES
                ],
                how="diagonal_relaxed",
            )
        return tables, out

    def submissions_and_quality() -> Section:
        tables: dict[str, pl.DataFrame] = {}
        out: dict[str, Figures] = {}
        statuses = completeness.provider_statuses(snap, scope, [provider], first_period, last_period)
        tables["submissions"] = statuses.drop("provider_code")
        out["on_time"] = Figures(
            _on_time(statuses),
            ask.peer_values(
                lambda s: completeness.provider_statuses(snap, s, peer_codes, first_period, last_period), _on_time
            ),
            _on_time(completeness.provider_statuses(snap, CENTRAL, None, first_period, last_period)),
        )
        scores = quality.provider_scores(snap, scope, first_period, last_period, provider)
        peer_scores = quality.peer_overall_scores(snap, scope, first_period, last_period)
        tables["quality"] = (
            scores.join(peer_scores, on="period", how="left")
            .sort("period")
            .select("period", "records", "score", "median", "p25", "p75", "providers", "lowest_item", "lowest_score")
        )
        out["dqmi"] = Figures(
            _mean_score(scores),
            ask.peer_values(lambda s: quality.provider_scores(snap, s, first_period, last_period), _mean_score),
            _median_provider(quality.provider_scores(snap, CENTRAL, first_period, last_period)),
        )
        return tables, out

    def radiation_dose() -> Section:
        dose = provider_dose(snap, scope, [provider], window)
        peer_scope = ask.peer_scope
        peer_dose = provider_dose(snap, peer_scope, peer_codes, window) if peer_scope and peer_codes else dose.head(0)
        per_examination = Figures(
            dose_per_examination(dose, provider),
            [v for c in peer_codes if (v := dose_per_examination(peer_dose, c)) is not None],
            dose_per_examination(dose, ENGLAND),
        )
        return {"dose": dose}, {"dose_per_examination": per_examination}

    # The sections read the snapshot independently (each query on its own cursor): run side by
    # side, they keep both cores busy with DuckDB's many small queries and polars' small frames.
    # Started longest first (as timed at national scale: 0.1-0.2 s each), and put together in
    # the order below whatever order they finish in, so the pack is the one built section by section.
    sections = [
        activity,
        waits_any_version,
        by_urgency,
        turnaround_and_waiting_list,
        scanners,
        submissions_and_quality,
        radiation_dose,
    ]
    longest_first = [
        scanners,
        turnaround_and_waiting_list,
        by_urgency,
        submissions_and_quality,
        radiation_dose,
        waits_any_version,
        activity,
    ]
    with ThreadPoolExecutor(max_workers=PROFILE_THREADS, thread_name_prefix="profile") as pool:
        running = {section: pool.submit(section) for section in longest_first}
        try:
            for section in sections:
                tables, found = running[section].result()
                t.update(tables)
                figures.update(found)
        except BaseException:
            for f in running.values():
                f.cancel()  # those not started; leaving the block waits for the running ones
            raise

    t["spc"] = spc_signals(t)
    t["measures"] = measures_table(figures)
    t["peers"] = group.select(
        pl.int_range(1, pl.len() + 1).alias("rank"),
        "provider_code",
        pl.col("provider_code").replace_strict(names, default=None).alias("provider_name"),
    )
    held = months_held(snap, window.first, window.last)
    profile.coverage = Coverage(
        len(held),
        months,
        int(t["submissions"]["status"].is_in(completeness.INCLUDED).sum()),
        t["submissions"].height,
        *completeness.providers_included(snap, last_period),
    )
    profile.summary = stands_out(profile, figures)
    return profile


def _has(snap: Snapshot, table: str) -> bool:
    return has_tables(snap, table)


def _on_time(statuses: pl.DataFrame) -> float | None:
    due = statuses.filter(pl.col("status") != "not_due")
    return float((due["status"] == "on_time").mean()) if due.height else None  # type: ignore[arg-type]


def _mean_score(scores: pl.DataFrame) -> float | None:
    value = scores["score"].drop_nulls().mean()
    return None if value is None else float(value)  # type: ignore[arg-type]


def _median_provider(scores: pl.DataFrame) -> float | None:
    """The median provider's mean score (the England comparator of a score, as the Provider
    detail page's "median provider"), given five or more providers with a score."""
    found = [_mean_score(part) for _, part in scores.group_by("provider_code")]
    means = [v for v in found if v is not None]
    if len(means) < quality.PEER_MIN_PROVIDERS:
        return None
    return float(pl.Series(means).median())  # type: ignore[arg-type]


# --- the comparison, the SPC signals and what stands out ---------------------------------------


def show(value: float | None, unit: str) -> str:
    """A figure as the pack prints it ('–' when there is none: hidden or not worked out)."""
    if value is None:
        return "–"
    if unit == "count":
        return f"{round(value):,}"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "msv":
        return f"{value:.2f} mSv"
    if unit == "days":
        return f"{value:g} day{'' if value == 1 else 's'}" if float(value).is_integer() else f"{value:.1f} days"
    return f"{value:.1f}"


def quartiles(values: list[float]) -> tuple[float, float, float] | None:
    """Lower quartile, median and upper quartile (linear interpolation, as quality.py's peer
    quartiles) of five or more values; None for fewer (they would all but name the peers)."""
    if len(values) < quality.PEER_MIN_PROVIDERS:
        return None
    s = pl.Series(values, dtype=pl.Float64)
    q = [s.quantile(p, "linear") for p in (0.25, 0.5, 0.75)]
    return (float(q[0]), float(q[1]), float(q[2]))  # type: ignore[arg-type]


# How far beyond the peers' quartile a figure must lie to be called outside their middle half:
# peers bunched within a fraction of a point would otherwise make a difference nobody would act on
# (a data quality score of 99.5 against 99.8–99.9) "stand out". Closer than this it is "close to".
MARGIN_ABSOLUTE = {"share": 0.01, "days": 1.0, "score": 1.0}  # 1 percentage point, 1 day, 1 point
MARGIN_RELATIVE = 0.05  # every other unit: 5% of the quartile
MARGIN_TEXT = "by more than 1 percentage point for a share, 1 day for a wait, 1 point for a score, 5% otherwise"


def against(value: float | None, range_: tuple[float, float, float] | None, unit: str = "count") -> str:
    """Where `value` lies against the peers' quartiles `range_` (lower, median, upper)."""
    if value is None:
        return "no figure"
    if range_ is None:
        return "too few peers with a figure"
    if range_[0] <= value <= range_[2]:
        return "within the middle half"
    edge = range_[0] if value < range_[0] else range_[2]
    margin = MARGIN_ABSOLUTE.get(unit, MARGIN_RELATIVE * abs(edge))
    if abs(value - edge) <= margin + 1e-9:  # a figure exactly at the margin (in float) is close
        return "close to the middle half"
    return "below the middle half" if value < edge else "above the middle half"


def measures_table(figures: dict[str, Figures]) -> pl.DataFrame:
    """One row per measure (MEASURES order): the provider, its peers' quartiles and England."""
    rows = []
    for key, m in MEASURES.items():
        f = figures.get(key)
        if f is None:
            continue
        q = quartiles(f.peers)
        rows.append(
            {
                "measure": m.label,
                "key": key,
                "unit": m.unit,
                "provider": f.provider,
                "peers_with_figure": len(f.peers),
                "peer_p25": q[0] if q else None,
                "peer_median": q[1] if q else None,
                "peer_p75": q[2] if q else None,
                "england": f.england,
                "against_peers": against(f.provider, q, m.unit),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "measure": pl.String,
            "key": pl.String,
            "unit": pl.String,
            "provider": pl.Float64,
            "peers_with_figure": pl.Int64,
            "peer_p25": pl.Float64,
            "peer_median": pl.Float64,
            "peer_p75": pl.Float64,
            "england": pl.Float64,
            "against_peers": pl.String,
        },
    )


# measure name, table, column, higher is better, target: the series the waiting-times page charts
SPC_SERIES: tuple[tuple[str, str, str, bool, float | None], ...] = (
    ("Median wait, request to test (days)", "waits_by_month", "median_days", False, None),
    ("Reported within 4 weeks", "turnaround_by_month", "share_within_28d", True, spc.REPORT_TARGET),
    (
        "Waiting list: waited 6 weeks or more",
        "waiting_list_by_month",
        "share_six_weeks_or_more",
        False,
        spc.SIX_WEEK_TARGET,
    ),
)


def spc_signals(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per monthly series: months charted, the latest month and value, the latest limits, and
    Making Data Count's variation and assurance (queries/spc.py) in words, as the page states them."""
    rows = []
    for measure, name, column, higher, target in SPC_SERIES:
        if name not in tables:
            continue
        chart = spc.with_xmr(tables[name], column)
        if chart.height < 2:
            rows.append({"measure": measure, "months": chart.height, "variation": "Too few months to judge variation."})
            continue
        last = chart.row(-1, named=True)
        v, a = spc.variation(chart, higher), spc.assurance(chart, target, higher)
        rows.append(
            {
                "measure": measure,
                "months": chart.height,
                "latest_month": last["activity_month"],
                "latest_value": float(last[column]),
                "mean": last["mean"],
                "lower_limit": last["lower_limit"],
                "upper_limit": last["upper_limit"],
                "variation_key": v.key if v else None,
                "variation": v.label if v else None,
                "assurance": a.label if a else "No national target applies to this measure.",
            }
        )
    schema = {
        "measure": pl.String,
        "months": pl.Int64,
        "latest_month": pl.Date,
        "latest_value": pl.Float64,
        "mean": pl.Float64,
        "lower_limit": pl.Float64,
        "upper_limit": pl.Float64,
        "variation_key": pl.String,
        "variation": pl.String,
        "assurance": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def activity_change(trend: pl.DataFrame, provider: str) -> tuple[int, float] | None:
    """(h, change): the provider's examinations in its latest h months against the h before
    (h = 12 with 24 months of trend, else half the months held, at least 3), from the published
    monthly counts; None when there are too few months or a month is hidden."""
    own = trend.filter(pl.col("provider_code") == provider).sort("activity_month")["examinations"]
    h = min(12, own.len() // 2)
    if h < 3 or own.tail(2 * h).null_count():
        return None
    before, after = int(own.tail(2 * h).head(h).sum()), int(own.tail(h).sum())
    return (h, after / before - 1) if before else None


def stands_out(profile: Profile, figures: dict[str, Figures]) -> str:
    """One line from the computed figures only: the change in activity, the measures outside the
    middle half of the peers (furthest first, at most three) and the series with special cause
    variation in the latest month. Nothing here is written that a table does not hold."""
    parts = []
    change = activity_change(profile.tables["activity_trend"], profile.provider)
    if change is not None and abs(change[1]) >= 0.005:
        h, c = change
        parts.append(
            f"examinations {'up' if c > 0 else 'down'} {abs(c):.0%} in the latest {h} months on the {h} before"
        )
    outside = []
    for row in profile.tables["measures"].iter_rows(named=True):
        if row["against_peers"] in ("below the middle half", "above the middle half"):
            edge = row["peer_p25"] if row["against_peers"].startswith("below") else row["peer_p75"]
            scale = max(abs(row["peer_median"]), 1e-9)
            outside.append((abs(row["provider"] - edge) / scale, row))
    for _, row in sorted(outside, key=lambda x: (-x[0], x[1]["measure"]))[:3]:
        unit, side = row["unit"], row["against_peers"].split()[0]
        parts.append(
            f"{_sentence_case(row['measure'])} {show(row['provider'], unit)}, {side} the middle half of its peers "
            f"({show(row['peer_p25'], unit)} to {show(row['peer_p75'], unit)})"
        )
    for row in profile.tables["spc"].iter_rows(named=True):
        key = row["variation_key"] or ""
        if key.startswith(("concern", "improvement")):
            what = row["variation"].split(": ", 1)[-1]
            parts.append(f"{_sentence_case(row['measure'])}: {what} in {row['latest_month']:%B %Y}")
    if not parts:
        return (
            "Nothing stands out: no measure lies outside the middle half of its peers and no monthly series "
            "shows special cause variation."
        )
    return f"What stands out: {'; '.join(parts)}."


def _sentence_case(label: str) -> str:
    """A measure's label inside a sentence: lower case first, unless it starts with an acronym (MRI)."""
    first = label.split()[0]
    return label if first.isupper() else label[0].lower() + label[1:]
