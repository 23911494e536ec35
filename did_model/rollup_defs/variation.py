"""Rollups for the variation views: who is imaged, where, and by whom (issue #5).

Commissioner = the patient's registered practice, as in the official DID tables: each record's
practice_code is joined to ref_practice for its sub-ICB, ICB and region (2026 geography) and
its IMD quintile. Records whose practice is missing or not in the practice map keep null
geography; the pages count them but cannot give them a denominator.

Age bands (ESP2013's 0-4, 5-9, ..., 85-89, 90+ as bands 0..18) and sex (M / F from PERSON
GENDER CODE 1 / 2, U for 0, 9 or missing) are did_model.demography's, as are the registered
populations' below.

The tables by area are each the sum over providers of one split by provider (`*_by_provider`):
a provider's resubmission refreshes its own rows of those and adds up the changed months again
(ADR 0013).
"""

from did_model.demography import age_band_sql, sex_sql
from did_model.rollups import BY_MONTH, BY_PROVIDER_MONTH, FULL, summed

_AGE_BAND = age_band_sql("r.age_at_test")
_SEX = sex_sql("r.sex")
_MEASURE = "r.modality, r.patient_source, r.test_group"
_FROM = "FROM record r LEFT JOIN ref_practice p ON p.practice_code = r.practice_code"
_AREA = "activity_month, region_code, icb_code, sub_icb_code"
_MEASURE_KEYS = "modality, patient_source, test_group"

ROLLUPS = {
    # Activity by month x registered geography x age band x sex x measure: the age-sex rates
    # and the directly standardised rates for every area.
    "rollup_variation_area_by_provider": f"""
        SELECT r.provider_code, r.activity_month, p.region_code, p.icb_code, p.sub_icb_code,
               {_AGE_BAND} AS age_band, {_SEX} AS sex, {_MEASURE}, count(*)::BIGINT AS records
        {_FROM}
        GROUP BY ALL
    """,
    "rollup_variation_area": summed(
        "rollup_variation_area_by_provider", f"{_AREA}, age_band, sex, {_MEASURE_KEYS}", "records"
    ),
    # The same by the practice's IMD quintile (1 = most deprived fifth of practices).
    "rollup_variation_imd_by_provider": f"""
        SELECT r.provider_code, r.activity_month, p.region_code, p.icb_code, p.sub_icb_code, p.imd_quintile,
               {_AGE_BAND} AS age_band, {_SEX} AS sex, {_MEASURE}, count(*)::BIGINT AS records
        {_FROM}
        WHERE p.practice_code IS NOT NULL
        GROUP BY ALL
    """,
    "rollup_variation_imd": summed(
        "rollup_variation_imd_by_provider", f"{_AREA}, imd_quintile, age_band, sex, {_MEASURE_KEYS}", "records"
    ),
    # Registered patients by IMD quintile x sub-ICB x age band x sex. The register gives age
    # and sex by PCN, not by practice, so a practice's structure is its PCN's scaled to its list
    # size (the sub-ICB's where the practice has no PCN) — architecture §5's approximation.
    "rollup_variation_imd_population": f"""
        WITH banded AS (
            SELECT org_type, org_code, sex, {age_band_sql("age")} AS age_band,
                   sum(patients) AS patients
            FROM ref_population WHERE org_type IN ('PCN', 'SUB_ICB')
            GROUP BY ALL
        ),
        shares AS (
            SELECT org_type, org_code, sex, age_band,
                   patients / sum(patients) OVER (PARTITION BY org_type, org_code) AS share
            FROM banded
        ),
        pcns AS (SELECT DISTINCT org_code FROM shares WHERE org_type = 'PCN' AND org_code <> 'U'),
        practice_structure AS (
            SELECT p.region_code, p.icb_code, p.sub_icb_code, p.imd_quintile, p.list_size,
                   CASE WHEN p.pcn_code IN (SELECT org_code FROM pcns) THEN 'PCN' ELSE 'SUB_ICB' END
                       AS org_type,
                   CASE WHEN p.pcn_code IN (SELECT org_code FROM pcns) THEN p.pcn_code
                        ELSE p.sub_icb_code END AS org_code
            FROM ref_practice p
            WHERE p.list_size > 0
        )
        SELECT ps.region_code, ps.icb_code, ps.sub_icb_code, ps.imd_quintile, s.age_band, s.sex,
               sum(ps.list_size * s.share) AS population
        FROM practice_structure ps JOIN shares s USING (org_type, org_code)
        GROUP BY ALL
    """,
    # Ethnic category of the imaged (no denominator exists: shares only).
    "rollup_variation_ethnicity_by_provider": f"""
        SELECT r.provider_code, r.activity_month, p.region_code, p.icb_code, p.sub_icb_code,
               r.ethnic_category, {_MEASURE}, count(*)::BIGINT AS records
        {_FROM}
        GROUP BY ALL
    """,
    "rollup_variation_ethnicity": summed(
        "rollup_variation_ethnicity_by_provider", f"{_AREA}, ethnic_category, {_MEASURE_KEYS}", "records"
    ),
    # IMD decile of the patient's LSOA, where a postcode lookup gave the record one.
    "rollup_variation_lsoa_by_provider": f"""
        SELECT r.provider_code, r.activity_month, p.region_code, p.icb_code, p.sub_icb_code,
               r.lsoa_code IS NOT NULL AS has_lsoa, l.imd_decile, {_MEASURE},
               count(*)::BIGINT AS records
        {_FROM}
        LEFT JOIN ref_lsoa l ON l.lsoa_code = r.lsoa_code
        GROUP BY ALL
    """,
    "rollup_variation_lsoa": summed(
        "rollup_variation_lsoa_by_provider", f"{_AREA}, has_lsoa, imd_decile, {_MEASURE_KEYS}", "records"
    ),
    # Patient flows: the registered geography of each provider's patients.
    "rollup_variation_flows": f"""
        SELECT r.activity_month, p.region_code, p.icb_code, p.sub_icb_code, r.provider_code,
               {_MEASURE}, count(*)::BIGINT AS records
        {_FROM}
        GROUP BY ALL
    """,
}

# Areas mix every provider's patients: the split tables are refreshed for the changed
# provider-months, and the changed months of every area are added up again from them. The
# population table reads reference data alone (kept until that changes).
REFRESH = {
    "rollup_variation_area_by_provider": BY_PROVIDER_MONTH,
    "rollup_variation_area": BY_MONTH,
    "rollup_variation_imd_by_provider": BY_PROVIDER_MONTH,
    "rollup_variation_imd": BY_MONTH,
    "rollup_variation_imd_population": FULL,
    "rollup_variation_ethnicity_by_provider": BY_PROVIDER_MONTH,
    "rollup_variation_ethnicity": BY_MONTH,
    "rollup_variation_lsoa_by_provider": BY_PROVIDER_MONTH,
    "rollup_variation_lsoa": BY_MONTH,
    "rollup_variation_flows": BY_PROVIDER_MONTH,
}
