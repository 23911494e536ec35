"""GP benchmarking: counts per measure, practice and activity month; national counts by age and sex.

Both tables are built from the measure files in did_model/measures/ (one row per measure, so the
pages read a few thousand rows per measure and never scan `record`):

- rollup_gp_measure: measure_id, practice_code, activity_month, numerator, denominator
  (denominator is the count a ratio measure divides by; NULL for a rate per registered patient,
  whose denominator — the list size — comes from ref_practice). A practice-month with no events
  has no row; the queries fill the zeros from ref_practice.
- rollup_gp_measure_age_sex: measure_id, activity_month, age_band (0..18, NULL unknown), sex
  (M / F / U unknown; both as did_model.demography defines them), numerator — over every
  practice in ref_practice: the national age-sex rates for indirect standardisation.

Each is the sum over providers of a table split by provider (`*_by_provider`, with
`provider_code` after `measure_id`): a provider's resubmission rebuilds its own rows of those
and adds the changed months up again (ADR 0013). A measure added or changed after a publish
appears at the next publish (the SQL changes, so the rollups are built in full).

The filter values are written into the SQL as literals: they are checked against closed
vocabularies by did_model.measures (spec codes, NICIP modalities, body areas, test groups) and
quoted below, and they come from files in the repository, never from user input.
"""

from __future__ import annotations

from did_model.demography import age_band_sql, sex_sql
from did_model.measures import Measure, load_measures
from did_model.rollups import BY_MONTH, BY_PROVIDER_MONTH, summed


def _literal(value: str) -> str:
    if "'" in value or "\\" in value:  # impossible after validation; belt and braces
        raise ValueError(f"refusing to write {value!r} into SQL")
    return f"'{value}'"


def _condition(filters: dict[str, tuple[str, ...]]) -> str:
    return " AND ".join(
        f"{column} IN ({', '.join(_literal(v) for v in values)})" for column, values in sorted(filters.items())
    )


def _sources(measures: list[Measure]) -> str:
    codes = sorted(
        {s for m in measures for block in (m.numerator, m.denominator) for s in block.get("patient_source", ())}
    )
    return ", ".join(_literal(c) for c in codes)


def _practice_select(m: Measure) -> str:
    num = _condition(m.numerator)
    den = _condition(m.denominator) if m.is_ratio else None
    den_sum = f"coalesce(sum(n) FILTER (WHERE {den}), 0)::BIGINT" if den else "NULL::BIGINT"
    where = f"({num}) OR ({den})" if den else num
    return (
        f"SELECT {_literal(m.id)} AS measure_id, provider_code, practice_code, activity_month, "
        f"coalesce(sum(n) FILTER (WHERE {num}), 0)::BIGINT AS numerator, {den_sum} AS denominator "
        f"FROM base WHERE {where} GROUP BY provider_code, practice_code, activity_month"
    )


def _age_sex_select(m: Measure) -> str:
    return (
        f"SELECT {_literal(m.id)} AS measure_id, provider_code, activity_month, age_band, sex, "
        f"sum(n)::BIGINT AS numerator FROM base_age_sex WHERE {_condition(m.numerator)} "
        f"GROUP BY provider_code, activity_month, age_band, sex"
    )


def _rollups() -> dict[str, str]:
    measures = list(load_measures().values())
    rate_measures = [m for m in measures if not m.is_ratio]
    practice = f"""
        WITH base AS (
            SELECT provider_code, practice_code, activity_month, patient_source, modality, body_area,
                   test_group, count(*)::BIGINT AS n
            FROM record
            WHERE practice_code IS NOT NULL AND patient_source IN ({_sources(measures)})
            GROUP BY ALL
        )
        {" UNION ALL ".join(_practice_select(m) for m in measures)}
    """
    age_sex = f"""
        WITH base_age_sex AS (
            SELECT provider_code, activity_month, patient_source, modality, body_area, test_group,
                   {age_band_sql("age_at_test")} AS age_band, {sex_sql("sex")} AS sex,
                   count(*)::BIGINT AS n
            FROM record r
            WHERE patient_source IN ({_sources(rate_measures or measures)})
              AND practice_code IN (SELECT practice_code FROM ref_practice)
            GROUP BY ALL
        )
        {" UNION ALL ".join(_age_sex_select(m) for m in rate_measures)}
    """
    return {
        "rollup_gp_measure_by_provider": practice,
        "rollup_gp_measure": summed(
            "rollup_gp_measure_by_provider", "measure_id, practice_code, activity_month", "numerator, denominator"
        ),
        "rollup_gp_measure_age_sex_by_provider": age_sex,
        "rollup_gp_measure_age_sex": summed(
            "rollup_gp_measure_age_sex_by_provider", "measure_id, activity_month, age_band, sex", "numerator"
        ),
    }


ROLLUPS = _rollups()

# Practices are registered with patients any provider may image: the split tables are refreshed
# for the changed provider-months, and the changed months are added up again from them.
REFRESH = {
    "rollup_gp_measure_by_provider": BY_PROVIDER_MONTH,
    "rollup_gp_measure": BY_MONTH,
    "rollup_gp_measure_age_sex_by_provider": BY_PROVIDER_MONTH,
    "rollup_gp_measure_age_sex": BY_MONTH,
}
