-- name: findings_basic_holders
-- description: Holder countries of the candidate basic families in force on a date (patentscope findings, block 1): landscape families with at least min_forward forward citations, ranked by age-rescaled PageRank (ties share a rank) within the top `top` ranks, in force in some jurisdiction on the date; each family counts 1/k to each of the k countries of its holder groups valid on that date ('unknown' = holder country not known, '(no holder shown)' = no holder group). n_candidates = candidate families, n_in_force = of them in force, n_status_unknown = of them with an unknown status and not in force anywhere.
-- param: at date -- the date, e.g. 2014-07-08
-- param: min_forward int = 5 -- forward citations a family needs to be called basic (data/findings.toml)
-- param: top int = 50 -- ranks kept (ties at the last rank are all kept)
WITH ranked AS (
    SELECT family_id, rank() OVER (ORDER BY pagerank_rescaled DESC) AS rk
    FROM centrality WHERE in_landscape AND pagerank_rescaled IS NOT NULL AND forward_citations >= $min_forward
), cand AS (SELECT family_id FROM ranked WHERE rk <= $top),
live AS (
    SELECT DISTINCT e.family_id, e.pub_key FROM expiry_results e JOIN cand USING (family_id)
    WHERE e.in_force_from <= $at AND $at < e.expiry_date AND len(coalesce(e.flags, [])) = 0
), unknown AS (
    SELECT DISTINCT e.family_id FROM expiry_results e JOIN cand USING (family_id)
    WHERE e.status = 'unknown' AND e.family_id NOT IN (SELECT family_id FROM live)
), held AS (
    SELECT DISTINCT l.family_id,
           CASE WHEN h.pub_key IS NULL THEN '(no holder shown)' ELSE coalesce(h.group_country, 'unknown') END AS holder_country
    FROM live l LEFT JOIN publication_holder_groups h
      ON h.pub_key = l.pub_key AND (h.valid_from IS NULL OR h.valid_from <= $at) AND (h.valid_to IS NULL OR $at < h.valid_to)
), shared AS (
    SELECT family_id, holder_country, 1.0 / count(*) OVER (PARTITION BY family_id) AS frac FROM held
)
SELECT holder_country, sum(frac) AS families,
       sum(frac) / (SELECT count(DISTINCT family_id) FROM live) AS share,
       (SELECT count(*) FROM cand) AS n_candidates,
       (SELECT count(DISTINCT family_id) FROM live) AS n_in_force,
       (SELECT count(*) FROM unknown) AS n_status_unknown
FROM shared GROUP BY holder_country ORDER BY families DESC, holder_country;
