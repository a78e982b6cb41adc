-- 0020_child_keys: the per-publication child tables keep their keys without an index (issue 18
-- item 6, issue 17's landing; docs/schema.md "Keys of the child tables").
--
-- Every save replaces a source's child rows of the publications it writes (DELETE, then
-- INSERT), so these tables never take an upsert; their PRIMARY KEY indexes only served as a
-- duplicate guard, and DuckDB keeps such an index (an ART) whole in memory and writes it at
-- every commit: for 10M citation rows, 2.5x the time of the insert and 8x the file size
-- (benchmarks/README.md "Keys without an index"). The same guarantee is now the save path's:
-- warehouse.save.CHILD_KEYS names each table's key, and every write checks it (no two rows of a
-- batch share a key, and none collides with a row the save keeps) before it commits.
--
-- DuckDB cannot drop a primary key in place (ALTER TABLE ... DROP CONSTRAINT is not
-- implemented in 2.0), so each table is rebuilt with the same columns, types, NOT NULL and
-- CHECK constraints, its rows copied, and renamed into place. Views name tables, not their
-- storage, and read the rebuilt tables unchanged.

CREATE TABLE field_values__rebuilt (
    pub_key        VARCHAR NOT NULL,
    field          VARCHAR NOT NULL,
    value          VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    source_record  VARCHAR NOT NULL,
    source_url     VARCHAR,
    chosen         BOOLEAN NOT NULL
);
INSERT INTO field_values__rebuilt SELECT pub_key, field, value, source, source_record, source_url, chosen FROM field_values;
DROP TABLE field_values;
ALTER TABLE field_values__rebuilt RENAME TO field_values;

CREATE TABLE parties__rebuilt (
    pub_key          VARCHAR NOT NULL,
    role             VARCHAR NOT NULL CHECK (role IN ('applicant', 'original_assignee', 'current_assignee', 'inventor')),
    seq              INTEGER NOT NULL,
    name_as_written  VARCHAR NOT NULL,
    country          VARCHAR,
    source           VARCHAR NOT NULL,
    source_field     VARCHAR
);
INSERT INTO parties__rebuilt SELECT pub_key, role, seq, name_as_written, country, source, source_field FROM parties;
DROP TABLE parties;
ALTER TABLE parties__rebuilt RENAME TO parties;

CREATE TABLE classifications__rebuilt (
    pub_key            VARCHAR NOT NULL,
    scheme             VARCHAR NOT NULL CHECK (scheme IN ('CPC', 'IPC')),
    symbol             VARCHAR NOT NULL,
    symbol_as_written  VARCHAR,
    position           INTEGER NOT NULL,
    version            VARCHAR,
    source             VARCHAR NOT NULL
);
INSERT INTO classifications__rebuilt
    SELECT pub_key, scheme, symbol, symbol_as_written, position, version, source FROM classifications;
DROP TABLE classifications;
ALTER TABLE classifications__rebuilt RENAME TO classifications;

CREATE TABLE citations__rebuilt (
    citing_pub_key     VARCHAR NOT NULL,
    cited_as_written   VARCHAR NOT NULL,
    cited_pub_key      VARCHAR,
    cited_year         INTEGER,
    category           VARCHAR,
    reference_type     VARCHAR,
    cited_by           VARCHAR,
    source             VARCHAR NOT NULL,
    source_url         VARCHAR
);
INSERT INTO citations__rebuilt
    SELECT citing_pub_key, cited_as_written, cited_pub_key, cited_year, category, reference_type, cited_by, source, source_url
    FROM citations;
DROP TABLE citations;
ALTER TABLE citations__rebuilt RENAME TO citations;

CREATE TABLE priority_claims__rebuilt (
    pub_key            VARCHAR NOT NULL,
    seq                INTEGER NOT NULL,
    claim_as_written   VARCHAR NOT NULL,
    priority_country   VARCHAR,
    priority_number    VARCHAR,
    priority_date      DATE,
    claim_type         VARCHAR,
    source             VARCHAR NOT NULL
);
INSERT INTO priority_claims__rebuilt
    SELECT pub_key, seq, claim_as_written, priority_country, priority_number, priority_date, claim_type, source
    FROM priority_claims;
DROP TABLE priority_claims;
ALTER TABLE priority_claims__rebuilt RENAME TO priority_claims;

CREATE TABLE legal_events__rebuilt (
    pub_key           VARCHAR NOT NULL,
    jurisdiction      VARCHAR NOT NULL,
    event_date        DATE NOT NULL,
    event_code        VARCHAR NOT NULL,
    description       VARCHAR,
    effect            VARCHAR,
    source            VARCHAR NOT NULL
);
INSERT INTO legal_events__rebuilt
    SELECT pub_key, jurisdiction, event_date, event_code, description, effect, source FROM legal_events;
DROP TABLE legal_events;
ALTER TABLE legal_events__rebuilt RENAME TO legal_events;

CREATE TABLE related_publications__rebuilt (
    pub_key              VARCHAR NOT NULL,
    related_as_written   VARCHAR NOT NULL,
    related_pub_key      VARCHAR,
    relation             VARCHAR NOT NULL,
    source               VARCHAR NOT NULL
);
INSERT INTO related_publications__rebuilt
    SELECT pub_key, related_as_written, related_pub_key, relation, source FROM related_publications;
DROP TABLE related_publications;
ALTER TABLE related_publications__rebuilt RENAME TO related_publications;

CREATE TABLE term_inputs__rebuilt (
    pub_key                    VARCHAR NOT NULL,
    source                     VARCHAR NOT NULL,
    application_type           VARCHAR,
    earliest_us_filing_date    DATE,
    international_filing_date  DATE,
    pta_days                   INTEGER,
    pte_days                   INTEGER,
    terminal_disclaimer        BOOLEAN,
    disclaimer_expiry_date     DATE,
    note                       VARCHAR
);
INSERT INTO term_inputs__rebuilt
    SELECT pub_key, source, application_type, earliest_us_filing_date, international_filing_date, pta_days, pte_days,
           terminal_disclaimer, disclaimer_expiry_date, note
    FROM term_inputs;
DROP TABLE term_inputs;
ALTER TABLE term_inputs__rebuilt RENAME TO term_inputs;
