"""Each outsourcing arrangement's work by month (ADR 0010, "Arrangements and gaps"): what the
Outsourced imaging page's gaps are measured on.

An arrangement (provider P has organisation Q perform some of its imaging, `ref_outsourcing`)
shows in the data in two ways, whichever party submits: Q's records whose referring organisation
is P, and P's records at one of Q's sites (per the site reference). Both are counted, month by
month, for every arrangement loaded (its from/to months are applied by the query). An
examination both parties sent is counted in each way it shows; the page shows those pairs beside.
A month whose count falls to nothing, or far below its own history, is one neither party sent.

Reads ref_outsourcing and ref_site: loading new arrangements or sites needs a full publish.
"""

from did_model.rollups import BY_MONTH, Refresh, summed

# Every submitted copy, not the records the counting rule keeps: a copy left out of the figures
# is still the arrangement's work as that party sent it.
EVERY_COPY = ("rollup_outsourced_activity_by_provider",)

# Rows of both parties' records: split by the party that submitted them (`submitted_by`), and
# the changed months added up again over both (ADR 0013).
REFRESH = {
    "rollup_outsourced_activity_by_provider": Refresh(provider="submitted_by", month="activity_month"),
    "rollup_outsourced_activity": BY_MONTH,
}

ROLLUPS = {
    "rollup_outsourced_activity_by_provider": """
        WITH by_performer AS (
            SELECT r.activity_month, r.provider_code AS submitted_by, o.provider_code, o.performing_org_code,
                   count(*) AS records
            FROM record r JOIN ref_outsourcing o
              ON r.provider_code = o.performing_org_code AND r.referring_org_code = o.provider_code
            GROUP BY ALL
        ), by_provider AS (
            SELECT r.activity_month, r.provider_code AS submitted_by, o.provider_code, o.performing_org_code,
                   count(*) AS records
            FROM record r JOIN ref_site s ON s.site_code = r.site_code
            JOIN ref_outsourcing o ON r.provider_code = o.provider_code AND s.provider_code = o.performing_org_code
            GROUP BY ALL
        )
        SELECT activity_month, submitted_by, provider_code, performing_org_code,
               sum(records)::BIGINT AS examinations
        FROM (SELECT * FROM by_performer UNION ALL SELECT * FROM by_provider)
        GROUP BY ALL
    """,
    "rollup_outsourced_activity": summed(
        "rollup_outsourced_activity_by_provider", "activity_month, provider_code, performing_org_code", "examinations"
    ),
}
