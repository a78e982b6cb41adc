-- 0001_core: the core schema. Documented table by table in docs/schema.md (keep it true).
-- Identifiers: pub_key = 'CC-NUMBER' (e.g. 'US-4770723'); pub_number = 'CC-NUMBER-KIND'.

CREATE SEQUENCE ingest_run_seq START 1;

CREATE TABLE ingest_runs (
    run_id        BIGINT PRIMARY KEY DEFAULT nextval('ingest_run_seq'),
    source        VARCHAR NOT NULL,          -- 'sample', 'file', 'bulk', 'odp', 'ops', ...
    command       VARCHAR NOT NULL,          -- what was run, without secrets
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    rows_read     BIGINT DEFAULT 0,
    rows_loaded   BIGINT DEFAULT 0,
    rows_rejected BIGINT DEFAULT 0,
    message       VARCHAR
);

-- Every payload as fetched or read, before normalizing: what was asked, when, its hash.
CREATE TABLE raw_landing (
    payload_sha256 VARCHAR PRIMARY KEY,
    source         VARCHAR NOT NULL,
    request        VARCHAR NOT NULL,         -- URL without credentials, or the file path
    fetched_at     TIMESTAMP NOT NULL,
    content_type   VARCHAR,
    byte_size      BIGINT NOT NULL,
    stored_path    VARCHAR,                  -- where the bytes are kept (warehouse/raw/...)
    run_id         BIGINT
);

-- Incremental cursors, written in the same transaction as the rows they describe.
CREATE TABLE ingest_state (
    source      VARCHAR PRIMARY KEY,
    cursor      VARCHAR,                     -- JSON
    updated_at  TIMESTAMP NOT NULL,
    run_id      BIGINT
);

CREATE TABLE publications (
    pub_key             VARCHAR PRIMARY KEY,  -- 'US-4770723'
    pub_number          VARCHAR NOT NULL,     -- 'US-4770723-A' (kind of the most advanced document seen)
    number_as_received  VARCHAR NOT NULL,
    country             VARCHAR NOT NULL,     -- office: US, EP, JP, CN, KR, WO, ...
    doc_number          VARCHAR NOT NULL,
    kind                VARCHAR,              -- NULL when no source showed it
    kinds_seen          VARCHAR[],
    is_grant            BOOLEAN,              -- from the kind code; NULL when unknown
    title               VARCHAR,
    abstract            VARCHAR,
    application_number  VARCHAR,              -- tidied; as-received in field_values
    priority_date       DATE,                 -- earliest priority shown by a source
    filing_date         DATE,
    publication_date    DATE,
    grant_date          DATE,
    family_id           VARCHAR NOT NULL,     -- DOCDB simple family id, else 'PUB:' || pub_key
    family_id_source    VARCHAR NOT NULL CHECK (family_id_source IN ('docdb', 'inpadoc', 'publication')),
    status_as_shown     VARCHAR,              -- a source's legal status text, not a conclusion
    expiry_as_shown     VARCHAR,              -- a source's estimate, not a conclusion
    in_landscape        BOOLEAN NOT NULL,
    landscape_reason    VARCHAR,              -- 'cpc:H01F1/0577', 'keyword:R-T-B', 'curated:explicit'
    relevance           VARCHAR,              -- curated relevance where a source gives one
    source              VARCHAR NOT NULL,     -- the source of the row's first load
    source_url          VARCHAR,              -- the public page of the record
    updated_run_id      BIGINT
);

-- Every value each source showed for each field, and which one the publication row carries.
CREATE TABLE field_values (
    pub_key        VARCHAR NOT NULL,
    field          VARCHAR NOT NULL,
    value          VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    source_record  VARCHAR NOT NULL,          -- the source's own record id (e.g. NDW0001)
    source_url     VARCHAR,
    chosen         BOOLEAN NOT NULL,          -- the value publications carries
    PRIMARY KEY (pub_key, field, source, source_record)
);

CREATE TABLE parties (
    pub_key          VARCHAR NOT NULL,
    role             VARCHAR NOT NULL CHECK (role IN ('applicant', 'original_assignee', 'current_assignee', 'inventor')),
    seq              INTEGER NOT NULL,         -- order as listed, from 1
    name_as_written  VARCHAR NOT NULL,
    country          VARCHAR,                  -- party's country where shown
    source           VARCHAR NOT NULL,
    source_field     VARCHAR,                  -- the label the source used ('(71) Applicant', ...)
    PRIMARY KEY (pub_key, role, source, seq)
);

