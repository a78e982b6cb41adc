-- name: publications_by_year_office
-- description: Publications per year of their earliest known date (priority, filing, publication or grant) and office. Records with no date shown by any source are counted under year NULL.
-- param: from_year int = 1900 -- first year
-- param: to_year int = 2100 -- last year
-- param: landscape_only bool = true -- count only records in the landscape
SELECT earliest_year AS year,
       country       AS office,
       count(*)      AS publications,
       count(DISTINCT family_id) AS families
FROM publication_brief
WHERE (in_landscape OR NOT $landscape_only)
  AND (earliest_year IS NULL OR earliest_year BETWEEN $from_year AND $to_year)
GROUP BY ALL
ORDER BY year NULLS LAST, office;
