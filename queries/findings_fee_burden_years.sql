-- name: findings_fee_burden_years
-- description: The fee burden over the scenario's years (patentscope findings, block 3): per royalty scenario, rate variant, exporter and market ('ALL' = all its export sales), the years computed, the highest median burden (P50) and its first year, the first year the median reaches the target burden of royalty_inverse in a feasible year (null: never; an infeasible year never counts), and the years whose P95 is above 100% of sales (infeasible).
WITH r AS (
    SELECT r.*, i.target_burden FROM royalty_results r
    LEFT JOIN royalty_inverse i ON i.scenario = r.scenario AND i.exporter = r.exporter AND i.year = r.year
)
SELECT scenario, variant, exporter, market, min(year) AS first_year, max(year) AS last_year,
       max(burden_p50) AS peak_p50, min(year) FILTER (WHERE burden_p50 = (SELECT max(x.burden_p50) FROM r x
           WHERE x.scenario = r.scenario AND x.variant = r.variant AND x.exporter = r.exporter AND x.market = r.market)) AS peak_year,
       min(year) FILTER (WHERE burden_p50 >= target_burden AND NOT coalesce(infeasible, burden_p95 > 1)) AS first_year_at_target,
       count(*) FILTER (WHERE coalesce(infeasible, burden_p95 > 1)) AS infeasible_years
FROM r GROUP BY scenario, variant, exporter, market
ORDER BY scenario, exporter, market = 'ALL' DESC, market, variant;
