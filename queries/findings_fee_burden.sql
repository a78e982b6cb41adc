-- name: findings_fee_burden
-- description: The fee burden in a year (patentscope findings, block 3): per royalty scenario, rate variant, exporter and market ('ALL' = all its export sales), the burden on sales (P5/P50/P95), whether it is infeasible (P95 above 100% of sales), the licence status of the blocking holder groups (counts), the status that drives the burden (driver: the status whose groups carry the largest part of the median charge, sum of coverage x median rate, weighted by market sales for 'ALL'; driver_share = that part), and the inverse: the per-licensor rate that gives the target burden under the scenario's apportionment, and whether it is reachable (royalty_inverse).
-- param: year int -- the year, e.g. 2020
WITH detail AS (
    SELECT d.scenario, d.variant, d.exporter, d.market, d.year, d.status, sum(d.coverage * d.rate_p50) AS charge,
           sum(d.coverage * d.rate_p50 * r.sales_value) AS charge_value
    FROM royalty_detail d JOIN royalty_results r USING (scenario, variant, exporter, market, year)
    WHERE d.year = $year GROUP BY ALL
), by_status AS (
    SELECT scenario, variant, exporter, market, year, status, charge FROM detail
    UNION ALL
    SELECT scenario, variant, exporter, 'ALL', year, status, sum(charge_value) FROM detail GROUP BY ALL
), driver AS (
    SELECT scenario, variant, exporter, market, year, arg_max(status, charge) AS driver,
           CASE WHEN sum(charge) > 0 THEN max(charge) / sum(charge) END AS driver_share
    FROM by_status WHERE charge > 0 GROUP BY ALL
), counts AS (
    SELECT scenario, variant, exporter, year, sum(n_blocking)::BIGINT AS n_blocking, sum(n_licensed)::BIGINT AS n_licensed,
           sum(n_unlicensed)::BIGINT AS n_unlicensed, sum(n_refused)::BIGINT AS n_refused, sum(n_compulsory)::BIGINT AS n_compulsory
    FROM royalty_results WHERE market <> 'ALL' AND year = $year GROUP BY ALL
)
SELECT r.scenario, r.variant, r.exporter, r.market, r.year, r.currency, r.sales_value,
       r.burden_p5, r.burden_p50, r.burden_p95, coalesce(r.infeasible, r.burden_p95 > 1) AS infeasible, r.share_infeasible,
       CASE WHEN r.market = 'ALL' THEN c.n_blocking ELSE r.n_blocking END AS n_blocking,
       CASE WHEN r.market = 'ALL' THEN c.n_licensed ELSE r.n_licensed END AS n_licensed,
       CASE WHEN r.market = 'ALL' THEN c.n_unlicensed ELSE r.n_unlicensed END AS n_unlicensed,
       CASE WHEN r.market = 'ALL' THEN c.n_refused ELSE r.n_refused END AS n_refused,
       CASE WHEN r.market = 'ALL' THEN c.n_compulsory ELSE r.n_compulsory END AS n_compulsory,
       d.driver, d.driver_share,
       i.target_burden, i.reachable, i.required_avg_rate, i.max_burden, i.why
FROM royalty_results r
LEFT JOIN counts c USING (scenario, variant, exporter, year)
LEFT JOIN driver d USING (scenario, variant, exporter, market, year)
LEFT JOIN royalty_inverse i ON i.scenario = r.scenario AND i.exporter = r.exporter AND i.year = r.year
WHERE r.year = $year
ORDER BY r.scenario, r.exporter, r.market = 'ALL' DESC, r.market, r.variant;
