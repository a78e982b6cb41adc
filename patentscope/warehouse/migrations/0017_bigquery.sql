-- 0017_bigquery: runs of `patentscope ingest bigquery` and the family table its script computes
-- (patentscope/ingest/bigquery.py, docs/ingest-world.md "BigQuery"). Written in the same
-- transaction as the run's patent rows.

-- One row per BigQuery ingest run (live or from an export), beside its ingest_runs row.
CREATE TABLE bigquery_runs (
    run_id            BIGINT PRIMARY KEY,        -- ingest_runs.run_id
    route             VARCHAR NOT NULL CHECK (route IN ('live', 'export')),
    sql_sha256        VARCHAR,                   -- SHA-256 of the script text (NULL: export of unknown SQL)
    parameters        VARCHAR,                   -- JSON: the bound query parameters
    job_id            VARCHAR,                   -- BigQuery job id (live route)
    location          VARCHAR,
    billing_project   VARCHAR,
    bytes_processed   BIGINT,                    -- totalBytesProcessed of the job (NULL: unknown)
    bytes_billed      BIGINT,                    -- totalBytesBilled of the job (NULL: unknown)
    dataset_snapshot  VARCHAR,                   -- lastModifiedTime of the source table as the job saw it (NULL: unknown)
    landscape_version VARCHAR,
    since             DATE,                      -- the publication-date cursor of an increment (NULL: full)
    files             VARCHAR                    -- JSON: the export files read (export route)
);

-- One row per DOCDB family the script saw (for every publication touched), latest run wins.
CREATE TABLE bigquery_families (
    family_id               VARCHAR PRIMARY KEY,
    earliest_priority_date  DATE,
    members                 VARCHAR[],           -- publication numbers as Google writes them (US-4770723-A)
    offices                 VARCHAR[],
    assignees_harmonized    VARCHAR[],
    in_landscape            BOOLEAN NOT NULL,    -- any member is in the landscape
    member_count            INTEGER NOT NULL,
    run_id                  BIGINT NOT NULL
);
