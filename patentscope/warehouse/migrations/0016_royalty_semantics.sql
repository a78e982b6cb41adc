-- 0016_royalty_semantics (issue 16): infeasible burdens flagged; the inverse says whether the
-- target is reachable under the scenario's apportionment (docs/royalty.md).

ALTER TABLE royalty_results ADD COLUMN share_infeasible DOUBLE;   -- fraction of samples with burden > 100% of sales
ALTER TABLE royalty_results ADD COLUMN infeasible BOOLEAN;        -- burden_p95 > 100% of sales: no exporter can pay it

ALTER TABLE royalty_inverse ADD COLUMN reachable BOOLEAN;         -- some per-licensor rate <= 100% gives the target
ALTER TABLE royalty_inverse ADD COLUMN max_burden DOUBLE;         -- the largest burden any per-licensor rate can give
ALTER TABLE royalty_inverse ADD COLUMN why VARCHAR;               -- 'reachable' or why not

-- replaces the view royalty_burden of 0010: adds the infeasibility flag
CREATE OR REPLACE VIEW royalty_burden AS
SELECT scenario, variant, exporter, market, year, currency, sales_value,
       royalties_p50 AS royalties, royalties_p5, royalties_p95,
       burden_p50 AS burden_share, burden_p5, burden_p50, burden_p95,
       sales_at_risk_p50 AS sales_at_risk, sales_at_risk_p5, sales_at_risk_p95,
       n_blocking, n_licensed, n_unlicensed, n_refused, n_compulsory,
       share_infeasible, infeasible
FROM royalty_results;
