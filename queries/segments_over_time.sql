-- name: segments_over_time
-- description: New families per technology segment and year of their earliest date, with how the segments were decided (families with at least one member decided by CPC rule, keyword or classifier).
-- param: from_year int = 1980 -- first year
WITH fam AS (
    SELECT s.segment, p.family_id,
           year(min(least(p.priority_date, p.filing_date, p.publication_date, p.grant_date))) AS year,
           bool_or(s.decided_by = 'cpc') AS by_cpc,
           bool_or(s.decided_by = 'keyword') AS by_keyword,
           bool_or(s.decided_by = 'classifier') AS by_classifier
    FROM publication_segments s JOIN publications p USING (pub_key)
    WHERE s.segment <> 'unclassified'
    GROUP BY s.segment, p.family_id
)
SELECT segment, year, count(*) AS families,
       count(*) FILTER (WHERE by_cpc) AS by_cpc,
       count(*) FILTER (WHERE by_keyword) AS by_keyword,
       count(*) FILTER (WHERE by_classifier) AS by_classifier
FROM fam
WHERE year IS NULL OR year >= $from_year
GROUP BY segment, year
ORDER BY year NULLS LAST, segment;
