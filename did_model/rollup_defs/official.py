"""Rollups for the official outputs (queries/official.py, queries/dose.py; issue #10).

- rollup_official_commissioner: activity by month × commissioner × modality × patient source ×
  GP-direct-access test group. Commissioner = the sub-ICB (and ICB) of the patient's registered
  practice, as in the official DID tables, from ref_practice (2026 geography). Records whose
  practice is blank or not in the practice map have a null sub-ICB and ICB.
- rollup_official_dose: activity by month × modality × NICIP code × age band × sex, for the
  frequency and collective-dose tables. The typical dose is joined from ref_nicip when queried,
  so a NICIP release loaded later changes the doses at the next publish without new counts.

The queries read these tables when the snapshot has them and otherwise run the very same SELECT
as a subquery (`queries.official.rollup_source`): a store published before this module existed
gives identical figures, a little more slowly. Each is the sum over providers of a table split
by provider (`*_by_provider`), which a resubmission refreshes for its own months (ADR 0013).
"""

from did_model.demography import dose_age_band_sql, sex_sql
from did_model.rollups import BY_MONTH, BY_PROVIDER_MONTH, summed

# The dose tables' age bands and the sex recode: did_model.demography.
_AGE_BAND_SQL = dose_age_band_sql("age_at_test")
_SEX_SQL = sex_sql("sex")

ROLLUPS = {
    "rollup_official_commissioner_by_provider": """
        SELECT r.provider_code, r.activity_month, p.sub_icb_code, p.icb_code, r.modality, r.patient_source,
               r.test_group, count(*)::BIGINT AS records
        FROM record r
        LEFT JOIN ref_practice p ON p.practice_code = r.practice_code
        GROUP BY ALL
    """,
    "rollup_official_commissioner": summed(
        "rollup_official_commissioner_by_provider",
        "activity_month, sub_icb_code, icb_code, modality, patient_source, test_group",
        "records",
    ),
    "rollup_official_dose_by_provider": f"""
        SELECT provider_code, activity_month, modality, nicip_code, ({_AGE_BAND_SQL}) AS age_band,
               ({_SEX_SQL}) AS sex, count(*)::BIGINT AS records
        FROM record
        GROUP BY ALL
    """,
    "rollup_official_dose": summed(
        "rollup_official_dose_by_provider", "activity_month, modality, nicip_code, age_band, sex", "records"
    ),
}

REFRESH = {
    "rollup_official_commissioner_by_provider": BY_PROVIDER_MONTH,
    "rollup_official_commissioner": BY_MONTH,
    "rollup_official_dose_by_provider": BY_PROVIDER_MONTH,
    "rollup_official_dose": BY_MONTH,
}
