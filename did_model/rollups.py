"""Small aggregate tables built at publish time for the dashboard's hot paths (architecture §8).

Every dashboard query reads one of these (or a narrow scan), never the whole record table per
rerun. The definitions live in `did_model/rollup_defs/`, one module per area. Each module also
declares, in `REFRESH`, how a publish refreshes each of its rollups when only some providers'
months changed (ADR 0011): the rows of the changed providers' months, the changed months, or
the changed providers are built again; a rollup declared `FULL` (or that reads a table other
than records and submissions which changed) is built again in full. A rollup none of whose
tables changed is kept as it was (`store._contents`, ADR 0006).

A rollup may read another rollup (ADR 0013): one whose rows mix providers (a practice's or an
area's month) is the sum over providers of a rollup split by provider (`summed`), so a
provider's resubmission rebuilds that provider's rows of the split one and re-adds the changed
months from it, never reading another provider's records. Such a rollup is built after those it
reads (`stages`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType

from did_model import rollup_defs


@dataclass(frozen=True)
class Refresh:
    """Which rows of a rollup depend on which records: SQL over the rollup's output columns
    giving each row's provider code and activity month (either None when the rows are not split
    that way). A row must depend only on records of its own provider and month (of its own
    month for `month` alone, its own provider for `provider` alone): a publish then deletes the
    rows of the changed keys and inserts those keys' rows aggregated afresh (ADR 0011).
    """

    provider: str | None = None
    month: str | None = None

    @property
    def full(self) -> bool:
        return self.provider is None and self.month is None


FULL = Refresh()  # built again in full whenever a table it reads changed
BY_PROVIDER_MONTH = Refresh(provider="provider_code", month="activity_month")
BY_MONTH = Refresh(month="activity_month")
BY_PROVIDER = Refresh(provider="provider_code")

# Tables in memory (shared by the publish's cursors, never in a snapshot) holding the keys whose
# rows a publish builds again; filled by `ingest.store` from `ingest.incremental.Changes`.
CHANGED_PAIRS = "memory.main.publish_changed_pair"  # provider_code, activity_month
CHANGED_MONTHS = "memory.main.publish_changed_month"  # activity_month
CHANGED_PROVIDERS = "memory.main.publish_changed_provider"  # provider_code


def counted_record_sql(select: str, restrict: str = "", where: str = "") -> str:
    """`select` (a rollup) reading `record` without the removed copies of exact pairs.

    A CTE named `record` shadows the table inside the rollup's own query, so no rollup changes;
    `main.record` inside it is the table. The rollup's text names `duplicate_pair`, so the
    publish's content fingerprints rebuild it whenever the pairs or the setting change.
    `restrict`, a join clause on `main.record r` from code, narrows the records read to the keys
    an incremental publish builds again (`did_model.rollups.refresh_statements`); `where`, a WHERE
    clause from code, narrows them first in a way the scan can use to skip row groups.
    """
    return (
        "WITH removed_copy AS (SELECT "
        "CASE counted WHEN 'a' THEN b_site_code ELSE a_site_code END AS site_code, "
        "CASE counted WHEN 'a' THEN b_accession_number ELSE a_accession_number END AS accession_number "
        "FROM duplicate_pair WHERE removed), "
        f"record AS (SELECT r.* FROM main.record r {restrict} "
        f"ANTI JOIN removed_copy USING (site_code, accession_number){' ' + where if where else ''}) "
        f"SELECT * FROM ({select})"
    )


class Summed(str):
    """A summed rollup's SELECT (`summed`), which also remembers what it adds up, so that a
    refresh can add up again only the keys a provider's changed rows touch."""

    partial: str
    keys: tuple[str, ...]
    counts: tuple[str, ...]


def summed(partial: str, keys: str, counts: str) -> Summed:
    """A rollup that is `partial` (a rollup with `provider_code` among its columns) added up over
    providers: `keys` its other grouping columns, `counts` the columns summed (comma-separated
    names, from code). A count summed where every provider's is NULL stays NULL."""
    count_names = tuple(c.strip() for c in counts.split(","))
    sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in count_names)
    out = Summed(f"SELECT {keys}, {sums} FROM {partial} GROUP BY ALL")
    out.partial, out.keys, out.counts = partial, tuple(k.strip() for k in keys.split(",")), count_names
    return out


