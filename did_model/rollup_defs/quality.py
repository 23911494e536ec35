"""Submission completeness and data quality (Completeness, Data quality and Provider detail pages).

Three small tables, rebuilt at every publish, so that the pages never scan `record`:

- `rollup_quality_item` — one row per current (accepted) submission × DID data item: records
  in the file, records held now, and how many were invalid, incomplete or a default value.
  Validity comes from the `issue` table (each rule names its field, `ingest.validation.RULES`),
  completeness and defaults from the held records — one GROUP BY over `record` and one over
  `issue`, joined; no per-rule or per-item scan.
- `rollup_quality_issue` — every submission (accepted, superseded or rejected) × DIDS code ×
  severity × field: issues and distinct lines.
- `rollup_quality_volume` — current records by provider × activity month × modality.

The method (what counts as valid, complete and default for each of the 18 items) is written
down in docs/dqmi-method.md; `ITEMS` below is its one definition in code.
"""

from __future__ import annotations

from dataclasses import dataclass

from did_model.rollups import BY_PROVIDER, BY_PROVIDER_MONTH


@dataclass(frozen=True)
class QualityItem:
    field: str  # the DID item (did_model.spec field name, as issue.field holds it)
    # SQL over `record`: true when the item was not supplied; None when absence is legitimate
    # and completeness is not scored (see docs/dqmi-method.md).
    missing: str | None
    # SQL over `record`: true when the item holds a default ("not known") value; None if none.
    default: str | None = None
    # Share of records that may carry the default before it counts against the score.
    tolerance: float = 0.0


ITEMS: tuple[QualityItem, ...] = (
    QualityItem("nhs_number", "patient_pseudo_id IS NULL"),
    QualityItem("nhs_number_status", "nhs_number_status IS NULL"),
    QualityItem("birth_date", "age_at_test IS NULL"),
    QualityItem("ethnic_category", "ethnic_category IS NULL", "ethnic_category IN ('Z', '99')", 0.25),
    QualityItem("gender", "sex IS NULL", "sex IN ('0', '9')", 0.01),
    QualityItem("postcode", "postcode_district IS NULL", "postcode_district = 'ZZ99'", 0.02),
    QualityItem("practice_code", "practice_code IS NULL", "practice_code IN ('V81997', 'V81998', 'V81999')", 0.05),
    QualityItem("patient_source", "patient_source IS NULL"),
    QualityItem("referrer_code", "referrer_code IS NULL"),
    QualityItem("referring_org_code", "referring_org_code IS NULL"),
    QualityItem("request_date", "request_date IS NULL"),
    QualityItem("request_received_date", "request_received_date IS NULL"),
    QualityItem("test_date", "test_date IS NULL"),
    # One of the two procedure codes is mandatory (DIDS056): either counts as complete for both.
    QualityItem("nicip_code", "nicip_code IS NULL AND snomed_code IS NULL"),
    QualityItem("snomed_code", "nicip_code IS NULL AND snomed_code IS NULL"),
    # Absent until the report is issued: completeness is not scored, validity is.
    QualityItem("report_date", None),
    QualityItem("site_code", "site_code IS NULL"),
    QualityItem("accession_number", "accession_number IS NULL"),
)

BY_FIELD: dict[str, QualityItem] = {i.field: i for i in ITEMS}


def _held_structs() -> str:
    """One struct per item of the per-submission counts over `record` (constants from ITEMS)."""
    parts = []
    for position, item in enumerate(ITEMS, start=1):
        missing = f"count(*) FILTER (WHERE {item.missing})" if item.missing else "0"
        default = f"count(*) FILTER (WHERE {item.default})" if item.default else "0"
        parts.append(
            f"{{'item': '{item.field}', 'position': {position}, 'incomplete': {missing}, 'defaults': {default}}}"
        )
    return ", ".join(parts)


_ITEM_VALUES = ", ".join(f"('{item.field}', {position})" for position, item in enumerate(ITEMS, start=1))

ROLLUPS = {
    "rollup_quality_item": f"""
        WITH items(item, position) AS (VALUES {_ITEM_VALUES}),
        held AS (
            SELECT submission_id, held, x.item, x.incomplete, x.defaults
            FROM (
                SELECT submission_id, count(*) AS held, unnest([{_held_structs()}]) AS x
                FROM record GROUP BY submission_id
            )
        ),
        invalid AS (
            SELECT submission_id, field AS item,
                   count(DISTINCT line) AS invalid,
                   count(DISTINCT line) FILTER (WHERE severity = 'reject') AS rejected,
                   count(DISTINCT line) FILTER (WHERE severity = 'warning') AS warned
            FROM issue
            WHERE field IS NOT NULL AND line IS NOT NULL
            GROUP BY ALL
        ),
        current AS (SELECT * FROM submission WHERE status = 'accepted')
        SELECT s.submission_id, s.provider_code, s.period, i.item, i.position,
               s.rows_read::BIGINT AS records,
               coalesce(h.held, 0)::BIGINT AS held,
               coalesce(v.invalid, 0)::BIGINT AS invalid,
               coalesce(v.rejected, 0)::BIGINT AS rejected,
               coalesce(v.warned, 0)::BIGINT AS warned,
               coalesce(h.incomplete, 0)::BIGINT AS incomplete,
               coalesce(h.defaults, 0)::BIGINT AS defaults
        FROM current s
        CROSS JOIN items i
        LEFT JOIN held h ON h.submission_id = s.submission_id AND h.item = i.item
        LEFT JOIN invalid v ON v.submission_id = s.submission_id AND v.item = i.item
    """,
    "rollup_quality_issue": """
        SELECT i.submission_id, s.provider_code, s.period, s.status, i.code, i.severity, i.field,
               count(*)::BIGINT AS issues, count(DISTINCT i.line)::BIGINT AS lines
        FROM issue i JOIN submission s USING (submission_id)
        GROUP BY ALL
    """,
    "rollup_quality_volume": """
        SELECT provider_code, activity_month, coalesce(modality, 'Unknown') AS modality,
               count(*)::BIGINT AS records
        FROM record
        GROUP BY ALL
    """,
}

# One row per submission (item) or per submission and issue code: a provider's rows change with its
# records, submissions and issues, never with another provider's.
REFRESH = {
    "rollup_quality_item": BY_PROVIDER,
    "rollup_quality_issue": BY_PROVIDER,
    "rollup_quality_volume": BY_PROVIDER_MONTH,
}
