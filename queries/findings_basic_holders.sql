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
), days AS (  -- day k = `at` + k years
    SELECT k::INTEGER AS k, CAST($at + to_years(k::INTEGER) AS DATE) AS day FROM range(0, $years + 1) r(k)
),
-- Every date below becomes i, how many of the days 0 .. years fall before it (0 .. years + 1): "date <= day k"
-- is then "i <= k" and "day k < date" is "k < i". i = k0 when day k0 (in the date's own year)
-- is on or after it, else k0 + 1; clamped to 0 .. years + 1. Each family's status and holders
-- change only at the i of its dates, so the query works on the spans between them ([s, e): the
-- days s .. e - 1), not on every day: a family is one or two spans instead of up to 31 days.
rows AS (
    SELECT fam.f, e.pub_key,
           (len(coalesce(e.flags, [])) = 0 AND e.status <> 'unknown') IS TRUE AS known,
           (e.status = 'unknown' OR len(coalesce(e.flags, [])) > 0) IS TRUE AS unknown,
           list_transform([e.in_force_from, e.expiry_date, coalesce(e.expiry_latest, e.expiry_date, DATE '9999-12-31')]
                          || flatten(list_transform(list_filter(coalesce(e.lapse_periods, []), lambda x: x.start IS NOT NULL AND x."end" IS NOT NULL),
                                                    lambda x: [x.start, x."end"])),
                          lambda x: CASE WHEN x IS NOT NULL THEN least(greatest(year(x) - year($at)
                                    + CASE WHEN CAST($at + to_years(year(x) - year($at)) AS DATE) >= x THEN 0 ELSE 1 END, 0), $years + 1) END) AS ix
    FROM expiry_results e JOIN fam USING (family_id)
), r AS (  -- in force over [lo, hi) outside the lapses [ix[2j+2], ix[2j+3]); unknown over [0, unknown_hi)
    SELECT f, pub_key, known AND ix[1] IS NOT NULL AND ix[2] IS NOT NULL AS can_live, unknown,
           ix[1] AS lo, ix[2] AS hi, ix[3] AS unknown_hi, ix[4:] AS lapse_ix
    FROM rows
), hg AS (
    SELECT h.pub_key, h.group_label, h.group_country,
           list_transform([h.valid_from, h.valid_to],
                          lambda x: CASE WHEN x IS NOT NULL THEN least(greatest(year(x) - year($at)
                                    + CASE WHEN CAST($at + to_years(year(x) - year($at)) AS DATE) >= x THEN 0 ELSE 1 END, 0), $years + 1) END) AS ix
    FROM publication_holder_groups h WHERE h.pub_key IN (SELECT pub_key FROM r WHERE can_live)
), h AS (SELECT pub_key, group_label, group_country, coalesce(ix[1], 0) AS lo, coalesce(ix[2], $years + 1) AS hi FROM hg
), bounds AS (
    SELECT f, 0 AS b FROM fam UNION SELECT f, $years + 1 FROM fam
    UNION SELECT f, unnest([lo, hi] || lapse_ix) FROM r WHERE can_live
    UNION SELECT f, unknown_hi FROM r WHERE unknown
    UNION SELECT r.f, unnest([h.lo, h.hi]) FROM r JOIN h USING (pub_key) WHERE r.can_live
), spans AS (
    SELECT f, s, e FROM (SELECT f, b AS s, lead(b) OVER (PARTITION BY f ORDER BY b) AS e FROM bounds) WHERE e IS NOT NULL
), live AS (  -- publications in force over a span (judged at its first day)
    SELECT DISTINCT g.f AS family_id, g.s, g.e, r.pub_key
    FROM spans g JOIN r ON r.f = g.f
    WHERE r.can_live AND r.lo <= g.s AND g.s < r.hi
      AND len(list_filter(range(1, len(r.lapse_ix), 2), lambda j: r.lapse_ix[j] <= g.s AND g.s < r.lapse_ix[j + 1])) = 0
), unknown AS (
    SELECT DISTINCT g.s, g.e, g.f AS family_id FROM spans g JOIN r ON r.f = g.f WHERE r.unknown AND g.s < r.unknown_hi
    EXCEPT SELECT s, e, family_id FROM live
), held AS (
    SELECT DISTINCT l.s, l.e, l.family_id, h.pub_key IS NULL AS no_holder, h.group_label, h.group_country
    FROM live l LEFT JOIN h ON h.pub_key = l.pub_key AND h.lo <= l.s AND l.s < h.hi
), by_basis AS (
    SELECT DISTINCT 'country' AS holder_basis, s, e, family_id,
           CASE WHEN no_holder THEN '(no holder shown)' ELSE coalesce(group_country, 'unknown') END AS holder FROM held
    UNION ALL
    SELECT DISTINCT 'group', s, e, family_id, CASE WHEN no_holder THEN '(no holder shown)' ELSE group_label END FROM held
), n_holders AS (  -- k holders of a family over a span: each gets 1/k (a grouping and a join: a window took 4x as long)
    SELECT holder_basis, s, family_id, count(*) AS k FROM by_basis GROUP BY ALL
), frac AS (
    SELECT b.holder_basis, b.s, b.e, b.family_id, b.holder, 1.0 / n.k AS frac
    FROM by_basis b JOIN n_holders n USING (holder_basis, s, family_id)
), span_shares AS (SELECT s.family_set, f.holder_basis, f.s, f.e, f.holder, sum(f.frac) AS families
                   FROM frac f JOIN fsets s ON s.f = f.family_id GROUP BY ALL
), shares AS (  -- the spans' sums on each day they cover (a family's spans do not overlap)
    SELECT x.family_set, x.holder_basis, d.day, x.holder, sum(x.families) AS families
    FROM span_shares x JOIN days d ON x.s <= d.k AND d.k < x.e GROUP BY ALL
), n_live AS (
    SELECT x.family_set, d.day, sum(x.n)::BIGINT AS n_in_force
    FROM (SELECT s.family_set, l.s, l.e, count(*) AS n FROM (SELECT DISTINCT family_id, s, e FROM live) l
          JOIN fsets s ON s.f = l.family_id GROUP BY ALL) x
    JOIN days d ON x.s <= d.k AND d.k < x.e GROUP BY ALL
), n_unknown AS (
    SELECT x.family_set, d.day, sum(x.n)::BIGINT AS n_status_unknown
    FROM (SELECT s.family_set, u.s, u.e, count(*) AS n FROM unknown u JOIN fsets s ON s.f = u.family_id GROUP BY ALL) x
    JOIN days d ON x.s <= d.k AND d.k < x.e GROUP BY ALL
), n_set AS (SELECT family_set, count(*) AS n_set FROM sets GROUP BY ALL),
grid AS (
    SELECT n.family_set, d.day, n.n_set, coalesce(l.n_in_force, 0) AS n_in_force, coalesce(u.n_status_unknown, 0) AS n_status_unknown
    FROM n_set n CROSS JOIN days d LEFT JOIN n_live l USING (family_set, day) LEFT JOIN n_unknown u USING (family_set, day)
)
SELECT g.family_set, b.holder_basis, g.day, year(g.day) AS year, sh.holder, coalesce(sh.families, 0) AS families,
       CASE WHEN g.n_in_force > 0 THEN coalesce(sh.families, 0) / g.n_in_force END AS share,
       g.n_set, g.n_in_force, g.n_status_unknown
FROM grid g CROSS JOIN (VALUES ('country'), ('group')) b(holder_basis)
LEFT JOIN shares sh ON sh.family_set = g.family_set AND sh.day = g.day AND sh.holder_basis = b.holder_basis
ORDER BY g.family_set, b.holder_basis, g.day, families DESC, sh.holder;
