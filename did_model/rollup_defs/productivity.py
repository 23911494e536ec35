"""Scanner productivity by the hour from the DIDS v2.0 procedure timestamps (issue 20 item 4;
queries/productivity.py).

`rollup_scanner_hours`: one row per activity month × provider × site × modality × weekday
(ISO, 1 = Monday) × hour of the UK local clock (Europe/London) at which the procedure started:
- `examinations`: procedures started in that hour;
- `operating_hours`: the local dates on which at least one started — each is one OPERATING
  HOUR, a site × modality × local date × clock hour with at least one examination started.
  The DID holds no session or rota data, and the inventory's scheduled hours are a weekly total
  with no clock times, so an hour in which a scan began is the one hour the data can show the
  scanner ran. The cells of the key are disjoint, so operating hours add up across any of them;
  scans per operating hour = Σ examinations ÷ Σ operating_hours;
- `timed`, `scanner_minutes`: the examinations with a usable duration (end − start from 0 to
  24 hours) and their minutes, for utilisation from MEASURED time;
- `dropped_durations`: examinations whose end is before their start or more than 24 hours
  after it (a mistyped timestamp), kept out of the minutes and counted so the page can say so.
  An examination with no end is in `examinations` only.

Obstetric ultrasound is left out: the guidance band is for non-obstetric ultrasound, and the
two mixed in one operating hour could not be told apart again.

Only months from `V2_FIRST_MONTH` count, as for waits by urgency: a v1.0 month has no times.
At national scale (≈600 sites, ≈5 modalities each, ≈90 weekday-hours open) about 3 M rows a year.
"""

from did_model.rollup_defs.urgency import V2_FIRST_MONTH
from did_model.rollups import BY_PROVIDER_MONTH

MAX_SECONDS = 24 * 60 * 60
_LOCAL_START = "((procedure_start_utc AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/London')"
_USABLE = f"seconds BETWEEN 0 AND {MAX_SECONDS}"

REFRESH = {"rollup_scanner_hours": BY_PROVIDER_MONTH}

ROLLUPS = {
    "rollup_scanner_hours": f"""
        WITH timed AS (
            SELECT activity_month, provider_code, site_code, coalesce(modality, 'Unknown') AS modality,
                   {_LOCAL_START} AS local_start,
                   date_diff('second', procedure_start_utc, procedure_end_utc) AS seconds
            FROM record
            WHERE activity_month >= DATE '{V2_FIRST_MONTH}' AND procedure_start_utc IS NOT NULL
              AND NOT (modality = 'Ultrasound' AND coalesce(body_area, '') = 'Obstetric')
        )
        SELECT activity_month, provider_code, site_code, modality,
               isodow(local_start)::TINYINT AS weekday, hour(local_start)::TINYINT AS hour,
               count(*)::BIGINT AS examinations,
               count(DISTINCT local_start::DATE)::BIGINT AS operating_hours,
               count(*) FILTER (WHERE {_USABLE})::BIGINT AS timed,
               coalesce(sum(seconds) FILTER (WHERE {_USABLE}), 0) / 60.0 AS scanner_minutes,
               count(*) FILTER (WHERE NOT {_USABLE})::BIGINT AS dropped_durations
        FROM timed
        GROUP BY ALL
        ORDER BY modality, site_code, activity_month
    """,
}
