-- 0006_centrality: citation centrality per family, written by patentscope.metrics.citations.refresh
-- (run by `patentscope analyze`). Definitions, formulas and tolerances: docs/centrality.md.
-- The graph is family-level: publications collapsed to families (publications.family_id; a
-- cited number not in the warehouse is its own family 'PUB:' || pub_key), self-citations of a
-- family dropped, citation links between two families counted (multi-edges), citations from
-- and to families outside the landscape kept.

-- One row per refresh: parameters, sizes and convergence of the computation.
CREATE TABLE centrality_runs (
    run_id                  BIGINT PRIMARY KEY,
    computed_at             TIMESTAMP NOT NULL,
    scope                   VARCHAR NOT NULL CHECK (scope IN ('all', 'landscape')),
    as_of                   DATE,               -- latest date in publications: windows ending later are incomplete
    n_families              BIGINT NOT NULL,    -- graph nodes (families in the warehouse + cited-only families)
    n_families_in_warehouse BIGINT NOT NULL,
    n_edges                 BIGINT NOT NULL,    -- citing family -> cited family pairs
    n_links                 BIGINT NOT NULL,    -- publication-level citation links they stand for
    n_self_links            BIGINT NOT NULL,    -- links inside one family (dropped)
    n_unresolved_references BIGINT NOT NULL,    -- references without a canonical cited_pub_key (not in the graph)
    n_cycles                BIGINT NOT NULL,    -- strongly connected components with more than one family
    n_families_in_cycles    BIGINT NOT NULL,
    pagerank_alpha          DOUBLE NOT NULL,    -- damping factor
    pagerank_tol            DOUBLE NOT NULL,    -- requested absolute L1 error bound
    pagerank_error_bound    DOUBLE NOT NULL,    -- certified L1 error bound reached
    pagerank_method         VARCHAR NOT NULL,
    pagerank_iterations     INTEGER NOT NULL,
    hits_iterations         INTEGER NOT NULL,
    hits_delta              DOUBLE NOT NULL,    -- L1 change of the authority vector in the last iteration
    hits_converged          BOOLEAN NOT NULL,
    rescale_window          INTEGER NOT NULL,   -- families per age window actually used (<= requested)
    main_path_scope         VARCHAR NOT NULL CHECK (main_path_scope IN ('all', 'landscape')),
    key_routes              INTEGER NOT NULL,
    main_path_families      BIGINT NOT NULL,
    main_path_arcs          BIGINT NOT NULL,
    seconds                 DOUBLE NOT NULL
);

-- One row per family of the graph (refresh replaces all rows).
CREATE TABLE family_centrality (
    family_id                    VARCHAR PRIMARY KEY,
    in_warehouse                 BOOLEAN NOT NULL,  -- false: known only as a cited number
    in_landscape                 BOOLEAN NOT NULL,  -- any member is in the landscape
    n_publications               INTEGER NOT NULL,  -- members in the warehouse (0 when not in it)
    family_date                  DATE,              -- see date_basis
    date_basis                   VARCHAR CHECK (date_basis IN ('filing', 'publication', 'cited_year')),
    cohort_year                  INTEGER,           -- year(family_date)
    forward_citations            BIGINT NOT NULL,   -- links received from other families
    citing_families              BIGINT NOT NULL,   -- distinct families citing it
    forward_citations_5y         BIGINT,            -- links from families dated <= 5 years after it; NULL without a date
    forward_citations_10y        BIGINT,            -- same within 10 years
    window_5y_complete           BOOLEAN,           -- family_date + 5 years <= as_of
    window_10y_complete          BOOLEAN,
    backward_citations           BIGINT NOT NULL,   -- links to other families
    forward_citations_percentile DOUBLE,            -- 0-100 percentile rank within cohort_year (warehouse families)
    cohort_size                  INTEGER,
    pagerank                     DOUBLE NOT NULL,   -- sums to 1 over the graph
    pagerank_rescaled            DOUBLE,            -- z-score against the families nearest in date; NULL without a date
    hits_authority               DOUBLE NOT NULL,   -- sums to 1 over the graph
    hits_hub                     DOUBLE NOT NULL,   -- sums to 1 over the graph
    scc_size                     INTEGER NOT NULL,  -- families in its strongly connected component (1 = in no cycle)
    on_main_path                 BOOLEAN,           -- key-route main path; NULL outside the main-path scope
    main_path_spc                DOUBLE,            -- max normalised search path count of its arcs (0-1]
    run_id                       BIGINT NOT NULL
);

-- Percentile of forward citations within (filing-year cohort, technology segment). Segment
-- 'all' is every family; other segments appear when the segments view has rows.
CREATE TABLE family_cohort_percentiles (
    family_id                    VARCHAR NOT NULL,
    segment                      VARCHAR NOT NULL,
    cohort_year                  INTEGER NOT NULL,
    cohort_size                  INTEGER NOT NULL,
    forward_citations            BIGINT NOT NULL,
    forward_citations_percentile DOUBLE NOT NULL,
    run_id                       BIGINT NOT NULL,
    PRIMARY KEY (family_id, segment)
);

-- Arcs of the key-route main path, in the direction knowledge flows (cited -> citing).
CREATE TABLE centrality_main_path (
    cited_family_id   VARCHAR NOT NULL,
    citing_family_id  VARCHAR NOT NULL,
    spc               DOUBLE NOT NULL,    -- search path count (may be huge; log10_spc is exact)
    log10_spc         DOUBLE NOT NULL,
    spc_normalised    DOUBLE NOT NULL,    -- spc / source-to-sink paths, (0-1]
    run_id            BIGINT NOT NULL,
    PRIMARY KEY (cited_family_id, citing_family_id)
);

-- Stable interface for SQL users (docs/schema.md, docs/centrality.md).
CREATE VIEW centrality AS
SELECT c.family_id,
       CASE WHEN c.in_warehouse THEN f.members ELSE [substr(c.family_id, 5)] END AS members,
       c.in_warehouse,
       c.in_landscape,
       c.family_date,
       c.date_basis,
       c.cohort_year,
       c.forward_citations,
       c.citing_families,
       c.forward_citations_5y,
       c.forward_citations_10y,
       c.window_5y_complete,
       c.window_10y_complete,
       c.backward_citations,
       c.forward_citations_percentile,
       c.cohort_size,
       c.pagerank,
       c.pagerank_rescaled,
       c.hits_authority,
       c.hits_hub,
       c.on_main_path,
       c.main_path_spc,
       c.scc_size,
       rank() OVER (ORDER BY c.pagerank_rescaled DESC NULLS LAST) AS rank_rescaled_pagerank,
       rank() OVER (ORDER BY c.pagerank DESC)                     AS rank_pagerank,
       c.run_id
FROM family_centrality c
LEFT JOIN family_overview f USING (family_id);
