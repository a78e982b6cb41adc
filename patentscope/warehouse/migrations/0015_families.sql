-- 0015_families: patent families built from priority claims and application links
-- (patentscope/holders/families.py; docs/holders.md "Families"; docs/schema.md).
-- publications.family_id now also carries constructed families, so family_id_source gains
-- 'priority_extended' and 'priority_simple'. DuckDB cannot drop a CHECK constraint, so the
-- table is rebuilt with the same columns (any added by earlier migrations kept), its primary
-- key and NOT NULL columns restored; the allowed sources are checked by families.py
-- (ALL_SOURCES) and by the view below. Views that read publications are bound by name and keep
-- working.

CREATE TABLE publications__0015 AS SELECT * FROM publications;
DROP TABLE publications;
ALTER TABLE publications__0015 RENAME TO publications;
ALTER TABLE publications ADD PRIMARY KEY (pub_key);
ALTER TABLE publications ALTER COLUMN pub_number SET NOT NULL;
ALTER TABLE publications ALTER COLUMN number_as_received SET NOT NULL;
ALTER TABLE publications ALTER COLUMN country SET NOT NULL;
ALTER TABLE publications ALTER COLUMN doc_number SET NOT NULL;
ALTER TABLE publications ALTER COLUMN family_id SET NOT NULL;
ALTER TABLE publications ALTER COLUMN family_id_source SET NOT NULL;
ALTER TABLE publications ALTER COLUMN in_landscape SET NOT NULL;
ALTER TABLE publications ALTER COLUMN source SET NOT NULL;

-- One row per publication: the family id a source gave, the constructed one, and the one used.
CREATE TABLE publication_families (
    pub_key                VARCHAR PRIMARY KEY,
    given_family_id        VARCHAR,            -- DOCDB/INPADOC id from a source, NULL when none
    given_source           VARCHAR,            -- 'docdb' | 'inpadoc' | NULL
    constructed_family_id  VARCHAR NOT NULL,   -- 'EXT:'/'SIM:' + smallest member pub_key, or 'PUB:' + pub_key alone
    family_id              VARCHAR NOT NULL,   -- what publications.family_id carries
    family_id_source       VARCHAR NOT NULL CHECK (family_id_source IN
                               ('docdb', 'inpadoc', 'publication', 'priority_extended', 'priority_simple')),
    n_members              INTEGER NOT NULL,   -- publications in the constructed family
    priority_keys          VARCHAR[],          -- its priority claims as comparable keys ('JP:2008:284566')
    application_key        VARCHAR,            -- its own application number as a key
    evidence               VARCHAR             -- why it has this id
);

-- Constructed families that span several DOCDB families (reconciliation notes).
CREATE TABLE family_reconciliation (
    constructed_family_id  VARCHAR NOT NULL,
    docdb_family_ids       VARCHAR[] NOT NULL,
    members                VARCHAR[] NOT NULL,
    note                   VARCHAR
);

-- The last family build: mode and counts.
CREATE TABLE family_build (
    built_at           TIMESTAMP NOT NULL,
    mode               VARCHAR NOT NULL CHECK (mode IN ('extended', 'simple')),
    n_publications     INTEGER NOT NULL,
    n_given_ids        INTEGER NOT NULL,
    n_families_before  INTEGER NOT NULL,
    n_families_after   INTEGER NOT NULL,
    n_joined           INTEGER NOT NULL,
    n_conflicts        INTEGER NOT NULL,
    n_unread_claims    INTEGER NOT NULL
);