CREATE TABLE classifications (
    pub_key            VARCHAR NOT NULL,
    scheme             VARCHAR NOT NULL CHECK (scheme IN ('CPC', 'IPC')),
    symbol             VARCHAR NOT NULL,       -- canonical, no spaces: 'H01F1/0577'
    symbol_as_written  VARCHAR,
    position           INTEGER NOT NULL,       -- 1 = first listed
    version            VARCHAR,                -- IPC version '2006.01' where shown
    source             VARCHAR NOT NULL,
    PRIMARY KEY (pub_key, scheme, symbol, source)
);

CREATE TABLE citations (
    citing_pub_key     VARCHAR NOT NULL,
    cited_as_written   VARCHAR NOT NULL,
    cited_pub_key      VARCHAR,                -- canonical 'CC-NUMBER' when it could be read
    cited_year         INTEGER,
    category           VARCHAR,                -- search-report category (X, Y, A, ...) where shown
    reference_type     VARCHAR,                -- 'patent', 'npl', as the source names it
    cited_by           VARCHAR,                -- 'examiner', 'applicant' where shown
    source             VARCHAR NOT NULL,
    source_url         VARCHAR,
    PRIMARY KEY (citing_pub_key, cited_as_written, source)
);

CREATE TABLE families (
    family_id       VARCHAR PRIMARY KEY,
    id_source       VARCHAR NOT NULL,          -- 'docdb', 'inpadoc', 'publication'
    source          VARCHAR NOT NULL,
    note            VARCHAR
);

CREATE TABLE priority_claims (
    pub_key            VARCHAR NOT NULL,
    seq                INTEGER NOT NULL,
    claim_as_written   VARCHAR NOT NULL,
    priority_country   VARCHAR,
    priority_number    VARCHAR,
    priority_date      DATE,
    claim_type         VARCHAR,                -- 'foreign', 'provisional', 'continuation', 'pct', NULL
    source             VARCHAR NOT NULL,
    PRIMARY KEY (pub_key, source, seq)
);

CREATE TABLE legal_events (
    pub_key           VARCHAR NOT NULL,
    jurisdiction      VARCHAR NOT NULL,         -- where the event applies (EP bundle: DE, FR, ...)
    event_date        DATE NOT NULL,
    event_code        VARCHAR NOT NULL,
    description       VARCHAR,
    effect            VARCHAR,                  -- 'lapse', 'fee_paid', 'expiry', 'revocation', ...
    source            VARCHAR NOT NULL,
    PRIMARY KEY (pub_key, jurisdiction, event_date, event_code, source)
);

-- "Also published as", priority-to and other links as a source states them.
CREATE TABLE related_publications (
    pub_key              VARCHAR NOT NULL,
    related_as_written   VARCHAR NOT NULL,
    related_pub_key      VARCHAR,
    relation             VARCHAR NOT NULL,      -- 'other_version', 'priority_to', 'also_published_as'
    source               VARCHAR NOT NULL,
    PRIMARY KEY (pub_key, related_as_written, relation, source)
);

-- Rows an ingest could not load, with where and why. Nothing else of a bad row is loaded.
CREATE TABLE quarantine (
    run_id      BIGINT NOT NULL,
    source      VARCHAR NOT NULL,
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    col         VARCHAR,
    reason      VARCHAR NOT NULL,
    raw_row     VARCHAR
);

-- Dated licensing / litigation statements with their sources (reference data, not patents).
CREATE TABLE licensing_facts (
    fact_id            VARCHAR PRIMARY KEY,
    subject            VARCHAR NOT NULL,
    statement          VARCHAR NOT NULL,
    date_of_statement  VARCHAR,
    source_url         VARCHAR,
    source_type        VARCHAR
);

-- Patents a holder lists as its own (e.g. Showa Denko's notice), with the source.
CREATE TABLE holder_declared_patents (
    holder             VARCHAR NOT NULL,
    office             VARCHAR NOT NULL,
    number_as_written  VARCHAR NOT NULL,
    pub_key            VARCHAR,
    source_url         VARCHAR,
    source_statement   VARCHAR,
    PRIMARY KEY (holder, number_as_written)
);
