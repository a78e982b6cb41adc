-- 0013_basic_patents: the `basic_patents` view (docs/centrality.md): families of the landscape
-- ranked by age-rescaled PageRank, per market, with whether they are in force (expiry engine,
-- at the analysis date) and their holder groups today. For another date use the query
-- basic_patents_in_force.

CREATE VIEW basic_patents AS
WITH ranked AS (
    SELECT c.family_id, c.members, c.family_date, c.pagerank_rescaled, c.pagerank,
           c.forward_citations, c.forward_citations_percentile, c.hits_authority, c.on_main_path,
           rank() OVER (ORDER BY c.pagerank_rescaled DESC) AS basic_rank
    FROM centrality c WHERE c.in_landscape AND c.pagerank_rescaled IS NOT NULL
), markets AS (
    SELECT e.family_id, e.jurisdiction AS market,
           bool_or(e.status = 'in force') AS in_force,
           max(e.expiry_date) FILTER (WHERE e.status = 'in force') AS in_force_until,
           bool_or(e.status = 'in force' AND e.expiry_is_upper_bound) AS may_have_lapsed,
           max(e.status_date) AS status_date
    FROM expiry e GROUP BY e.family_id, e.jurisdiction
), holders_now AS (
    SELECT p.family_id, list_sort(list_distinct(list(h.group_label))) AS holder_groups
    FROM publication_holder_groups h JOIN publications p USING (pub_key)
    WHERE (h.valid_from IS NULL OR h.valid_from <= current_date) AND (h.valid_to IS NULL OR current_date < h.valid_to)
    GROUP BY p.family_id
)
SELECT r.basic_rank, r.family_id, r.members, m.market, m.in_force, m.in_force_until, m.may_have_lapsed,
       m.status_date, hn.holder_groups, r.pagerank_rescaled, r.pagerank, r.forward_citations,
       r.forward_citations_percentile, r.hits_authority, r.on_main_path, r.family_date
FROM ranked r LEFT JOIN markets m USING (family_id) LEFT JOIN holders_now hn USING (family_id);
