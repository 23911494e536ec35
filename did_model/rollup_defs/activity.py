"""Activity by month, provider, modality, patient source and GP-direct-access test group (home page)."""

from did_model.rollups import BY_PROVIDER_MONTH

ROLLUPS = {
    "rollup_activity": """
        SELECT activity_month, provider_code, modality, patient_source, test_group,
               count(*)::BIGINT AS records
        FROM record
        GROUP BY ALL
    """,
}

REFRESH = {"rollup_activity": BY_PROVIDER_MONTH}
