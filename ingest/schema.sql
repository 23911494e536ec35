-- The working store (architecture §4). Created by ingest.store.create_store; never edited by hand.
-- Reference tables ref_* are (re)built by ingest.reference.load_reference.

CREATE SEQUENCE IF NOT EXISTS submission_id_seq START 1;

-- One row per file received, whatever was decided about it.
CREATE TABLE IF NOT EXISTS submission (
    submission_id      BIGINT PRIMARY KEY DEFAULT nextval('submission_id_seq'),
    provider_code      VARCHAR NOT NULL,
    period             DATE NOT NULL,          -- submission month, first day
    received_at        TIMESTAMP NOT NULL,     -- when the file was loaded
    submitted_on       DATE NOT NULL,          -- the submission date the rules use
    file_name          VARCHAR NOT NULL,
    sha256             VARCHAR NOT NULL,
    format             VARCHAR NOT NULL,       -- csv / xml
    status             VARCHAR NOT NULL,       -- accepted / rejected / superseded
    timeliness         VARCHAR,                -- on_time / late (against the timetable)
    rows_read          BIGINT NOT NULL,
    rows_accepted      BIGINT NOT NULL,
    rows_rejected      BIGINT NOT NULL,
    rows_with_warnings BIGINT NOT NULL,
    rows_replaced      BIGINT NOT NULL DEFAULT 0,  -- records that replaced an earlier version
    superseded_by      BIGINT,
    file_errors        VARCHAR                 -- JSON list of file-level errors, when rejected
);

-- Accepted examinations, pseudonymised: no NHS number, birth date or full postcode.
-- Holds the current version of each (site_code, accession_number) only.
CREATE TABLE IF NOT EXISTS record (
    submission_id         BIGINT NOT NULL,
    provider_code         VARCHAR NOT NULL,
    site_code             VARCHAR NOT NULL,
    accession_number      VARCHAR NOT NULL,
    patient_pseudo_id     VARCHAR,             -- keyed hash of the NHS number
    nhs_number_status     VARCHAR,
    age_at_test           SMALLINT,
    sex                   VARCHAR,             -- PERSON GENDER CODE: 0/1/2/9
    ethnic_category       VARCHAR,
    postcode_district     VARCHAR,             -- outward code only
    lsoa_code             VARCHAR,             -- when a postcode lookup is loaded
    practice_code         VARCHAR,
    patient_source        VARCHAR NOT NULL,    -- 01..07
    referrer_code         VARCHAR,
    referring_org_code    VARCHAR,
    request_date          DATE,
    request_received_date DATE,
    test_date             DATE NOT NULL,
    report_date           DATE,
    nicip_code            VARCHAR,
    snomed_code           VARCHAR,
    local_code            VARCHAR,             -- the provider's own code, when it was mapped
    modality              VARCHAR,             -- derived from NICIP (ref_nicip)
    body_area             VARCHAR,
    test_group            VARCHAR,             -- GP-direct-access cancer test group, if any
    activity_month        DATE NOT NULL,       -- first day of the test date's month
    -- DIDS v2.0 items (NULL for v1.0 records). The timestamps are in UTC and for the central team:
    -- pages and exports show dates (the test and report dates are their UK local dates, ADR 0009).
    priority              VARCHAR,             -- SERVICE REQUEST PRIORITY TYPE 1/2/3
    activity_category     VARCHAR,             -- DIAGNOSTIC IMAGING ACTIVITY CATEGORY (spec pack code)
    waiting_list_clock_start DATE,
    procedure_start_utc   TIMESTAMP,
    procedure_end_utc     TIMESTAMP,
    report_issue_utc      TIMESTAMP
);

-- The imaging sites each accepted submission sent records for. A record is identified by
-- (site_code, accession_number), so an earlier version of a record arriving now can only be in a
-- submission listed here for one of its sites: the loader looks for it in those submissions'
-- rows alone (zone maps on submission_id skip the rest), at a cost that does not grow with the
-- store.
CREATE TABLE IF NOT EXISTS submission_site (
    submission_id BIGINT NOT NULL,
    site_code     VARCHAR NOT NULL
);

-- Every rejection and warning.
CREATE TABLE IF NOT EXISTS issue (
    submission_id BIGINT NOT NULL,
    line          BIGINT,                      -- 1-based line (CSV, header counted) or record number (XML)
    code          VARCHAR NOT NULL,            -- DIDSnnn
    severity      VARCHAR NOT NULL,            -- reject / warning / file
    field         VARCHAR,
    message       VARCHAR NOT NULL
);

-- Raw text of rejected records: for the submitting provider and the central team only.
CREATE TABLE IF NOT EXISTS quarantine (
    submission_id BIGINT NOT NULL,
    line          BIGINT NOT NULL,
    raw           VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);

-- Store metadata: schema version, snapshot version.
CREATE TABLE IF NOT EXISTS store_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Local procedure codes a provider has notified, each mapped to a national NICIP code.
CREATE TABLE IF NOT EXISTS local_code (
    provider_code VARCHAR NOT NULL,
    local_code    VARCHAR NOT NULL,
    nicip_code    VARCHAR NOT NULL,
    notified_at   TIMESTAMP NOT NULL,
    notified_by   VARCHAR,
    PRIMARY KEY (provider_code, local_code)
);

