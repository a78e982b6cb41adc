-- name: royalty_time_path
-- description: An exporter's royalty burden on its export sales (all markets) year by year, median with P5-P95, and sales at risk from refusals, for one scenario variant. Rates are scenario assumptions.
-- param: exporter text -- exporter id from the scenario, e.g. cn-unlicensed
-- param: variant text = base -- base or a [[variant]] name (low, benchmark, demanded in the example)
-- param: scenario text = null -- scenario name; null = every scenario
SELECT scenario, variant, year, round(sales_value) AS sales_value, round(royalties) AS royalties,
       round(burden_p5, 4) AS burden_p5, round(burden_p50, 4) AS burden_p50, round(burden_p95, 4) AS burden_p95,
       round(sales_at_risk) AS sales_at_risk
FROM royalty_burden
WHERE exporter = $exporter AND variant = $variant AND market = 'ALL' AND ($scenario IS NULL OR scenario = $scenario)
ORDER BY scenario, year;
