-- name: concentration_by_year
-- description: Holder concentration (HHI on 0-10,000, CR1/CR4/CR8, Gini, number-equivalent firms) per year for one scope, with the 2023 merger-guideline band. Families in force at each year's reference day (period in_force_stock) or new families by earliest year (new_filings).
-- param: scope_type text = all -- all, jurisdiction, segment or holder_country
-- param: scope_value text = all -- e.g. US, sintered, JP ('all' for scope_type all)
-- param: period_type text = in_force_stock -- in_force_stock or new_filings
-- param: weighting text = families -- families or centrality (PageRank-weighted shares)
SELECT year, n_families, n_unattributed, n_holders, round(hhi, 1) AS hhi, round(cr1, 4) AS cr1, round(cr4, 4) AS cr4,
       round(cr8, 4) AS cr8, round(gini, 4) AS gini, round(n_equivalent, 2) AS n_equivalent, label
FROM concentration_stats
WHERE scope_type = $scope_type AND scope_value = $scope_value AND period_type = $period_type AND weighting = $weighting
ORDER BY year;
