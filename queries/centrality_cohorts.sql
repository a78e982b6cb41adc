-- name: centrality_cohorts
-- description: Forward citations by filing-year cohort (the cohorts age-normalised percentiles are computed in): families, mean and maximum forward citations, share of families never cited, and how many families' 5- and 10-year windows are complete. Segment 'all' unless a segment is given (segments appear once technology segments exist).
-- param: segment text = all -- technology segment, or all
-- param: landscape_only bool = true -- only families with a member in the landscape
SELECT p.cohort_year,
       count(*)                                         AS families,
       round(avg(p.forward_citations), 2)               AS mean_forward_citations,
       max(p.forward_citations)                         AS max_forward_citations,
       round(avg((p.forward_citations = 0)::INT), 3)    AS share_never_cited,
       count(*) FILTER (WHERE c.window_5y_complete)     AS families_5y_window_complete,
       count(*) FILTER (WHERE c.window_10y_complete)    AS families_10y_window_complete,
       first(p.family_id ORDER BY p.forward_citations DESC, p.family_id) AS most_cited_family
FROM family_cohort_percentiles p
JOIN centrality c USING (family_id)
WHERE p.segment = $segment AND (c.in_landscape OR NOT $landscape_only)
GROUP BY p.cohort_year
ORDER BY p.cohort_year;
