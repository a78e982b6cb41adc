-- name: findings_wall
-- description: The patent wall in a year (patentscope findings, block 2): concentration of in-force families (unweighted) for the whole landscape, each segment and each jurisdiction, with the families each cell leaves out and its label ('too few to judge' below the minimum family count of data/concentration.toml; otherwise the merger-guideline analogy's band).
-- param: year int -- the year, e.g. 2014
SELECT scope_type, scope_value, n_families, n_unattributed, n_status_unknown, n_fees_not_verified, n_individual,
       n_holders, hhi, cr4, label, min_families
FROM concentration_stats
WHERE period_type = 'in_force_stock' AND weighting = 'families' AND year = $year
  AND scope_type IN ('all', 'segment', 'jurisdiction')
ORDER BY scope_type, n_families DESC, scope_value;
