-- name: expiry_families_expiring
-- description: Families whose last patent in a market expires in a year range (from the expiry table written by `patentscope analyze`). A family's expiry in the market is the latest expected expiry among its granted members there; families with a member whose expiry is unknown are listed with some_member_unknown = true and are NOT counted as expiring. For an EP bundle, market EP is the bundle as a whole and DE, FR ... its national parts where legal events name them.
-- param: market text -- jurisdiction: US, EP, CN, JP, KR, or a national part of an EP bundle such as DE
-- param: from_year int = 1980 -- first year of expiry
-- param: to_year int = 2100 -- last year of expiry
WITH members AS (
    SELECT e.family_id, e.pub_key, e.pub_number, e.expiry_date, e.expiry_is_upper_bound, e.end_reason, e.status
    FROM expiry_results e
    WHERE e.jurisdiction = upper($market)
      AND e.document_type IN ('invention', 'utility_model', 'design', 'plant', 'reissue')
), fam AS (
    SELECT family_id,
           max(expiry_date)                          AS family_expiry,
           bool_or(expiry_date IS NULL)              AS some_member_unknown,
           bool_or(coalesce(expiry_is_upper_bound, false)) AS some_upper_bound,
           list_sort(list(pub_number))               AS members,
           list_sort(list_distinct(list(end_reason))) AS end_reasons,
           list_sort(list_distinct(list(status)))    AS statuses_at_status_date
    FROM members
    GROUP BY family_id
)
SELECT fam.family_id,
       upper($market)            AS market,
       fam.family_expiry,
       year(fam.family_expiry)   AS expiry_year,
       fam.some_upper_bound,
       fam.some_member_unknown,
       fam.members,
       fam.end_reasons,
       fam.statuses_at_status_date,
       (SELECT any_value(holder_as_written) FROM publication_brief o WHERE o.family_id = fam.family_id) AS holder_as_written
FROM fam
WHERE NOT fam.some_member_unknown
  AND year(fam.family_expiry) BETWEEN $from_year AND $to_year
ORDER BY fam.family_expiry, fam.family_id;
