-- name: findings_fee_burden
-- description: The fee burden in a year (patentscope findings, block 3): per royalty scenario, rate variant and exporter, the burden on export sales (P5/P50/P95), whether it is infeasible (above 100% of sales), the licence status of the blocking holder groups summed over markets, and whether the target burden is reachable under the scenario's apportionment (royalty_inverse).
-- param: year int -- the year, e.g. 2020
WITH counts AS (
    SELECT scenario, variant, exporter, year, sum(n_licensed)::BIGINT AS n_licensed, sum(n_unlicensed)::BIGINT AS n_unlicensed,
           sum(n_refused)::BIGINT AS n_refused, sum(n_compulsory)::BIGINT AS n_compulsory
    FROM royalty_results WHERE market <> 'ALL' AND year = $year GROUP BY ALL
)
SELECT r.scenario, r.variant, r.exporter, r.year, r.burden_p5, r.burden_p50, r.burden_p95, r.infeasible, r.share_infeasible,
       c.n_licensed, c.n_unlicensed, c.n_refused, c.n_compulsory,
       i.target_burden, i.reachable, i.required_avg_rate, i.max_burden, i.why
FROM royalty_results r
LEFT JOIN counts c USING (scenario, variant, exporter, year)
LEFT JOIN royalty_inverse i ON i.scenario = r.scenario AND i.exporter = r.exporter AND i.year = r.year
WHERE r.market = 'ALL' AND r.year = $year
ORDER BY r.scenario, r.exporter, r.variant;
