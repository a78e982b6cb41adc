-- name: royalty_who_charges
-- description: Which holder groups block an exporter in a market and year, with their status (licensed, unlicensed, refused, compulsory), coverage of the year and median rate.
-- param: exporter text -- exporter id from the scenario
-- param: year int -- the year
-- param: variant text = base -- base or a variant name
SELECT scenario, market, holder_group, status, round(coverage, 3) AS coverage, round(weight, 3) AS weight,
       round(rate_p50, 4) AS rate_p50
FROM royalty_detail
WHERE exporter = $exporter AND year = $year AND variant = $variant
ORDER BY scenario, market, rate_p50 DESC, holder_group;