# The definitions are the modules' constants, fixed for the life of the process: found once. A
# publish asked for them some 270 times (each rollup's stage, what it reads, how it refreshes),
# each walk of the package costing about half a millisecond.
@cache
def _modules() -> tuple:
    return tuple(
        (mod.name, importlib.import_module(f"{rollup_defs.__name__}.{mod.name}"))
        for mod in sorted(pkgutil.iter_modules(rollup_defs.__path__), key=lambda m: m.name)
    )


@cache
def _definitions() -> Mapping[str, str]:
    """Every rollup's SELECT as its module wrote it, table name → SELECT (read-only: kept for the
    life of the process)."""
    found: dict[str, str] = {}
    for mod_name, module in _modules():
        for name, select in getattr(module, "ROLLUPS", {}).items():
            if not name.startswith("rollup_") or not name.replace("_", "").isalnum():
                raise ValueError(f"rollup name {name!r} in {mod_name} must be rollup_<letters/digits/_>")
            if name in found:
                raise ValueError(f"rollup {name} is defined twice")
            found[name] = select
    return MappingProxyType(found)


@cache
def _every_copy() -> frozenset[str]:
    """Rollups a module lists in EVERY_COPY: about the submitted copies themselves (an outsourcing
    arrangement's work as each party sent it), so they read every copy."""
    return frozenset(name for _, module in _modules() for name in getattr(module, "EVERY_COPY", ()))


def _counted(name: str, select: str, restrict: str = "", where: str = "") -> str:
    # Every rollup over records counts an outsourced examination once (ADR 0010), but those that
    # read every copy; one reading reference data alone is left as written, so it is still kept
    # while only records change.
    if not re.search(r"\brecord\b", select):
        return select
    if name in _every_copy():
        narrowed = f"{restrict} {where}" if where else restrict
        return f"WITH record AS (SELECT r.* FROM main.record r {narrowed}) SELECT * FROM ({select})"
    return counted_record_sql(select, restrict, where)


def all_rollups() -> dict[str, str]:
    """Every rollup definition, table name → SELECT, from every module in ingest/rollup_defs."""
    return {name: _counted(name, select) for name, select in _definitions().items()}


def rollups_read(name: str) -> list[str]:
    """The other rollups that rollup `name` reads (its SQL names them as words)."""
    return list(_rollups_read(name))


@cache
def _rollups_read(name: str) -> tuple[str, ...]:
    definitions = _definitions()
    return tuple(tables_read(definitions[name], [n for n in definitions if n != name]))


def stages() -> list[list[str]]:
    """Every rollup name, in stages: each reads only tables of the store and rollups of earlier
    stages, so the rollups of one stage can be built at once. A cycle is an error."""
    waiting = {name: set(rollups_read(name)) for name in _definitions()}
    done: set[str] = set()
    out: list[list[str]] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if needs <= done)
        if not ready:
            raise ValueError(f"rollups read each other in a cycle: {sorted(waiting)}")
        out.append(ready)
        done.update(ready)
        for name in ready:
            del waiting[name]
    return out


def standalone(name: str) -> str:
    """Rollup `name`'s SELECT reading the store alone: the rollups it reads become CTEs of their
    own SELECTs (for a snapshot that predates the table, `queries.official.rollup_source`)."""
    select = all_rollups()[name]
    needs = rollups_read(name)
    if not needs:
        return select
    ctes = ", ".join(f"{n} AS ({standalone(n)})" for n in needs)
    return f"WITH {ctes} SELECT * FROM ({select})"


def _qualified(name: str, select: str, into: str) -> str:
    """`select` with the rollups it reads named in `into`, where this publish builds them."""
    for other in rollups_read(name):
        select = re.sub(rf"\b{re.escape(other)}\b", f"{into}.main.{other}", select)
    return select


def refresh_policies() -> dict[str, Refresh]:
    """Every rollup's declared `Refresh`, from its module's REFRESH; FULL for one not declared
    (always correct, never incremental; tests/ingest/test_incremental.py requires a declaration)."""
    declared: dict[str, Refresh] = {}
    for _, module in _modules():
        declared.update(getattr(module, "REFRESH", {}))
    return {name: declared.get(name, FULL) for name in _definitions()}


def tables_read(sql: str, tables) -> list[str]:
    """The names among `tables` that `sql` mentions as a word: a query reads only tables it names."""
    return list(_tables_read(sql, tuple(tables)))


