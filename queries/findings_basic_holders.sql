-- name: findings_basic_holders
-- description: Who holds the basic families on a date and on each anniversary after it (patentscope findings, block 1). Two kinds of family set: 'central' = landscape families with at least min_forward forward citations within the top `top` ranks of age-rescaled PageRank (ties share a rank), and 'blocking: SEGMENT' = every landscape family classified in that segment (what an exporter of the segment may need a licence under). A family is in force on a day when one of its rows in expiry_results has in_force_from <= day < expiry_date, is outside its reinstated lapses, has no bad-input flag and a status other than 'unknown'; a family with an 'unknown' row and no member in force is n_status_unknown (left out) until its latest possible end. Each in-force family counts 1/k to each of the k holders valid that day, by holder_basis 'country' (the group's country; 'unknown' = not known) and 'group' (the holder group); '(no holder shown)' = no holder group. share = families / n_in_force; n_set = families in the set.
-- param: at date -- the date, e.g. 2014-07-08
-- param: min_forward int = 5 -- forward citations a family needs to be called basic (data/findings.toml)
-- param: top int = 50 -- ranks kept (ties at the last rank are all kept)
-- param: years int = 30 -- also each anniversary of `at` up to this many years later (0: the date only)
WITH ranked AS (
    SELECT family_id, rank() OVER (ORDER BY pagerank_rescaled DESC) AS rk
    FROM centrality WHERE in_landscape AND pagerank_rescaled IS NOT NULL AND forward_citations >= $min_forward
), sets AS (
    SELECT 'central' AS family_set, family_id FROM ranked WHERE rk <= $top
    UNION
    SELECT 'blocking: ' || s.segment, p.family_id
    FROM publication_segments s JOIN publications p USING (pub_key)
    WHERE p.in_landscape AND s.segment <> 'unclassified' AND p.family_id IS NOT NULL
), fam AS (  -- an integer per family of the sets: the joins and groupings below key on it
    SELECT family_id, (row_number() OVER ())::INTEGER AS f FROM (SELECT DISTINCT family_id FROM sets)
), fsets AS (SELECT s.family_set, fam.f FROM sets s JOIN fam USING (family_id)
), days AS (
    SELECT CAST($at + to_years(k::INTEGER) AS DATE) AS day FROM range(0, $years + 1) r(k)
), rows AS (
    SELECT fam.f AS family_id, e.pub_key, e.in_force_from, e.expiry_date, coalesce(e.expiry_latest, e.expiry_date) AS latest_end,
           e.status, len(coalesce(e.flags, [])) = 0 AS clean, coalesce(e.lapse_periods, []) AS lapses
    FROM expiry_results e JOIN fam USING (family_id)
), live AS (
    SELECT DISTINCT d.day, r.family_id, r.pub_key
    FROM rows r JOIN days d ON r.in_force_from <= d.day AND d.day < r.expiry_date
    WHERE r.clean AND r.status <> 'unknown' AND len(list_filter(r.lapses, lambda x: x.start <= d.day AND d.day < x."end")) = 0
), unknown AS (
    SELECT DISTINCT d.day, r.family_id FROM rows r JOIN days d ON d.day < coalesce(r.latest_end, DATE '9999-12-31')
    WHERE r.status = 'unknown' OR NOT r.clean
    EXCEPT SELECT day, family_id FROM live
), held AS (
    SELECT DISTINCT l.day, l.family_id, h.pub_key IS NULL AS no_holder, h.group_label, h.group_country
    FROM live l LEFT JOIN publication_holder_groups h
      ON h.pub_key = l.pub_key AND (h.valid_from IS NULL OR h.valid_from <= l.day) AND (h.valid_to IS NULL OR l.day < h.valid_to)
), by_basis AS (
    SELECT DISTINCT 'country' AS holder_basis, day, family_id,
           CASE WHEN no_holder THEN '(no holder shown)' ELSE coalesce(group_country, 'unknown') END AS holder FROM held
    UNION ALL
    SELECT DISTINCT 'group', day, family_id, CASE WHEN no_holder THEN '(no holder shown)' ELSE group_label END FROM held
), n_holders AS (  -- k holders of a family on a day: each gets 1/k (a grouping and a join: the window took 4x as long)
    SELECT holder_basis, day, family_id, count(*) AS k FROM by_basis GROUP BY ALL
), frac AS (
    SELECT b.holder_basis, b.day, b.family_id, b.holder, 1.0 / n.k AS frac
    FROM by_basis b JOIN n_holders n USING (holder_basis, day, family_id)
), n_live AS (
    SELECT s.family_set, l.day, count(DISTINCT l.family_id) AS n_in_force FROM live l JOIN fsets s ON s.f = l.family_id GROUP BY ALL
), n_unknown AS (
    SELECT s.family_set, u.day, count(*) AS n_status_unknown FROM unknown u JOIN fsets s ON s.f = u.family_id GROUP BY ALL
), n_set AS (SELECT family_set, count(*) AS n_set FROM sets GROUP BY ALL),
grid AS (
    SELECT n.family_set, d.day, n.n_set, coalesce(l.n_in_force, 0) AS n_in_force, coalesce(u.n_status_unknown, 0) AS n_status_unknown
    FROM n_set n CROSS JOIN days d LEFT JOIN n_live l USING (family_set, day) LEFT JOIN n_unknown u USING (family_set, day)
), shares AS (
    SELECT s.family_set, f.holder_basis, f.day, f.holder, sum(f.frac) AS families
    FROM frac f JOIN fsets s ON s.f = f.family_id GROUP BY ALL
)
SELECT g.family_set, b.holder_basis, g.day, year(g.day) AS year, sh.holder, coalesce(sh.families, 0) AS families,
       CASE WHEN g.n_in_force > 0 THEN coalesce(sh.families, 0) / g.n_in_force END AS share,
       g.n_set, g.n_in_force, g.n_status_unknown
FROM grid g CROSS JOIN (VALUES ('country'), ('group')) b(holder_basis)
LEFT JOIN shares sh ON sh.family_set = g.family_set AND sh.day = g.day AND sh.holder_basis = b.holder_basis
ORDER BY g.family_set, b.holder_basis, g.day, families DESC, sh.holder;
