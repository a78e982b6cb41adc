-- 0012_jobs: scheduled ingest jobs (`patentscope ingest --all`, patentscope/jobs.py, docs/jobs.md).
-- One job_runs row per `ingest --all`; one job_steps row per source (and 'analyze') it ran,
-- pointing at the ingest_runs rows the source's ingestor wrote; job_state keeps each
-- configured source's incremental position as the job sees it (date windows, file fingerprints).
-- Written outside the ingestors' transactions: a kill between a batch's commit and these rows
-- only makes the next job repeat a little work (upserts make that safe).

CREATE SEQUENCE job_run_seq START 1;

CREATE TABLE job_runs (
    job_id       BIGINT PRIMARY KEY DEFAULT nextval('job_run_seq'),
    command      VARCHAR NOT NULL,           -- as run, without secrets
    config_file  VARCHAR,                    -- the patentscope.toml used
    pid          INTEGER,
    started_at   TIMESTAMP NOT NULL,         -- UTC
    finished_at  TIMESTAMP,
    -- running; ok; partial = some steps failed, the others saved; failed = every source failed;
    -- interrupted = found 'running' by a later job (the process was killed)
    status       VARCHAR NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    exit_code    INTEGER,
    sources      VARCHAR[],                  -- the configured sources it set out to run, in order
    message      VARCHAR
);

CREATE TABLE job_steps (
    job_id        BIGINT NOT NULL,
    step          VARCHAR NOT NULL,          -- a configured source ('sample', 'file', 'ops', 'uspto_bulk', 'uspto_odp', 'maintfee') or 'analyze'
    seq           INTEGER NOT NULL,          -- order within the job, from 1
    source        VARCHAR,                   -- the ingest_runs.source it writes ('sample', 'file', 'ops', 'bulk', 'odp', 'maintfee', 'analyze')
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL CHECK (status IN ('running', 'ok', 'skipped', 'failed')),
    run_ids       BIGINT[],                  -- ingest_runs rows written during the step
    rows_read     BIGINT,
    rows_loaded   BIGINT,
    rows_rejected BIGINT,                    -- quarantined rows (the step is still 'ok')
    counts        VARCHAR,                   -- JSON: rows written per table
    window_from   DATE,                      -- the date window asked for (ops: publication date; uspto_odp: filing date)
    window_to     DATE,
    error         VARCHAR,                   -- why it failed (secret-free)
    error_kind    VARCHAR,                   -- 'config', 'locked', 'warehouse', 'disk', 'source', 'input', 'internal', 'interrupted'
    PRIMARY KEY (job_id, step)
);

CREATE TABLE job_state (
    source      VARCHAR PRIMARY KEY,         -- a configured source name
    state       VARCHAR NOT NULL,            -- JSON (see docs/jobs.md)
    updated_at  TIMESTAMP NOT NULL,
    job_id      BIGINT
);