@lru_cache(maxsize=1024)  # a publish asks about the same ~70 (rollup, tables) pairs each time
def _tables_read(sql: str, tables: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in tables if re.search(rf"\b{re.escape(t)}\b", sql))


def rollup_statements(into: str) -> list[tuple[str, str]]:
    """(rollup name, CREATE TABLE statement) for every rollup, built into the attached database `into`.

    The SELECTs read the connection's default database (the working store), and `into` for the
    rollups they read; the tables are created in `into` (publishing builds them straight into
    the new snapshot, ADR 0006). The statements of one of `stages()` are independent of each
    other, so publishing runs them on two cursors at once; they are listed stage by stage.
    """
    _check_database(into)
    rollups = all_rollups()
    policies = refresh_policies()
    # `name` is checked by all_rollups and `into` above; both come from code, never input.
    statements = []
    for name in (name for stage in stages() for name in stage):
        select = _sorted(_qualified(name, rollups[name], into), policies[name])
        statements.append((name, f"CREATE OR REPLACE TABLE {into}.main.{name} AS {select}"))
    return statements


def _sorted(select: str, refresh: Refresh) -> str:
    """A rollup refreshed by key is stored in the order of its keys (month, then provider): a
    refresh's DELETE, and a sum's reading of one month of the split rollup under it, then skip the
    row groups of other keys (their zone maps) instead of scanning the whole table."""
    keys = [k for k in (refresh.month, refresh.provider) if k]
    return f"SELECT * FROM ({select}) ORDER BY {', '.join(keys)}" if keys else select


def refresh_statements(into: str, name: str, refresh: Refresh) -> list[str]:
    """DELETE then INSERT: the rows of rollup `name` in `into` for the changed keys, built again.

    The records read are only those of the changed keys (a semi join on the key table: the
    aggregation is over them alone), and the rows inserted are filtered on the keys too, so a
    rollup that also reads other tables (submissions, issues) adds no row of another key.
    """
    _check_database(into)
    if refresh.full or name not in _definitions():
        raise ValueError(f"{name} is not refreshed by key")
    by_touched_keys = _summed_by_touched_keys()
    if name in by_touched_keys:
        return _summed_refresh(into, name, by_touched_keys[name])
    if refresh.provider and refresh.month:
        table, on = CHANGED_PAIRS, "k.provider_code = r.provider_code AND k.activity_month = r.activity_month"
        keys = f"({refresh.provider}, {refresh.month}) IN (SELECT provider_code, activity_month FROM {table})"
        where = (
            f"WHERE r.provider_code IN (SELECT provider_code FROM {table}) "
            f"AND r.activity_month IN (SELECT activity_month FROM {table})"
        )
    elif refresh.month:
        table, on = CHANGED_MONTHS, "k.activity_month = r.activity_month"
        keys = f"{refresh.month} IN (SELECT activity_month FROM {table})"
        where = f"WHERE r.activity_month IN (SELECT activity_month FROM {table})"
    else:
        table, on = CHANGED_PROVIDERS, "k.provider_code = r.provider_code"
        keys = f"{refresh.provider} IN (SELECT provider_code FROM {table})"
        where = f"WHERE r.provider_code IN (SELECT provider_code FROM {table})"
    # The semi join is the exact set of keys; the WHERE, each key column on its own, lets the scan
    # of `record` skip the row groups of other providers and months (a semi join alone reads every
    # row group's keys: 0.2 s a rollup at national scale, against 0.01 s).
    select = _counted(name, _definitions()[name], restrict=f"SEMI JOIN {table} k ON {on}", where=where)
    if not refresh.month:
        select = _own_submissions(select)
    select = _narrowed_reads(name, select, refresh, into)
    # Names and key expressions come from code (rollup_defs), never from input.
    before = []
    if name in {s.partial for s in by_touched_keys.values()}:  # its rows before, for the sums over it
        before = [f"CREATE OR REPLACE TABLE {_before(name)} AS SELECT * FROM {into}.main.{name} WHERE {keys}"]
    return [
        *before,
        f"DELETE FROM {into}.main.{name} WHERE {keys}",
        f"INSERT INTO {into}.main.{name} SELECT * FROM ({select}) WHERE {keys}",
    ]


def _before(partial: str) -> str:
    """The in-memory table holding, during a publish, the rows of `partial` that its refresh
    replaced (the changed providers' months as they were)."""
    return f"memory.main.publish_before_{partial}"


