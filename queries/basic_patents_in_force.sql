-- name: basic_patents_in_force
-- description: Candidate basic patents: the top families by age-rescaled PageRank that are in force in a market on a date (granted, not yet expired, not in a lapse period, no bad-input flag), with their holder groups at that date.
-- param: market text = US -- jurisdiction: an office (US, JP, CN, EP) or a national part of an EP bundle (DE)
-- param: at date -- the date, e.g. 2014-07-08
-- param: top int = 20 -- how many families
WITH in_force AS (
    SELECT e.family_id, max(e.expiry_date) AS in_force_until, bool_or(e.expiry_is_upper_bound) AS may_have_lapsed
    FROM expiry_results e
    WHERE e.jurisdiction = $market AND e.in_force_from <= $at AND $at < e.expiry_date
      AND len(coalesce(e.flags, [])) = 0
      AND len(list_filter(coalesce(e.lapse_periods, []), lambda p: p."start" <= $at AND $at < p."end")) = 0
    GROUP BY e.family_id
), holders_then AS (
    SELECT p.family_id, list_sort(list_distinct(list(h.group_label))) AS holder_groups,
           list_sort(list_distinct(list(h.group_name))) AS holder_names_then
    FROM publication_holder_groups h JOIN publications p USING (pub_key)
    WHERE (h.valid_from IS NULL OR h.valid_from <= $at) AND (h.valid_to IS NULL OR $at < h.valid_to)
    GROUP BY p.family_id
)
SELECT row_number() OVER (ORDER BY c.pagerank_rescaled DESC, c.family_id) AS rank,
       c.family_id, c.members, $market AS market, f.in_force_until, f.may_have_lapsed,
       h.holder_groups, h.holder_names_then, c.pagerank_rescaled, c.pagerank,
       c.forward_citations, c.forward_citations_percentile, c.on_main_path
FROM centrality c JOIN in_force f USING (family_id) LEFT JOIN holders_then h USING (family_id)
WHERE c.in_landscape AND c.pagerank_rescaled IS NOT NULL
ORDER BY rank LIMIT $top;
