-- name: findings_wall
-- description: The patent wall in a year (patentscope findings, block 2): concentration of in-force families (unweighted) for the whole landscape, each segment and each jurisdiction (market), with the families each cell leaves out and its label ('too few to judge' below the minimum family count of data/concentration.toml; otherwise the merger-guideline analogy's band), and the cell's cliff: cliff_year = the first later year whose in-force family count (counted + status unknown) is below half of this year's, as the projection of the expiry engine stands (no new grants, no lapses beyond those recorded); a year with no row for the cell counts as zero; null when the count stays above half up to last_year, the last year computed.
-- param: year int -- the year, e.g. 2014
WITH cells AS (
    SELECT * FROM concentration_stats
    WHERE period_type = 'in_force_stock' AND weighting = 'families' AND scope_type IN ('all', 'segment', 'jurisdiction')
), later AS (
    SELECT c.scope_type, c.scope_value, min(l.year) FILTER (WHERE l.n_families + coalesce(l.n_unattributed, 0) < (c.n_families + coalesce(c.n_unattributed, 0)) / 2.0) AS cliff_year,
           max(l.year) AS last_year
    FROM cells c JOIN cells l ON l.scope_type = c.scope_type AND l.scope_value = c.scope_value AND l.year > c.year
    WHERE c.year = $year GROUP BY ALL
)
SELECT c.scope_type, c.scope_value, c.n_families, c.n_unattributed, c.n_status_unknown, c.n_fees_not_verified, c.n_individual,
       c.n_holders, c.hhi, c.cr4, c.label, c.min_families,
       -- a cell with no row in a later year has no family in force then
       coalesce(l.cliff_year, CASE WHEN coalesce(l.last_year, $year) < (SELECT max(year) FROM cells) THEN coalesce(l.last_year, $year) + 1 END)
           AS cliff_year,
       (SELECT max(year) FROM cells) AS last_year
FROM cells c LEFT JOIN later l USING (scope_type, scope_value)
WHERE c.year = $year
ORDER BY c.scope_type, c.n_families DESC, c.scope_value;
