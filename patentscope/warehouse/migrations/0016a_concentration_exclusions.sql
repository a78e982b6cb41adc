-- 0016a_concentration_exclusions (issue 16): every concentration cell says what it leaves out
-- and whether it has enough families to judge (docs/metrics.md). Replaces the view
-- `concentration` of 0009.

ALTER TABLE concentration_stats ADD COLUMN n_status_unknown BIGINT;     -- families whose status is unknown (may be in force; excluded)
ALTER TABLE concentration_stats ADD COLUMN n_fees_not_verified BIGINT;  -- counted families in force only if unrecorded fees were paid (null: not available)
ALTER TABLE concentration_stats ADD COLUMN n_individual BIGINT;         -- counted families held by an individual (null: not available)
ALTER TABLE concentration_stats ADD COLUMN min_families BIGINT;         -- below this n_families the label is 'too few to judge'

CREATE OR REPLACE VIEW concentration AS
SELECT scope_type || ':' || scope_value AS scope,
       period_type || ' ' || year        AS period,
       scope_type, scope_value, period_type, year, weighting, holder_basis,
       n_families, n_unattributed, n_status_unknown, n_fees_not_verified, n_individual, min_families, n_holders,
       hhi, cr1, cr4, cr8, gini, n_equivalent, label
FROM concentration_stats;
