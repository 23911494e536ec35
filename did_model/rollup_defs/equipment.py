"""Scanner activity for the utilisation view (dashboard/views/equipment.py).

- `rollup_equipment_daily`: examinations per site, modality and test date. Operating days,
  the weekday profile, weekend and bank-holiday shares and the monthly trend all come from it.
- `rollup_equipment_mix`: examinations per site, activity month, modality and body area — the
  case mix that typical examination durations turn into scanner minutes.

Sizes at national scale (≈600 sites): daily ≈ 600 × 365 × 8 ≈ 1.8 M rows a year; mix well under
1 M rows a year.
"""

from did_model.rollups import BY_PROVIDER_MONTH, Refresh

ROLLUPS = {
    "rollup_equipment_daily": """
        SELECT site_code, provider_code, coalesce(modality, 'Unknown') AS modality, test_date,
               count(*)::BIGINT AS records
        FROM record
        GROUP BY ALL
        ORDER BY modality, site_code, test_date
    """,
    "rollup_equipment_mix": """
        SELECT site_code, provider_code, activity_month, coalesce(modality, 'Unknown') AS modality,
               coalesce(body_area, 'Other') AS body_area, count(*)::BIGINT AS records
        FROM record
        GROUP BY ALL
        ORDER BY modality, site_code, activity_month
    """,
}

# The daily table has no activity month column: the month of its test date is the record's
# activity month (the loader derives one from the other).
REFRESH = {
    "rollup_equipment_daily": Refresh(provider="provider_code", month="date_trunc('month', test_date)::DATE"),
    "rollup_equipment_mix": BY_PROVIDER_MONTH,
}
