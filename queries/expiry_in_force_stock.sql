-- name: expiry_in_force_stock
-- description: Families in force per holder group and year in one jurisdiction (ALL = in force anywhere), past and projected, from the in_force_stock table written by `patentscope analyze`. Projected years assume no lapse beyond those recorded and no new grant. Holder groups are as written unless analyze was given a holder grouping (column holder_basis).
-- param: jurisdiction text = ALL -- US, EP, CN, JP, KR, a national part such as DE, or ALL
-- param: from_year int = 1980 -- first year
-- param: to_year int = 2060 -- last year
-- param: holder text = null -- only holder groups containing this text (case-insensitive); default all
SELECT year,
       holder_group,
       families_in_force,
       publications_in_force,
       projected,
       reference_date,
       holder_basis
FROM in_force_stock
WHERE jurisdiction = upper($jurisdiction)
  AND year BETWEEN $from_year AND $to_year
  AND ($holder IS NULL OR holder_group ILIKE '%' || $holder || '%')
ORDER BY year, families_in_force DESC, holder_group;
