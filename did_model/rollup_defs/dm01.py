"""DID activity by DM01 imaging test (ingest/dm01.py), for reconciling against a DM01 file.

`rollup_dm01_activity`: per activity month × provider × DM01 test, every examination of the test
(all activity categories, as DM01's activity counts waiting-list, planned and unscheduled tests
alike, and every month, v1.0 ones too: the test comes from the NICIP code) and those of them in
the diagnostic waiting list category.
"""

from did_model.dm01 import TEST_JOIN, TEST_SQL
from did_model.rollup_defs.urgency import WAITING_LIST_CATEGORY
from did_model.rollups import BY_PROVIDER_MONTH

REFRESH = {"rollup_dm01_activity": BY_PROVIDER_MONTH}

ROLLUPS = {
    "rollup_dm01_activity": f"""
        SELECT activity_month, provider_code, {TEST_SQL} AS dm01_test, count(*)::BIGINT AS activity,
               count(*) FILTER (WHERE activity_category = '{WAITING_LIST_CATEGORY}')::BIGINT AS waiting_list_tests
        FROM record {TEST_JOIN}
        WHERE {TEST_SQL} IS NOT NULL
        GROUP BY ALL
        ORDER BY activity_month, provider_code, dm01_test
    """,
}
