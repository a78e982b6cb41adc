-- name: publications_by_holder
-- description: Publications and families per holder as written (first original assignee, else applicant, else current assignee). Names are not yet harmonized: "TDK CORP" and "TDK Corporation" count apart.
-- param: landscape_only bool = true -- count only records in the landscape
-- param: min_publications int = 1 -- hide holders with fewer publications
SELECT coalesce(holder_as_written, '(holder not shown)') AS holder_as_written,
       count(*)                  AS publications,
       count(DISTINCT family_id) AS families,
       list_sort(list_distinct(list(country))) AS offices,
       min(earliest_year)        AS first_year,
       max(earliest_year)        AS last_year
FROM publication_brief
WHERE in_landscape OR NOT $landscape_only
GROUP BY ALL
HAVING count(*) >= $min_publications
ORDER BY publications DESC, holder_as_written;
