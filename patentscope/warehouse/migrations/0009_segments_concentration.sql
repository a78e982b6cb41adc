-- 0009_segments_concentration: derived tables written by `patentscope analyze` (docs/metrics.md).

CREATE TABLE publication_segments (
    pub_key      VARCHAR NOT NULL,
    segment      VARCHAR NOT NULL,        -- id from data/segments.toml, or 'unclassified'
    decided_by   VARCHAR NOT NULL CHECK (decided_by IN ('cpc', 'keyword', 'classifier', 'unclassified')),
    evidence     VARCHAR,                 -- the symbol or keyword matched, or the model
    probability  DOUBLE,                  -- classifier only
    PRIMARY KEY (pub_key, segment)
);

CREATE TABLE segment_classifier_eval (
    segment     VARCHAR PRIMARY KEY,
    positives   BIGINT,
    precision   DOUBLE,
    recall      DOUBLE,
    f1          DOUBLE,
    used        BOOLEAN,
    note        VARCHAR,
    computed_at TIMESTAMP
);

CREATE TABLE concentration_stats (
    scope_type    VARCHAR NOT NULL,        -- 'all', 'jurisdiction', 'segment', 'holder_country'
    scope_value   VARCHAR NOT NULL,        -- e.g. 'US', 'sintered'; 'all' for scope_type 'all'
    period_type   VARCHAR NOT NULL,        -- 'in_force_stock' (families in force at year end), 'new_filings' (families by earliest year)
    year          INTEGER NOT NULL,
    weighting     VARCHAR NOT NULL,        -- 'families' or 'centrality'
    holder_basis  VARCHAR NOT NULL,        -- 'holder_group' (lineage at the date) or 'holder_as_written'
    n_families    BIGINT,                  -- families attributed to a holder group
    n_unattributed BIGINT,                 -- families in scope with no holder shown (left out of the shares)
    n_holders     BIGINT,
    hhi           DOUBLE,                  -- 0-10,000
    cr1           DOUBLE,                  -- 0-1
    cr4           DOUBLE,
    cr8           DOUBLE,
    gini          DOUBLE,
    n_equivalent  DOUBLE,                  -- 10,000 / HHI
    label         VARCHAR,                 -- 2023 merger-guideline band
    PRIMARY KEY (scope_type, scope_value, period_type, year, weighting, holder_basis)
);

CREATE VIEW segments AS
SELECT s.pub_key, p.family_id, s.segment, s.decided_by, s.evidence, s.probability
FROM publication_segments s JOIN publications p USING (pub_key);

CREATE VIEW concentration AS
SELECT scope_type || ':' || scope_value AS scope,
       period_type || ' ' || year        AS period,
       scope_type, scope_value, period_type, year, weighting, holder_basis,
       n_families, n_unattributed, n_holders,
       hhi, cr1, cr4, cr8, gini, n_equivalent, label
FROM concentration_stats;
