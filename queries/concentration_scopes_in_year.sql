-- name: concentration_scopes_in_year
-- description: Every scope's concentration in one year (which jurisdictions, segments and holder countries are most concentrated), largest HHI first.
-- param: year int -- the year, e.g. 2014
-- param: period_type text = in_force_stock -- in_force_stock or new_filings
SELECT scope_type, scope_value, n_families, n_holders, round(hhi, 1) AS hhi, round(cr4, 4) AS cr4, label
FROM concentration_stats
WHERE year = $year AND period_type = $period_type AND weighting = 'families' AND hhi IS NOT NULL
ORDER BY hhi DESC, scope_type, scope_value;
