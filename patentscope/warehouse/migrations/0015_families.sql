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

-- Ownership over time (issue 15 item 3): one row per holder name of a publication and the
-- interval it holds it, [valid_from, valid_to), NULL = open. Filled by holders/ownership.py in
-- the holders step: the first holders until a transfer to a different current assignee, the
-- current assignee from then on; date_basis 'recorded' | 'inferred from lineage' |
-- 'inferred from record' | 'as shown'.
CREATE TABLE holder_chain (
    pub_key          VARCHAR NOT NULL,
    seq              INTEGER NOT NULL,
    name_as_written  VARCHAR NOT NULL,
    role             VARCHAR NOT NULL,
    valid_from       DATE,
    valid_to         DATE,
    date_basis       VARCHAR NOT NULL,
    evidence         VARCHAR,
    PRIMARY KEY (pub_key, seq)
);

-- Persons and organisations (issue 15 item 1) and transfers (item 3). Replaces
-- publication_holder_groups (0011): holder names now come from holder_chain (first holders until
-- a transfer, the current assignee after it), each intersected with its group intervals.
-- A holder name that is also one of the record's inventors and that only an aggregator's
-- assignee field shows (parties.source 'sample' without an official INID label (71)/(73))
-- is a known artefact of those sites, not a holder: the row is left out here and listed in
-- publication_holder_flags, so the publication counts as "no holder shown". An inventor who is
-- an applicant or assignee on an official record (OPS, ODP, PatentsView, a gazette's (71)/(73)
-- field) stays a holder of holder_kind 'individual'. Inventors listed among the applicants
-- beside an organisation (WO/EP inventor-applicants for the US designation) stay out, as in 0011.
CREATE OR REPLACE VIEW publication_holder_groups AS
WITH chosen AS (
    SELECT c.pub_key, c.name_as_written, c.role, c.valid_from AS link_from, c.valid_to AS link_to, c.date_basis,
           bool_or(pa.source <> 'sample' OR regexp_matches(coalesce(pa.source_field, ''), '[(\[]7[1-3][)\]]')) AS official
    FROM holder_chain c
    JOIN parties pa ON pa.pub_key = c.pub_key AND pa.name_as_written = c.name_as_written AND pa.role = c.role
    GROUP BY ALL
), labels AS (
    SELECT group_id, arg_max(group_name, coalesce(valid_from, DATE '1900-01-01')) AS group_label,
           arg_max(group_country, coalesce(valid_from, DATE '1900-01-01')) AS label_country
    FROM holder_groups GROUP BY group_id
), parts AS (
    SELECT c.pub_key, c.role AS holder_role, c.official, c.date_basis, h.name_as_written, h.part_as_written,
           h.entity_id, h.holder, h.group_id, h.holder_group AS group_name, h.group_country,
           greatest(c.link_from, h.valid_from) AS valid_from, least(c.link_to, h.valid_to) AS valid_to,
           h.kind, h.lineage_confirmed
    FROM chosen c
    JOIN holders h ON h.name_as_written = c.name_as_written
    WHERE h.group_id IS NOT NULL
), flagged AS (
    SELECT *, bool_or(kind = 'organisation') OVER (PARTITION BY pub_key) AS has_organisation,
           (kind = 'person' AND coalesce((SELECT kind_evidence FROM holder_names hn
                                          WHERE hn.name_as_written = parts.name_as_written LIMIT 1), '')
                                 LIKE 'same name as an inventor%') AS is_inventor
    FROM parts
    WHERE valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to
)
SELECT p.pub_key, p.holder_role, p.name_as_written, p.part_as_written, p.entity_id, p.holder,
       p.group_id, p.group_name, l.group_label, coalesce(p.group_country, l.label_country) AS group_country,
       p.valid_from, p.valid_to, p.kind, p.lineage_confirmed,
       CASE WHEN p.kind = 'person' THEN 'individual' ELSE 'organisation' END AS holder_kind,
       p.date_basis AS ownership_date_basis
FROM flagged p
LEFT JOIN labels l USING (group_id)
WHERE NOT (p.is_inventor AND (p.has_organisation OR NOT p.official));

-- Publications whose only holder names are artefacts: "no holder shown", with the reason.
CREATE VIEW publication_holder_flags AS
SELECT DISTINCT pa.pub_key, pa.name_as_written, pa.role, pa.source, pa.source_field,
       'inventor shown as assignee by an aggregator page (' || pa.source_field || '); no holder shown' AS flag
FROM parties pa
JOIN holder_names hn ON hn.name_as_written = pa.name_as_written
WHERE pa.role <> 'inventor' AND hn.kind = 'person' AND hn.kind_evidence LIKE 'same name as an inventor%'
  AND pa.source = 'sample' AND NOT regexp_matches(coalesce(pa.source_field, ''), '[(\[]7[1-3][)\]]')
  AND pa.pub_key NOT IN (SELECT pub_key FROM publication_holder_groups);