-- Imaging sites (ODS site codes) and their providers. Loaded from a real ODS site file when
-- one is available, or from the synthetic generator's sites.csv for the demo.
CREATE TABLE IF NOT EXISTS ref_site (
    site_code     VARCHAR PRIMARY KEY,
    provider_code VARCHAR NOT NULL,
    site_name     VARCHAR,
    provider_name VARCHAR,
    provider_type VARCHAR,
    synthetic     BOOLEAN NOT NULL DEFAULT false,
    latitude      DOUBLE,
    longitude     DOUBLE,
    open_date     DATE,
    close_date    DATE
);

-- Scanners per site and modality (synthetic for the demo; `did reference load-equipment`).
CREATE TABLE IF NOT EXISTS ref_equipment (
    site_code                VARCHAR NOT NULL,
    modality                 VARCHAR NOT NULL,
    scanners                 INTEGER NOT NULL,
    scheduled_hours_per_week DOUBLE,
    synthetic                BOOLEAN NOT NULL DEFAULT false
);

-- Postcode -> LSOA (an ONSPD-style lookup). Empty until one is loaded; while empty, postcode
-- existence (DIDS016) is not checked and records carry no LSOA.
CREATE TABLE IF NOT EXISTS ref_postcode (
    postcode  VARCHAR PRIMARY KEY,
    lsoa_code VARCHAR
);

-- SNOMED CT imaging refset membership (999001111000000105). Empty until loaded; while empty
-- only the code's own check digit and partition are verified (DIDS059).
CREATE TABLE IF NOT EXISTS ref_snomed (
    snomed_code VARCHAR PRIMARY KEY,
    active      BOOLEAN NOT NULL
);

-- NICIP codes retired in an official release (DIDS077). Empty for the shipped code list.
CREATE TABLE IF NOT EXISTS ref_nicip_retired (
    nicip_code VARCHAR PRIMARY KEY,
    retired_on DATE NOT NULL
);

-- A spec pack installed by `did reference load-spec DIR` (ingest/spec_pack.py): its CSV files'
-- text, per DIDS version. Empty until one is installed; the shipped pack applies meanwhile.
CREATE TABLE IF NOT EXISTS ref_spec_pack (
    version   VARCHAR NOT NULL,
    file      VARCHAR NOT NULL,
    content   VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

-- Outsourced imaging submitted by two providers (ingest.duplicates, ADR 0010): rebuilt at every
-- publish. One row per pair of copies; `counted` names the copy the figures keep, and `removed`
-- says the other is left out of every rollup (exact pairs, while count_duplicates is 'once').
CREATE TABLE IF NOT EXISTS duplicate_pair (
    match              VARCHAR NOT NULL,       -- exact (same NICIP code) / near (same body area)
    activity_month     DATE NOT NULL,
    modality           VARCHAR NOT NULL,
    a_submission_id    BIGINT NOT NULL,
    a_provider_code    VARCHAR NOT NULL,       -- a_provider_code < b_provider_code
    a_site_code        VARCHAR NOT NULL,
    a_accession_number VARCHAR NOT NULL,
    a_test_date        DATE NOT NULL,
    b_submission_id    BIGINT NOT NULL,
    b_provider_code    VARCHAR NOT NULL,
    b_site_code        VARCHAR NOT NULL,
    b_accession_number VARCHAR NOT NULL,
    b_test_date        DATE NOT NULL,
    counted            VARCHAR NOT NULL,       -- a / b
    decided_by         VARCHAR NOT NULL,       -- site_owner / earliest_submission
    removed            BOOLEAN NOT NULL
);

-- The `record` fingerprints (provider × activity month) when `duplicate_pair` was last searched
-- (ingest/duplicates.py): the next search looks again only at what changed. Working store only.
CREATE TABLE IF NOT EXISTS duplicate_search (
    provider_code      VARCHAR NOT NULL,
    activity_month     DATE NOT NULL,
    rows               BIGINT NOT NULL,
    submission_id_sum  HUGEINT NOT NULL
);

-- `record`'s fingerprints (provider × activity month: rows, sum of submission ids) as they are now,
-- kept by every load in its own transaction (ingest/incremental.py), so that a publish reads them
-- instead of counting every record again (ADR 0015). Working store only.
CREATE TABLE IF NOT EXISTS record_fingerprint (
    provider_code      VARCHAR NOT NULL,
    activity_month     DATE NOT NULL,
    rows               BIGINT NOT NULL,
    submission_id_sum  HUGEINT NOT NULL
);

-- Outsourcing arrangements (ingest/outsourcing.py, `did reference load-outsourcing`): the
-- commissioning provider sends examinations to the performing organisation in these months.
CREATE TABLE IF NOT EXISTS ref_outsourcing (
    provider_code       VARCHAR NOT NULL,
    performing_org_code VARCHAR NOT NULL,
    from_month          DATE NOT NULL,         -- first day of the first activity month covered
    to_month            DATE                   -- first day of the last; NULL while in force
);

-- The DM01 imaging test of each NICIP code that is one (ingest/dm01.py, from data/reference/dm01/).
CREATE TABLE IF NOT EXISTS ref_dm01_test (
    nicip_code VARCHAR PRIMARY KEY,
    dm01_test  VARCHAR NOT NULL               -- MRI / CT / Non-obstetric ultrasound / Barium enema / DEXA
);

-- A DM01 activity and waiting-list file (`did reference load-dm01`), for the reconciliation view.
CREATE TABLE IF NOT EXISTS ref_dm01 (
    period           DATE NOT NULL,           -- first day of the month
    provider_code    VARCHAR NOT NULL,
    dm01_test        VARCHAR NOT NULL,
    activity         BIGINT NOT NULL,
    waiting_total    BIGINT NOT NULL,
    waiting_6wk_plus BIGINT NOT NULL
);
