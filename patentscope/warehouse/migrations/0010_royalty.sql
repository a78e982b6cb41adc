-- 0010_royalty: results of `patentscope royalty --scenario FILE` (docs/royalty.md).
-- Each run replaces the rows of its scenario name.

CREATE TABLE royalty_scenarios (
    scenario      VARCHAR PRIMARY KEY,
    path          VARCHAR,
    sha256        VARCHAR NOT NULL,
    run_at        TIMESTAMP NOT NULL,
    text          VARCHAR NOT NULL,          -- the scenario file as run (its assumptions, with sources)
    licences_text VARCHAR,                   -- the licences file it referenced, if any
    samples       BIGINT,
    seed          BIGINT
);

CREATE TABLE royalty_results (
    scenario          VARCHAR NOT NULL,
    variant           VARCHAR NOT NULL,      -- 'base' or a [[variant]] name of the scenario
    exporter          VARCHAR NOT NULL,
    market            VARCHAR NOT NULL,      -- destination market; 'ALL' = the exporter's export sales
    year              INTEGER NOT NULL,
    currency          VARCHAR NOT NULL,
    sales_value       DOUBLE,
    n_blocking        BIGINT,                -- holder groups with a family in force in the market
    n_licensed        BIGINT,
    n_unlicensed      BIGINT,
    n_refused         BIGINT,
    n_compulsory      BIGINT,
    royalties_p5      DOUBLE,
    royalties_p50     DOUBLE,
    royalties_p95     DOUBLE,
    burden_p5         DOUBLE,                -- royalties / sales, fraction
    burden_p50        DOUBLE,
    burden_p95        DOUBLE,
    sales_at_risk_p5  DOUBLE,                -- expected sales excluded by refusals to license
    sales_at_risk_p50 DOUBLE,
    sales_at_risk_p95 DOUBLE,
    PRIMARY KEY (scenario, variant, exporter, market, year)
);

CREATE TABLE royalty_detail (
    scenario      VARCHAR NOT NULL,
    variant       VARCHAR NOT NULL,
    exporter      VARCHAR NOT NULL,
    market        VARCHAR NOT NULL,
    year          INTEGER NOT NULL,
    holder_group  VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,          -- licensed, unlicensed, refused, compulsory
    coverage      DOUBLE,                    -- fraction of the year with a family in force
    weight        DOUBLE,
    rate_p50      DOUBLE                     -- median royalty rate charged, fraction of sales
);

CREATE TABLE royalty_sensitivity (
    scenario        VARCHAR NOT NULL,
    exporter        VARCHAR NOT NULL,
    quantity        VARCHAR NOT NULL,        -- the scenario key of the uncertain input
    low_value       DOUBLE,
    high_value      DOUBLE,
    burden_at_low   DOUBLE,
    burden_at_high  DOUBLE,
    swing           DOUBLE,
    PRIMARY KEY (scenario, exporter, quantity)
);

CREATE TABLE royalty_inverse (
    scenario                VARCHAR NOT NULL,
    exporter                VARCHAR NOT NULL,
    year                    INTEGER NOT NULL,
    target_burden           DOUBLE,
    required_avg_rate       DOUBLE,
    avg_blocking_licensors  DOUBLE,
    benchmark_rate          DOUBLE,
    licensors_at_benchmark  DOUBLE,
    PRIMARY KEY (scenario, exporter, year)
);

CREATE TABLE royalty_thresholds (
    scenario          VARCHAR NOT NULL,
    variant           VARCHAR NOT NULL,
    exporter          VARCHAR NOT NULL,
    threshold         DOUBLE,
    first_year_below  INTEGER,
    burden_first_year DOUBLE,
    burden_last_year  DOUBLE,
    PRIMARY KEY (scenario, variant, exporter)
);

CREATE VIEW royalty_burden AS
SELECT scenario, variant, exporter, market, year, currency, sales_value,
       royalties_p50 AS royalties, royalties_p5, royalties_p95,
       burden_p50 AS burden_share, burden_p5, burden_p50, burden_p95,
       sales_at_risk_p50 AS sales_at_risk, sales_at_risk_p5, sales_at_risk_p95,
       n_blocking, n_licensed, n_unlicensed, n_refused, n_compulsory
FROM royalty_results;