def _summed_by_touched_keys() -> dict[str, Summed]:
    """The sums over providers refreshed by month whose split rollup is refreshed by provider
    and month: name → its `Summed`. A refresh of one adds up again only the keys that the changed
    providers' rows (before and after) touch, not the whole month (`_summed_refresh`)."""
    policies = refresh_policies()
    out = {}
    for name, select in _definitions().items():
        mine, theirs = policies[name], policies.get(getattr(select, "partial", ""), FULL)
        if isinstance(select, Summed) and mine.month and not mine.provider and theirs.month and theirs.provider:
            out[name] = select
    return out


def _summed_refresh(into: str, name: str, sums: Summed) -> list[str]:
    """The statements refreshing sum `name`: its rows for the keys the changed provider-months
    touch — their split rows now, and as they were (`_before`, saved by the split rollup's
    refresh in an earlier stage) — deleted and added up again over every provider.

    Exact: each key's row is `summed`'s own sum over all that key's rows of the split rollup;
    a key none of whose rows remain has no row, as after a full build. A sum over one month of
    the deprivation split rollup (1.6 M rows at national scale) adds up a few thousand instead.
    """
    partial, how = sums.partial, refresh_policies()[sums.partial]
    month = refresh_policies()[name].month
    touched = f"memory.main.publish_touched_{name}"
    same = " AND ".join(f"t.{k} IS NOT DISTINCT FROM s.{k}" for k in sums.keys)
    totals = ", ".join(f"sum({c})::BIGINT AS {c}" for c in sums.counts)
    changed_months = f"{month} IN (SELECT activity_month FROM {CHANGED_MONTHS})"
    # Names and key columns come from code (rollup_defs), never from input.
    return [
        f"CREATE OR REPLACE TABLE {touched} AS "
        f"SELECT {', '.join(sums.keys)} FROM {into}.main.{partial} "
        f"WHERE ({how.provider}, {how.month}) IN (SELECT provider_code, activity_month FROM {CHANGED_PAIRS}) "
        f"UNION SELECT {', '.join(sums.keys)} FROM {_before(partial)}",
        f"DELETE FROM {into}.main.{name} s USING {touched} t WHERE s.{changed_months} AND {same}",
        f"INSERT INTO {into}.main.{name} SELECT {', '.join(sums.keys)}, {totals} "
        f"FROM (SELECT s.* FROM {into}.main.{partial} s SEMI JOIN {touched} t ON {same} "
        f"WHERE s.{changed_months}) GROUP BY ALL",
    ]


def _narrowed_reads(name: str, select: str, refresh: Refresh, into: str) -> str:
    """`select` reading, of each rollup it reads (in `into`), only the rows of the changed keys:
    a CTE of that name holding them. (A filter on a sum's output is not pushed below its GROUP
    BY: one month of a split rollup took 5 s to add up through the whole table, 0.4 s so.)"""
    ctes = []
    for other in rollups_read(name):
        how = refresh_policies()[other]
        conditions = []
        if refresh.month:  # `_refreshable` has checked that the rollup read has these keys
            conditions.append(f"{how.month} IN (SELECT activity_month FROM {CHANGED_MONTHS})")
        if refresh.provider:
            conditions.append(f"{how.provider} IN (SELECT provider_code FROM {CHANGED_PROVIDERS})")
        ctes.append(f"{other} AS (SELECT * FROM {into}.main.{other} WHERE {' AND '.join(conditions)})")
    return f"WITH {', '.join(ctes)} SELECT * FROM ({select})" if ctes else select


def _own_submissions(select: str) -> str:
    """`select` reading only the changed providers' submissions and issues (a rollup refreshed by
    provider alone, whose rows depend on them: the quality tables), not the whole `issue` table."""
    if not re.search(r"\b(submission|issue)\b", select):
        return select
    return (
        f"WITH submission AS (SELECT * FROM main.submission WHERE provider_code IN "
        f"(SELECT provider_code FROM {CHANGED_PROVIDERS})), "
        "issue AS (SELECT i.* FROM main.issue i SEMI JOIN submission s USING (submission_id)) "
        f"SELECT * FROM ({select})"
    )


def _check_database(into: str) -> None:
    if not into.isidentifier():
        raise ValueError(f"database name {into!r} must be an identifier")
