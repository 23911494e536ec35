"""DM01's five imaging tests and how a record is one of them (the mapping itself is loaded into
`ref_dm01_test` by ingest/dm01.py, which also loads a DM01 file to reconcile against)."""

from __future__ import annotations

TESTS: tuple[str, ...] = ("MRI", "CT", "Non-obstetric ultrasound", "Barium enema", "DEXA")

# A record's DM01 test (NULL: not one), for a query over `record` joined as below: by NICIP code,
# else by SNOMED CT code through ref_nicip. Table names only, no input.
TEST_JOIN = """
    LEFT JOIN ref_dm01_test dm01_by_nicip ON dm01_by_nicip.nicip_code = record.nicip_code
    LEFT JOIN (SELECT n.snomed_code, min(t.dm01_test) AS dm01_test
               FROM ref_nicip n JOIN ref_dm01_test t USING (nicip_code)
               WHERE n.snomed_code IS NOT NULL GROUP BY n.snomed_code) dm01_by_snomed
           ON record.nicip_code IS NULL AND dm01_by_snomed.snomed_code = record.snomed_code"""
TEST_SQL = "coalesce(dm01_by_nicip.dm01_test, dm01_by_snomed.dm01_test)"
