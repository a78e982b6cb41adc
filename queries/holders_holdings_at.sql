-- name: holders_holdings_at
-- description: Publications and families per holder group at a date: the holder of a publication is its first original assignee, else applicant, else current assignee (as publication_overview), grouped through the holder table and the lineage in force on that date; co-owned publications count in shares (1/n each).
-- param: day date = null -- the date the groups are taken at; null = today
-- param: landscape_only bool = true -- count only publications in the landscape
-- param: min_publications float = 0 -- hide groups with fewer (share-weighted) publications
WITH d AS (SELECT coalesce($day, current_date) AS day),
pubs AS (
    SELECT o.pub_key, o.family_id, o.holder_as_written
    FROM publication_brief o
    WHERE (o.in_landscape OR NOT $landscape_only) AND o.holder_as_written IS NOT NULL
),
held AS (
    SELECT p.pub_key, p.family_id,
           coalesce(h.holder_group, '(unresolved: ' || h.part_as_written || ')') AS holder_group,
           h.group_id, h.group_country, h.share, h.lineage_confirmed
    FROM pubs p
    JOIN holders h ON h.name_as_written = p.holder_as_written
    CROSS JOIN d
    WHERE (h.valid_from IS NULL OR h.valid_from <= d.day) AND (h.valid_to IS NULL OR d.day < h.valid_to)
)
SELECT holder_group,
       any_value(group_id)                    AS group_id,
       any_value(group_country)               AS group_country,
       round(sum(share), 2)                   AS publications,
       count(DISTINCT family_id)              AS families,
       bool_and(coalesce(lineage_confirmed, true)) AS lineage_confirmed
FROM held
GROUP BY holder_group
HAVING sum(share) >= $min_publications
ORDER BY publications DESC, holder_group;
