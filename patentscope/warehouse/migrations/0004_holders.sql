-- 0004_holders: holder names as written -> holders -> holder groups over time.
-- Filled by patentscope.holders.build.refresh (CLI: `patentscope holders build`); documented in
-- docs/holders.md. The view `holders` and the table macro `holders_at(date)` are the interface.

-- One row per holder name as written in parties (and per holder, when one field lists several).
CREATE TABLE holder_names (
    name_as_written     VARCHAR NOT NULL,   -- parties.name_as_written, exactly
    part_seq            INTEGER NOT NULL,   -- 1.. when the field lists several holders ("A; B")
    n_parts             INTEGER NOT NULL,
    part_as_written     VARCHAR NOT NULL,   -- this holder's part of the field
    clean_name          VARCHAR,            -- without location, identifier or address
    normalized_name     VARCHAR,            -- upper case; legal forms, punctuation, location removed
    legal_form          VARCHAR,            -- what was removed: 'CO LTD', 'KK', '株式会社'
    location            VARCHAR,            -- what was peeled off: '(Tokyo, JP)', 'Minato-ku, Tokyo; (JP)'
    country_as_written  VARCHAR,            -- ISO code this name shows (or parties.country), NULL if none/ambiguous
    country_evidence    VARCHAR,
    kind                VARCHAR NOT NULL CHECK (kind IN ('organisation', 'person', 'unresolved')),
    kind_evidence       VARCHAR,
    unresolved_reason   VARCHAR,            -- empty, punctuation only, country only, too long, mixed scripts, ...
    entity_id           VARCHAR,            -- the holder; NULL when unresolved (never merged)
    match_rule          VARCHAR,            -- how it joined its holder: 'representative', 'same-normalized-name', ...
    match_score         DOUBLE,             -- 1.0 for rules; TF-IDF cosine for typo/abbreviation candidates
    matched_to          VARCHAR,            -- the name it was joined to
    match_evidence      VARCHAR,            -- one line: why
    n_party_rows        INTEGER NOT NULL,   -- parties rows (holder roles) carrying this name_as_written
    PRIMARY KEY (name_as_written, part_seq)
);

-- One row per holder (a cluster of names).
CREATE TABLE holder_entities (
    entity_id           VARCHAR PRIMARY KEY,   -- 'H:' + normalized name ('P:' for persons)
    holder_name         VARCHAR NOT NULL,      -- display name (most used variant, or the override's)
    kind                VARCHAR NOT NULL,
    normalized_name     VARCHAR NOT NULL,
    country             VARCHAR,               -- override, else the countries its names show, else lineage
    country_evidence    VARCHAR,
    n_names             INTEGER NOT NULL,
    n_party_rows        INTEGER NOT NULL,
    lineage_key         VARCHAR                -- the lineage-file name it is linked to, if any
);

-- The holder's name in force and its group, interval by interval: [valid_from, valid_to), NULL = open.
CREATE TABLE holder_groups (
    entity_id           VARCHAR NOT NULL,
    seq                 INTEGER NOT NULL,
    valid_from          DATE,
    valid_to            DATE,
    holder_at_date      VARCHAR NOT NULL,      -- its name then, or its successor after a merger
    group_id            VARCHAR NOT NULL,      -- stable across renames ('L:' lineage, 'H:' holder, 'O:' override)
    group_name          VARCHAR NOT NULL,
    group_country       VARCHAR,
    confirmed           BOOLEAN NOT NULL,      -- false when an unconfirmed lineage line was used
    lineage_path        VARCHAR,               -- the lineage lines / override used, with file:line
    PRIMARY KEY (entity_id, seq)
);

-- Every merge decision and near miss: which rule or score joined (or did not join) two names.
CREATE TABLE holder_match_evidence (
    name_a              VARCHAR NOT NULL,
    name_b              VARCHAR NOT NULL,
    normalized_a        VARCHAR,
    normalized_b        VARCHAR,
    rule                VARCHAR NOT NULL,
    score               DOUBLE,
    accepted            BOOLEAN NOT NULL,
    reason              VARCHAR
);

-- The last build: when, from which lineage and overrides files, with what result.
CREATE TABLE holder_build (
    built_at            TIMESTAMP NOT NULL,
    n_party_rows        INTEGER NOT NULL,
    n_names             INTEGER NOT NULL,
    n_parts             INTEGER NOT NULL,
    n_entities          INTEGER NOT NULL,
    n_unresolved        INTEGER NOT NULL,
    lineage_files       VARCHAR,
    lineage_sha256      VARCHAR,
    overrides_file      VARCHAR,
    overrides_sha256    VARCHAR,
    n_overrides         INTEGER NOT NULL,
    warnings            VARCHAR[]
);

-- Stable interface: one row per holder name (part) and group interval.
CREATE VIEW holders AS
SELECT n.name_as_written,
       n.part_seq,
       n.n_parts,
       1.0 / n.n_parts                  AS share,
       n.part_as_written,
       n.normalized_name,
       n.kind,
       n.unresolved_reason,
       n.entity_id,
       e.holder_name                    AS holder,
       g.holder_at_date,
       g.group_id,
       g.group_name                     AS holder_group,
       g.valid_from,
       g.valid_to,
       coalesce(e.country, n.country_as_written) AS country,
       g.group_country,
       g.confirmed                      AS lineage_confirmed,
       n.match_rule,
       n.match_score
FROM holder_names n
LEFT JOIN holder_entities e ON e.entity_id = n.entity_id
LEFT JOIN holder_groups g ON g.entity_id = n.entity_id;

-- The holders view at one date: SELECT * FROM holders_at(DATE '2010-01-01').
CREATE MACRO holders_at(day) AS TABLE
SELECT * FROM holders
WHERE (valid_from IS NULL OR valid_from <= CAST(day AS DATE))
  AND (valid_to IS NULL OR CAST(day AS DATE) < valid_to);
